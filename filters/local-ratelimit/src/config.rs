//! `local-ratelimit` configuration: the native `LocalRateLimit` vocabulary, validated.
//!
//! Field names and shapes follow `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`
//! so a native config's JSON carries over; the differences (defaults of `filter_enabled` /
//! `filter_enforced`, `body`, `scope`, `client_key`) are listed in the crate README.

use crate::bucket::TokenBucket;
use crate::duration::parse_millis;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use moonshift_shared::config::{self, ConfigError};
use serde::Deserialize;

/// Envoy's floor for `fill_interval`.
pub const MIN_FILL_INTERVAL_MS: u64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct TokenBucketConfig {
    pub max_tokens: u32,
    pub tokens_per_fill: u32,
    pub fill_interval: String,
}

impl Default for TokenBucketConfig {
    /// The Istio guide's EnvoyFilter: 100 tokens, 100 per 60 s.
    fn default() -> Self {
        Self {
            max_tokens: 100,
            tokens_per_fill: 100,
            fill_interval: "60s".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpStatus {
    pub code: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    pub key: String,
    pub value: String,
}

/// Envoy's `HeaderValueOption`; only `header` is supported (headers are appended).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeaderValueOption {
    pub header: HeaderValue,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
pub enum XRateLimitHeaders {
    #[default]
    #[serde(rename = "OFF")]
    Off,
    #[serde(rename = "DRAFT_VERSION_03")]
    DraftVersion03,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
pub enum Denominator {
    #[default]
    #[serde(rename = "HUNDRED")]
    Hundred,
    #[serde(rename = "TEN_THOUSAND")]
    TenThousand,
    #[serde(rename = "MILLION")]
    Million,
}

impl Denominator {
    pub fn value(self) -> u32 {
        match self {
            Self::Hundred => 100,
            Self::TenThousand => 10_000,
            Self::Million => 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FractionalPercent {
    pub numerator: u32,
    #[serde(default)]
    pub denominator: Denominator,
}

/// Envoy's `RuntimeFractionalPercent`. A Wasm filter cannot read Envoy's runtime, so
/// `runtime_key` is accepted (native configs carry over) and ignored with a warning.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RuntimeFractionalPercent {
    pub default_value: FractionalPercent,
    #[serde(default)]
    pub runtime_key: Option<String>,
}

impl Default for RuntimeFractionalPercent {
    /// 100%: unlike native (0%), an unset fraction leaves the filter on.
    fn default() -> Self {
        Self {
            default_value: FractionalPercent {
                numerator: 100,
                denominator: Denominator::Hundred,
            },
            runtime_key: None,
        }
    }
}

/// Which bucket a request draws from.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One bucket for the whole Envoy process, in proxy-wasm shared data (native behaviour).
    #[default]
    Process,
    /// One bucket per worker thread (what the Lua, with its per-worker globals, does).
    Worker,
}

/// Per-client buckets: where the client's identity comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientKeyConfig {
    /// The value of a request header (all values joined with `,`, as Lua `get` gives them).
    RequestHeader(String),
    /// The downstream address without its port.
    RemoteAddress {},
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub stat_prefix: String,
    pub token_bucket: TokenBucketConfig,
    pub status: Option<HttpStatus>,
    pub body: String,
    pub response_headers_to_add: Vec<HeaderValueOption>,
    pub request_headers_to_add_when_not_enforced: Vec<HeaderValueOption>,
    pub enable_x_ratelimit_headers: XRateLimitHeaders,
    pub filter_enabled: RuntimeFractionalPercent,
    pub filter_enforced: RuntimeFractionalPercent,
    pub scope: Scope,
    pub client_key: Option<ClientKeyConfig>,
    pub max_client_keys: u32,
}

impl Default for Config {
    /// The Istio guide's local rate limit EnvoyFilter: 100 tokens, 100 per 60 s, enabled and
    /// enforced for 100% of requests.
    fn default() -> Self {
        Self {
            stat_prefix: "http_local_rate_limiter".into(),
            token_bucket: TokenBucketConfig::default(),
            status: None,
            body: "local_rate_limited".into(),
            response_headers_to_add: Vec::new(),
            request_headers_to_add_when_not_enforced: Vec::new(),
            enable_x_ratelimit_headers: XRateLimitHeaders::Off,
            filter_enabled: RuntimeFractionalPercent::default(),
            filter_enforced: RuntimeFractionalPercent::default(),
            scope: Scope::Process,
            client_key: None,
            max_client_keys: 10_000,
        }
    }
}

/// A validated fraction: `numerator` out of `denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fraction {
    pub numerator: u32,
    pub denominator: u32,
}

impl Fraction {
    pub fn always(&self) -> bool {
        self.numerator >= self.denominator
    }

    pub fn never(&self) -> bool {
        self.numerator == 0
    }
}

/// Where a per-client bucket's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// Lowercase request header name.
    RequestHeader(String),
    RemoteAddress,
}

/// The validated configuration the filter runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stat_prefix: String,
    pub bucket: TokenBucket,
    pub max_tokens: u32,
    pub status: u32,
    pub body: String,
    pub response_headers_to_add: Vec<(String, String)>,
    pub request_headers_to_add_when_not_enforced: Vec<(String, String)>,
    pub x_ratelimit_headers: bool,
    pub filter_enabled: Fraction,
    pub filter_enforced: Fraction,
    pub scope: Scope,
    pub client_key: Option<ClientKey>,
    pub max_client_keys: u32,
    /// Runtime keys that were given and are ignored, for a warning at configure time.
    pub ignored_runtime_keys: Vec<String>,
}

fn headers(
    field: &str,
    options: &[HeaderValueOption],
) -> Result<Vec<(String, String)>, ConfigError> {
    config::bounded_list(field, options.len())?;
    options
        .iter()
        .enumerate()
        .map(|(i, option)| {
            let key = config::writable_header_name(
                &format!("{field}[{i}].header.key"),
                &option.header.key,
            )?;
            config::header_value(&format!("{field}[{i}].header.value"), &option.header.value)?;
            Ok((key, option.header.value.clone()))
        })
        .collect()
}

fn fraction(field: &str, value: &RuntimeFractionalPercent) -> Result<Fraction, ConfigError> {
    let denominator = value.default_value.denominator.value();
    let numerator = value.default_value.numerator;
    if numerator > denominator {
        return Err(ConfigError::invalid(
            &format!("{field}.default_value.numerator"),
            &format!("must be <= the denominator ({denominator})"),
            numerator,
        ));
    }
    Ok(Fraction {
        numerator,
        denominator,
    })
}

/// The longest `stat_prefix`.
pub const MAX_STAT_PREFIX: usize = 128;
/// The most client buckets one plugin may keep (memory: see the README).
pub const MAX_CLIENT_KEYS: u32 = 1_000_000;

impl Config {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        if self.stat_prefix.is_empty()
            || self.stat_prefix.len() > MAX_STAT_PREFIX
            || !self
                .stat_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(ConfigError::invalid(
                "stat_prefix",
                "must be 1 to 128 bytes of ASCII letters, digits, '_' and '.'",
                &self.stat_prefix,
            ));
        }
        let tb = &self.token_bucket;
        if tb.max_tokens == 0 {
            return Err(ConfigError::invalid(
                "token_bucket.max_tokens",
                "must be > 0",
                tb.max_tokens,
            ));
        }
        if tb.tokens_per_fill == 0 {
            return Err(ConfigError::invalid(
                "token_bucket.tokens_per_fill",
                "must be > 0",
                tb.tokens_per_fill,
            ));
        }
        let Some(fill_interval_ms) = parse_millis(&tb.fill_interval) else {
            return Err(ConfigError::invalid(
                "token_bucket.fill_interval",
                "must be a duration like \"60s\", \"1.5s\" or \"50ms\"",
                &tb.fill_interval,
            ));
        };
        if fill_interval_ms < MIN_FILL_INTERVAL_MS {
            return Err(ConfigError::invalid(
                "token_bucket.fill_interval",
                "must be >= 50ms",
                &tb.fill_interval,
            ));
        }
        let status = self.status.map_or(429, |s| s.code);
        if !(400..=599).contains(&status) {
            return Err(ConfigError::invalid(
                "status.code",
                "must be in 400..=599",
                status,
            ));
        }
        config::bounded_value("body", &self.body, config::MAX_BODY)?;
        let client_key = match &self.client_key {
            None => None,
            Some(ClientKeyConfig::RemoteAddress {}) => Some(ClientKey::RemoteAddress),
            Some(ClientKeyConfig::RequestHeader(name)) => Some(ClientKey::RequestHeader(
                config::readable_request_header("client_key.request_header", name)?,
            )),
        };
        if client_key.is_some() && !(1..=MAX_CLIENT_KEYS).contains(&self.max_client_keys) {
            return Err(ConfigError::invalid(
                "max_client_keys",
                &format!("must be in 1..={MAX_CLIENT_KEYS}"),
                self.max_client_keys,
            ));
        }
        let ignored_runtime_keys = [&self.filter_enabled, &self.filter_enforced]
            .iter()
            .filter_map(|f| f.runtime_key.clone())
            .collect();
        Ok(Settings {
            stat_prefix: self.stat_prefix.clone(),
            bucket: TokenBucket::new(tb.max_tokens, tb.tokens_per_fill, fill_interval_ms),
            max_tokens: tb.max_tokens,
            status,
            body: self.body.clone(),
            response_headers_to_add: headers(
                "response_headers_to_add",
                &self.response_headers_to_add,
            )?,
            request_headers_to_add_when_not_enforced: headers(
                "request_headers_to_add_when_not_enforced",
                &self.request_headers_to_add_when_not_enforced,
            )?,
            x_ratelimit_headers: self.enable_x_ratelimit_headers
                == XRateLimitHeaders::DraftVersion03,
            filter_enabled: fraction("filter_enabled", &self.filter_enabled)?,
            filter_enforced: fraction("filter_enforced", &self.filter_enforced)?,
            scope: self.scope,
            client_key,
            max_client_keys: self.max_client_keys,
            ignored_runtime_keys,
        })
    }
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Settings, ConfigError> {
    config::from_json::<Config>(bytes)?.validate()
}

#[cfg(test)]
mod tests;
