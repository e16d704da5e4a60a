//! Configuration loading and validation shared by every filter.
//!
//! A filter's configuration arrives as JSON bytes: a WasmPlugin's `pluginConfig` (compact JSON in a
//! `google.protobuf.StringValue`) or a hand-written Envoy `StringValue`. No configuration at all
//! (an empty `pluginConfig`) means "use the defaults", which reproduce the Lua snippet the filter
//! replaces.
//!
//! Every error names the field, the constraint and the bad value, e.g.
//! `token_bucket.fill_interval must be >= 50ms, got "10ms"`.

use crate::json;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use core::fmt;
use serde::de::DeserializeOwned;

/// A configuration the filter refuses. `on_configure` logs it and returns `false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// `<field> <requirement>, got <value>`; the value is shown in Rust debug form, so strings
    /// are quoted and escaped.
    pub fn invalid(field: &str, requirement: &str, got: impl Got) -> Self {
        Self(format!("{field} {requirement}, got {}", got.render()))
    }

    /// An error whose message does not fit the `<field> <requirement>, got <value>` shape.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message without a prefix, as the tests assert it.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// This error without the value it quotes, when it is about one of `secret_fields` (or
    /// anything inside one): a key given where a list was expected (`allowed_keys:
    /// my-secret-key`) is named by its type only, never echoed into Envoy's log.
    pub fn without_secrets(self, secret_fields: &[&str]) -> Self {
        let about_secret = secret_fields.iter().any(|field| {
            self.0
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with([':', '[', '.', ' ']))
        });
        match (about_secret, self.0.find('"'), self.0.rfind('"')) {
            (true, Some(open), Some(close)) if close > open => Self(format!(
                "{}(not shown: this field holds credentials){}",
                self.0.get(..open).unwrap_or_default(),
                self.0.get(close + 1..).unwrap_or_default()
            )),
            _ => self,
        }
    }
}

/// A bad value as an error message shows it: strings quoted with JSON escapes, numbers plain.
pub trait Got {
    fn render(&self) -> String;
}

/// How much of a bad string an error message quotes: a bounded prefix, never a whole megabyte.
pub const QUOTED_PREFIX: usize = 64;

/// `"text"`, or its first [`QUOTED_PREFIX`] characters and its length.
fn quote_bounded(text: &str) -> String {
    match text.char_indices().nth(QUOTED_PREFIX) {
        None => json::quote(text),
        Some((end, _)) => format!(
            "{}… ({} bytes)",
            json::quote(text.get(..end).unwrap_or_default()),
            text.len()
        ),
    }
}

impl Got for &str {
    fn render(&self) -> String {
        quote_bounded(self)
    }
}

impl Got for &String {
    fn render(&self) -> String {
        quote_bounded(self)
    }
}

macro_rules! got_number {
    ($($t:ty)*) => {$(
        impl Got for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
got_number!(u32 u64 usize);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for ConfigError {}

/// What `Filter::configure` returns on a refusal (the kit logs it and refuses the plugin), so
/// that a filter's configure is `Ok(Self { settings: config::parse(config)? })`.
impl From<ConfigError> for String {
    fn from(error: ConfigError) -> Self {
        error.0
    }
}

/// Parses a filter configuration. `None`, empty or all-blank bytes give `T::default()`.
///
/// Errors carry the path of the offending field (`token_bucket.max_tokens: invalid type: ...`);
/// unknown fields are refused by `#[serde(deny_unknown_fields)]` on `T`.
pub fn from_json<T: DeserializeOwned + Default>(bytes: Option<&[u8]>) -> Result<T, ConfigError> {
    let Some(bytes) = bytes.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) else {
        return Ok(T::default());
    };
    json::from_slice(bytes).map_err(|e| ConfigError(e.to_string()))
}

/// The JSON Schema (draft 2020-12) of the configuration type `T`, derived from the same types
/// and serde attributes [`from_json`] reads with: the shape (fields, types, enums, unknown fields
/// refused, defaults), not the rules only validation knows (a template's commands, a pattern's
/// syntax). What a schema accepts, validation may still refuse; never the reverse.
#[cfg(feature = "schema")]
pub fn schema<T: schemars::JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(T).to_value()
}

/// RFC 9110 `tchar`: the bytes allowed in a header name.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The request pseudo-headers a filter may read (`:path`, `:method`, ...).
pub const REQUEST_PSEUDO_HEADERS: [&str; 4] = [":authority", ":method", ":path", ":scheme"];

/// The longest header name a filter may write or read.
pub const MAX_HEADER_NAME: usize = 256;
/// The longest header value a configuration may hold: 8 KiB, what common upstreams accept for a
/// single header (Envoy's own limit is 60 KiB for the whole map, `max_request_headers_kb`).
pub const MAX_HEADER_VALUE: usize = 8 * 1024;
/// The longest body a configured local reply may have.
pub const MAX_BODY: usize = 64 * 1024;
/// The most entries a configured list of headers or operations may hold.
pub const MAX_LIST: usize = 64;

/// Headers no filter may set, add or remove: they frame the message or belong to one hop
/// (RFC 9110 §7.6.1), and Envoy or the upstream would mis-frame or refuse the message.
pub const FRAMING_HEADERS: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
    "host",
];

/// Refuses a list longer than [`MAX_LIST`].
pub fn bounded_list(field: &str, len: usize) -> Result<(), ConfigError> {
    if len > MAX_LIST {
        return Err(ConfigError::invalid(
            field,
            &format!("must hold at most {MAX_LIST} entries"),
            len,
        ));
    }
    Ok(())
}

/// Validates a header name a filter writes (set, add or remove): a token of at most
/// [`MAX_HEADER_NAME`] bytes, not one of [`FRAMING_HEADERS`]. Lowercased.
pub fn writable_header_name(field: &str, name: &str) -> Result<String, ConfigError> {
    let lower = header_name(field, name)?;
    if FRAMING_HEADERS.contains(&lower.as_str()) {
        return Err(ConfigError::invalid(
            field,
            "must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host)",
            name,
        ));
    }
    Ok(lower)
}

/// Validates a header name, and lowercases it the way Envoy's header maps do.
pub fn header_name(field: &str, name: &str) -> Result<String, ConfigError> {
    if name.len() > MAX_HEADER_NAME {
        return Err(ConfigError::new(format!(
            "{field} must be at most {MAX_HEADER_NAME} bytes, got {} bytes",
            name.len()
        )));
    }
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(ConfigError::invalid(
            field,
            "must be a non-empty HTTP header name (RFC 9110 token characters)",
            name,
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Validates a request header name a filter reads: a regular header or one of
/// [`REQUEST_PSEUDO_HEADERS`]. Lowercased.
pub fn readable_request_header(field: &str, name: &str) -> Result<String, ConfigError> {
    let lower = name.to_ascii_lowercase();
    if name.starts_with(':') {
        return if REQUEST_PSEUDO_HEADERS.contains(&lower.as_str()) {
            Ok(lower)
        } else {
            Err(ConfigError::invalid(
                field,
                "must be a header name or one of :authority, :method, :path, :scheme",
                name,
            ))
        };
    }
    header_name(field, name)
}

/// Validates a value a filter writes into a header or a body: at most `max` bytes, no NUL, CR
/// or LF (Envoy would reject the map). The message never quotes the value, which may be a
/// credential: it gives the length and where the bad byte is.
pub fn header_value(field: &str, value: &str) -> Result<(), ConfigError> {
    bounded_value(field, value, MAX_HEADER_VALUE)
}

/// [`header_value`] with a bound of its own (a local reply's body: [`MAX_BODY`]).
pub fn bounded_value(field: &str, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.len() > max {
        return Err(ConfigError::new(format!(
            "{field} must be at most {max} bytes, got {} bytes",
            value.len()
        )));
    }
    if let Some((at, byte)) = value
        .bytes()
        .enumerate()
        .find(|(_, b)| matches!(b, b'\0' | b'\r' | b'\n'))
    {
        let what = match byte {
            b'\0' => "NUL",
            b'\r' => "CR",
            _ => "LF",
        };
        return Err(ConfigError::new(format!(
            "{field} must not contain NUL, CR or LF, got a {}-byte value with {what} at byte {at} (values are not quoted: they may be credentials)",
            value.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
