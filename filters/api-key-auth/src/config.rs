//! `api-key-auth` configuration: the seed's `api_key_header` and `allowed_keys`, and what users
//! of key auth expect beyond them. No field's error ever quotes a key.

use crate::keys::{self, Allowed};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use moonshift_shared::condition::{self, Match, MatchConfig};
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::section::Section;
use serde::Deserialize;

/// A key given with a consumer name, in plain text (`key`) or as its SHA-256 (`sha256`, hex).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub key: Option<String>,
    pub sha256: Option<String>,
    pub consumer: Option<String>,
}

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The request header holding the key (the seed's field).
    pub api_key_header: String,
    /// A query parameter to read the key from when the header is absent or empty.
    pub query_param: Option<String>,
    /// Keys in plain text (the seed's field).
    pub allowed_keys: Vec<String>,
    /// Keys as SHA-256 hex digests, so that secrets need not sit in `pluginConfig`.
    pub allowed_key_hashes: Vec<String>,
    /// Keys with consumer names.
    pub keys: Vec<KeyConfig>,
    /// Remove the key (header, and query parameter) before the request goes upstream.
    pub strip_key: bool,
    /// A request header set to the matched key's consumer (any value the client sent removed).
    pub consumer_header: Option<String>,
    /// Paths let through without a key (health checks): path tests, as in conditions.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<MatchConfig>"))]
    pub exempt_paths: Section<Vec<MatchConfig>>,
    /// The value of the response header the seed's plugin adds (`x-powered-by: custom-plugin`);
    /// empty: none.
    pub powered_by: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_key_header: "x-api-key".into(),
            query_param: None,
            allowed_keys: Vec::new(),
            allowed_key_hashes: Vec::new(),
            keys: Vec::new(),
            strip_key: false,
            consumer_header: None,
            exempt_paths: Section::default(),
            powered_by: "custom-plugin".into(),
        }
    }
}

/// The most keys one plugin holds: each is compared on every request.
pub const MAX_KEYS: usize = 1024;
/// The longest key accepted in configuration.
pub const MAX_KEY: usize = 1024;

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub header: String,
    pub query_param: Option<String>,
    pub allowed: Vec<Allowed>,
    pub strip_key: bool,
    pub consumer_header: Option<String>,
    pub exempt: Vec<Match>,
    pub powered_by: Option<String>,
}

/// A key in plain text: not empty, bounded, no NUL, CR or LF; never quoted.
fn plain_key(field: &str, key: &str) -> Result<(), ConfigError> {
    if key.is_empty() {
        return Err(ConfigError::new(format!("{field} must not be empty")));
    }
    config::bounded_value(field, key, MAX_KEY)
}

fn hash(field: &str, hex: &str) -> Result<keys::Sha, ConfigError> {
    keys::parse_hex(hex).ok_or_else(|| {
        ConfigError::new(format!(
            "{field} must be a SHA-256 digest in 64 hex digits, got {} characters",
            hex.chars().count()
        ))
    })
}

impl Config {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let header = config::writable_header_name("api_key_header", &self.api_key_header)?;
        // The filter removes what the client sent as `x-validated` before reading the key:
        // read from there, no key would ever be found; named after it, a consumer would mark
        // every request validated.
        for (field, name) in [
            ("api_key_header", Some(&header)),
            ("consumer_header", self.consumer_header.as_ref()),
        ] {
            if name.is_some_and(|n| n.eq_ignore_ascii_case(crate::VALIDATED)) {
                return Err(ConfigError::new(format!(
                    "{field} must not be {}: the filter sets that header itself on admitted requests",
                    crate::VALIDATED
                )));
            }
        }
        let count = self.allowed_keys.len() + self.allowed_key_hashes.len() + self.keys.len();
        if count == 0 {
            return Err(ConfigError::new(
                "allowed_keys, allowed_key_hashes or keys must hold at least one key: an auth filter must not start open",
            ));
        }
        if count > MAX_KEYS {
            return Err(ConfigError::invalid(
                "allowed_keys, allowed_key_hashes and keys",
                &format!("must hold at most {MAX_KEYS} keys together"),
                count,
            ));
        }
        let mut allowed = Vec::with_capacity(count);
        for (i, key) in self.allowed_keys.iter().enumerate() {
            let field = format!("allowed_keys[{i}]");
            plain_key(&field, key)?;
            allowed.push(Allowed {
                digest: keys::sha256(key.as_bytes()),
                consumer: None,
            });
        }
        for (i, hex) in self.allowed_key_hashes.iter().enumerate() {
            let digest = hash(&format!("allowed_key_hashes[{i}]"), hex)?;
            allowed.push(Allowed {
                digest,
                consumer: None,
            });
        }
        for (i, entry) in self.keys.iter().enumerate() {
            let field = format!("keys[{i}]");
            let digest = match (&entry.key, &entry.sha256) {
                (Some(key), None) => {
                    plain_key(&format!("{field}.key"), key)?;
                    keys::sha256(key.as_bytes())
                }
                (None, Some(hex)) => hash(&format!("{field}.sha256"), hex)?,
                _ => {
                    return Err(ConfigError::new(format!(
                        "{field} must hold exactly one of key, sha256"
                    )))
                }
            };
            if let Some(consumer) = &entry.consumer {
                config::header_value(&format!("{field}.consumer"), consumer)?;
            }
            allowed.push(Allowed {
                digest,
                consumer: entry.consumer.clone(),
            });
        }
        let query_param = match &self.query_param {
            Some(name)
                if name.is_empty()
                    || name
                        .bytes()
                        .any(|b| b"&=?#% ".contains(&b) || b.is_ascii_control()) =>
            {
                return Err(ConfigError::invalid(
                    "query_param",
                    "must be a query parameter name (no &, =, ?, #, %, space or control bytes)",
                    name.as_str(),
                ))
            }
            other => other.clone(),
        };
        let consumer_header = match &self.consumer_header {
            Some(name) => Some(config::writable_header_name("consumer_header", name)?),
            None => None,
        };
        if consumer_header.is_some() && consumer_header.as_deref() == Some(header.as_str()) {
            return Err(ConfigError::new(
                "consumer_header must differ from api_key_header",
            ));
        }
        let exempt_paths = self.exempt_paths.read("exempt_paths")?;
        config::bounded_list("exempt_paths", exempt_paths.len())?;
        let exempt = exempt_paths
            .iter()
            .enumerate()
            .map(|(i, m)| m.validate_path(&format!("exempt_paths[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        // Exemptions are tested before authentication, on every request.
        condition::bound_pattern_work(
            "exempt_paths",
            exempt.iter().map(Match::automaton_items).sum(),
        )?;
        config::header_value("powered_by", &self.powered_by)?;
        Ok(Settings {
            header,
            query_param,
            allowed,
            strip_key: self.strip_key,
            consumer_header,
            exempt,
            powered_by: Some(self.powered_by.clone()).filter(|v| !v.is_empty()),
        })
    }
}

/// Parses and validates configuration bytes (`None`: the defaults, which hold no key and are
/// refused).
pub fn parse(bytes: Option<&[u8]>) -> Result<Settings, ConfigError> {
    config::from_json::<Config>(bytes)
        .map_err(|e| e.without_secrets(&SECRET_FIELDS))?
        .validate()
}

/// The fields that hold keys: a reading error about them never quotes what they hold.
const SECRET_FIELDS: [&str; 3] = ["allowed_keys", "allowed_key_hashes", "keys"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_table() {
        let hash = "a".repeat(64);
        let cases: Vec<(&str, String, Result<usize, &str>)> = vec![
            ("the seed's config", r#"{"api_key_header":"x-api-key","allowed_keys":["key-123","key-456"]}"#.into(), Ok(2)),
            ("no configuration", String::new(), Err("allowed_keys, allowed_key_hashes or keys must hold at least one key: an auth filter must not start open")),
            ("no keys", r#"{"allowed_keys":[]}"#.into(), Err("allowed_keys, allowed_key_hashes or keys must hold at least one key: an auth filter must not start open")),
            ("every kind of key", format!(r#"{{"allowed_keys":["k"],"allowed_key_hashes":["{hash}"],"keys":[{{"key":"k2","consumer":"team-a"}},{{"sha256":"{hash}"}}]}}"#), Ok(4)),
            ("an empty key", r#"{"allowed_keys":["k",""]}"#.into(), Err("allowed_keys[1] must not be empty")),
            ("a key with a newline is not quoted", r#"{"allowed_keys":["SECRET-KEY\n"]}"#.into(), Err("allowed_keys[0] must not contain NUL, CR or LF, got a 11-byte value with LF at byte 10 (values are not quoted: they may be credentials)")),
            ("a short hash", r#"{"allowed_key_hashes":["abc"]}"#.into(), Err("allowed_key_hashes[0] must be a SHA-256 digest in 64 hex digits, got 3 characters")),
            ("key and sha256", format!(r#"{{"keys":[{{"key":"SECRET","sha256":"{hash}"}}]}}"#), Err("keys[0] must hold exactly one of key, sha256")),
            ("a bad header", r#"{"api_key_header":"x key","allowed_keys":["k"]}"#.into(), Err(r#"api_key_header must be a non-empty HTTP header name (RFC 9110 token characters), got "x key""#)),
            ("a bad query parameter", r#"{"query_param":"a&b","allowed_keys":["k"]}"#.into(), Err(r#"query_param must be a query parameter name (no &, =, ?, #, %, space or control bytes), got "a&b""#)),
            ("the consumer header is the key header", r#"{"consumer_header":"X-Api-Key","allowed_keys":["k"]}"#.into(), Err("consumer_header must differ from api_key_header")),
            ("a bad exempt path", r#"{"exempt_paths":[{"exact":"/a","prefix":"/b"}],"allowed_keys":["k"]}"#.into(), Err("exempt_paths[0] must hold exactly one of exact, prefix, suffix, contains, lua_pattern, regex, got exact, prefix")),
            ("a key where a list goes is not echoed", r#"{"allowed_keys":"SECRET-KEY"}"#.into(), Err("allowed_keys: invalid type: string (not shown: this field holds credentials), expected a sequence")),
            ("a hash where a list goes is not echoed", r#"{"allowed_key_hashes":"SECRET"}"#.into(), Err("allowed_key_hashes: invalid type: string (not shown: this field holds credentials), expected a sequence")),
            ("a key of the wrong type in keys is not echoed", r#"{"keys":[{"key":["SECRET"]}]}"#.into(), Err("keys[0].key: invalid type: an array, expected a string")),
            ("a consumer entry where a list goes", r#"{"keys":"SECRET"}"#.into(), Err("keys: invalid type: string (not shown: this field holds credentials), expected a sequence")),
            ("the key read from x-validated", r#"{"api_key_header":"X-Validated","allowed_keys":["k"]}"#.into(), Err("api_key_header must not be x-validated: the filter sets that header itself on admitted requests")),
            ("the consumer named in x-validated", r#"{"consumer_header":"x-validated","allowed_keys":["k"]}"#.into(), Err("consumer_header must not be x-validated: the filter sets that header itself on admitted requests")),
            ("an empty exemption", r#"{"exempt_paths":[{"prefix":""}],"allowed_keys":["k"]}"#.into(), Err("exempt_paths[0].prefix must not be empty: an empty prefix matches every value")),
            ("an empty exact exemption", r#"{"exempt_paths":[{"exact":""}],"allowed_keys":["k"]}"#.into(), Err("exempt_paths[0].exact must not be empty: a path starts with /")),
            ("an unknown field", r#"{"allowed_keys":["k"],"keys_file":"/x"}"#.into(), Err("keys_file: unknown field `keys_file`, expected one of `api_key_header`, `query_param`, `allowed_keys`, `allowed_key_hashes`, `keys`, `strip_key`, `consumer_header`, `exempt_paths`, `powered_by`")),
        ];
        for (name, json, want) in &cases {
            let got = parse(Some(json.as_bytes()))
                .map(|s| s.allowed.len())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "case: {name}");
            if let Err(message) = got {
                assert!(
                    !message.contains("SECRET"),
                    "{name}: a key is quoted: {message}"
                );
            }
        }
    }
}
