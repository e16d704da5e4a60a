//! `timestamp-header` configuration: JSON in, validated [`Settings`] out.

use crate::strftime::{Format, FormatError, SUPPORTED};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::json;
use serde::Deserialize;

/// What to do when the request already carries the header.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    /// Add another value, as Lua `headers():add()` does (the seed's behaviour).
    #[default]
    Append,
    /// Leave exactly one value, ours, as Lua `headers():replace()` does.
    Replace,
    /// Leave the client's value alone; add ours only when the header is absent.
    Keep,
}

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The request header to write.
    pub header: String,
    /// A strftime format, rendered in UTC like Lua's `os.date("!" .. format)`.
    pub format: String,
    pub on_existing: OnExisting,
}

impl Default for Config {
    /// The Istio guide's Lua: `headers():add("x-request-timestamp", os.date("!%Y-%m-%dT%H:%M:%SZ"))`.
    fn default() -> Self {
        Self {
            header: "x-request-timestamp".into(),
            format: "%Y-%m-%dT%H:%M:%SZ".into(),
            on_existing: OnExisting::Append,
        }
    }
}

/// The validated configuration the filter runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Lowercase header name.
    pub header: String,
    pub format: Format,
    pub on_existing: OnExisting,
}

/// The longest `format`: its rendering stays far below a header's bound.
pub const MAX_FORMAT: usize = 256;

impl Config {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let header = config::writable_header_name("header", &self.header)?;
        if self.format.is_empty() || self.format.len() > MAX_FORMAT {
            return Err(ConfigError::invalid(
                "format",
                &format!("must be 1 to {MAX_FORMAT} bytes"),
                &self.format,
            ));
        }
        if !self.format.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return Err(ConfigError::invalid(
                "format",
                "must hold only printable ASCII characters",
                &self.format,
            ));
        }
        let format = Format::parse(&self.format).map_err(|error| match error {
            FormatError::Unsupported(conversion) => ConfigError::new(format!(
                "format must use only the conversions {SUPPORTED}, got {} in {}",
                json::quote(&conversion),
                json::quote(&self.format)
            )),
            FormatError::TrailingPercent => {
                ConfigError::invalid("format", "must not end with a lone \"%\"", &self.format)
            }
        })?;
        Ok(Settings {
            header,
            format,
            on_existing: self.on_existing,
        })
    }
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Settings, ConfigError> {
    config::from_json::<Config>(bytes)?.validate()
}

/// The request headers a configuration writes with the clock, each with its format: a
/// comparison in a real Envoy, whose clock moves, accepts the format rendered at any second the
/// request was in flight (the bundle's `clock_headers`, for the tools). None for a refused one.
pub fn clock_headers(bytes: Option<&[u8]>) -> Vec<(String, Format)> {
    parse(bytes).map_or_else(|_| Vec::new(), |s| vec![(s.header, s.format)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(
        header: &str,
        format: &str,
        on_existing: OnExisting,
    ) -> Result<Settings, FormatError> {
        Ok(Settings {
            header: header.into(),
            format: Format::parse(format)?,
            on_existing,
        })
    }

    #[test]
    fn config_table() -> Result<(), FormatError> {
        let default = settings(
            "x-request-timestamp",
            "%Y-%m-%dT%H:%M:%SZ",
            OnExisting::Append,
        )?;
        let huge_format = format!(r#"{{"format":"{}"}}"#, "%Y".repeat(20_000));
        let cases: [(&str, &str, Result<Settings, String>); 14] = [
            ("no configuration", "", Ok(default.clone())),
            ("empty object", "{}", Ok(default.clone())),
            (
                "every field",
                r#"{"header":"X-Time","format":"%H%%","on_existing":"keep"}"#,
                Ok(settings("x-time", "%H%%", OnExisting::Keep)?),
            ),
            (
                "replace",
                r#"{"on_existing":"replace"}"#,
                Ok(settings("x-request-timestamp", "%Y-%m-%dT%H:%M:%SZ", OnExisting::Replace)?),
            ),
            (
                "unknown on_existing",
                r#"{"on_existing":"overwrite"}"#,
                Err("on_existing: unknown variant `overwrite`, expected one of `append`, `replace`, `keep`".into()),
            ),
            (
                "unknown field",
                r#"{"headr":"x"}"#,
                Err("headr: unknown field `headr`, expected one of `header`, `format`, `on_existing`".into()),
            ),
            (
                "bad header name",
                r#"{"header":"x time"}"#,
                Err(r#"header must be a non-empty HTTP header name (RFC 9110 token characters), got "x time""#.into()),
            ),
            (
                "pseudo header",
                r#"{"header":":path"}"#,
                Err(r#"header must be a non-empty HTTP header name (RFC 9110 token characters), got ":path""#.into()),
            ),
            ("empty format", r#"{"format":""}"#, Err(r#"format must be 1 to 256 bytes, got """#.into())),
            (
                "issue 12: %Y 20,000 times",
                &huge_format,
                Err(format!(r#"format must be 1 to 256 bytes, got "{}"… (40000 bytes)"#, "%Y".repeat(32))),
            ),
            (
                "issue 12: a framing header",
                r#"{"header":"transfer-encoding"}"#,
                Err(r#"header must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "transfer-encoding""#.into()),
            ),
            (
                "unsupported conversion",
                r#"{"format":"%Y %s"}"#,
                Err(format!(r#"format must use only the conversions {SUPPORTED}, got "%s" in "%Y %s""#)),
            ),
            (
                "lone percent",
                r#"{"format":"%Y%"}"#,
                Err(r#"format must not end with a lone "%", got "%Y%""#.into()),
            ),
            (
                "control character",
                r#"{"format":"%Y\n"}"#,
                Err(r#"format must hold only printable ASCII characters, got "%Y\n""#.into()),
            ),
        ];
        for (name, json, want) in cases {
            let got = parse(Some(json.as_bytes())).map_err(|e| e.to_string());
            assert_eq!(got, want, "case: {name}");
        }
        Ok(())
    }
}
