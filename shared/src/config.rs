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
use serde::de::DeserializeOwned;
use std::fmt;

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
}

/// A bad value as an error message shows it: strings quoted with JSON escapes, numbers plain.
pub trait Got {
    fn render(&self) -> String;
}

impl Got for &str {
    fn render(&self) -> String {
        json::quote(self)
    }
}

impl Got for &String {
    fn render(&self) -> String {
        json::quote(self)
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

impl std::error::Error for ConfigError {}

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

/// RFC 9110 `tchar`: the bytes allowed in a header name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The request pseudo-headers a filter may read (`:path`, `:method`, ...).
pub const REQUEST_PSEUDO_HEADERS: [&str; 4] = [":authority", ":method", ":path", ":scheme"];

/// Validates a header name a filter writes, and lowercases it the way Envoy's header maps do.
pub fn header_name(field: &str, name: &str) -> Result<String, ConfigError> {
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

/// Validates a header value a filter writes: no NUL, CR or LF (Envoy would reject the map).
pub fn header_value(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.bytes().any(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
        return Err(ConfigError::invalid(
            field,
            "must not contain NUL, CR or LF",
            value,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Probe {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        count: u32,
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn from_json_table() {
        let cases: [(&str, Option<&[u8]>, Result<Probe, &str>); 8] = [
            ("no configuration", None, Ok(Probe::default())),
            ("empty bytes", Some(b""), Ok(Probe::default())),
            ("blank bytes", Some(b" \n"), Ok(Probe::default())),
            ("empty object", Some(b"{}"), Ok(Probe::default())),
            (
                "nested value",
                Some(br#"{"inner":{"count":3},"name":"a"}"#),
                Ok(Probe {
                    name: "a".into(),
                    inner: Inner { count: 3 },
                }),
            ),
            (
                "unknown field names the path",
                Some(br#"{"inner":{"cuont":3}}"#),
                Err("inner.cuont: unknown field `cuont`, expected `count`"),
            ),
            (
                "wrong type names the path",
                Some(br#"{"inner":{"count":"3"}}"#),
                Err("inner.count: invalid type: string \"3\", expected u32"),
            ),
            (
                "trailing garbage",
                Some(br#"{} x"#),
                Err("configuration: trailing characters at line 1 column 4"),
            ),
        ];
        for (name, bytes, want) in cases {
            let got = from_json::<Probe>(bytes).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "case: {name}");
        }
    }

    #[test]
    fn header_name_table() {
        let cases = [
            ("x-request-timestamp", Ok("x-request-timestamp")),
            ("X-Lua-Processed", Ok("x-lua-processed")),
            (
                "",
                Err(
                    r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got """#,
                ),
            ),
            (
                "x y",
                Err(
                    r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "x y""#,
                ),
            ),
            (
                ":path",
                Err(
                    r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got ":path""#,
                ),
            ),
            (
                "é",
                Err(
                    r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "é""#,
                ),
            ),
        ];
        for (input, want) in cases {
            let got = header_name("f", input).map_err(|e| e.to_string());
            assert_eq!(
                got,
                want.map(str::to_string).map_err(str::to_string),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn readable_request_header_table() {
        let cases = [
            (":path", Ok(":path")),
            (":Authority", Ok(":authority")),
            ("User-Agent", Ok("user-agent")),
            (
                ":status",
                Err(
                    r#"f must be a header name or one of :authority, :method, :path, :scheme, got ":status""#,
                ),
            ),
            (
                "a(b",
                Err(
                    r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "a(b""#,
                ),
            ),
        ];
        for (input, want) in cases {
            let got = readable_request_header("f", input).map_err(|e| e.to_string());
            assert_eq!(
                got,
                want.map(str::to_string).map_err(str::to_string),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn header_value_table() {
        let cases = [
            ("true", Ok(())),
            ("", Ok(())),
            ("a b\tc", Ok(())),
            (
                "a\r\nb",
                Err(r#"v must not contain NUL, CR or LF, got "a\r\nb""#),
            ),
            (
                "a\0",
                Err(r#"v must not contain NUL, CR or LF, got "a\u0000""#),
            ),
        ];
        for (input, want) in cases {
            let got = header_value("v", input).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "input {input:?}");
        }
    }
}
