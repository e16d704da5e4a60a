//! `path-logger` configuration: JSON in, validated [`Settings`] out.

use alloc::string::String;
use alloc::vec::Vec;
use moonshift_shared::condition::{self, Condition, ConditionConfig};
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::template::{Phase, Template};
use serde::Deserialize;

/// The log level, named like Envoy's (`logWarn` is `warn`, `logErr` is `error`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    Critical,
}

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub level: Level,
    /// Literal text with `%REQ(header)%` placeholders.
    pub message: String,
    /// Conditions on the request (headers, path, method), all of which must hold for the line
    /// to be logged; empty: always (the seed).
    pub when: Vec<ConditionConfig>,
    /// A line logged on the response too; absent: none (the seed logs the request only).
    pub response: Option<ResponseConfig>,
}

/// The response's line: a response-phase template, with `%RESPONSE_DURATION%`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    #[serde(default)]
    pub level: Level,
    pub message: String,
    /// Conditions on the response (status, response headers); empty: always.
    #[serde(default)]
    pub when: Vec<ConditionConfig>,
}

impl Default for Config {
    /// The Istio guide's Lua: `request_handle:logInfo("Request path: " .. path)`.
    fn default() -> Self {
        Self {
            level: Level::Info,
            message: "Request path: %REQ(:path)%".into(),
            when: Vec::new(),
            response: None,
        }
    }
}

/// One validated line: its level, its template and the conditions under which it is logged.
#[derive(Debug, Clone)]
pub struct Line {
    pub level: Level,
    pub template: Template,
    pub when: Vec<Condition>,
}

/// The validated configuration the filter runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: an empty `message`, no request line (a response line alone).
    pub request: Option<Line>,
    /// The response's line.
    pub response: Option<Line>,
}

impl Config {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        // An empty message logs no request line: allowed beside a response line only.
        if self.message.is_empty() && self.response.is_none() {
            return Err(ConfigError::invalid(
                "message",
                "must not be empty (it may be empty beside a `response` line: then only that line is logged)",
                &self.message,
            ));
        }
        let response = match &self.response {
            None => None,
            Some(r) if r.message.is_empty() => {
                return Err(ConfigError::invalid(
                    "response.message",
                    "must not be empty",
                    &r.message,
                ))
            }
            Some(r) => Some(Line {
                level: r.level,
                template: Template::parse_response_log("response.message", &r.message)?,
                when: condition::validate_all("response.when", &r.when, Phase::Response)?,
            }),
        };
        let when = condition::validate_all("when", &self.when, Phase::Request)?;
        let items = condition::automaton_items(&when)
            + response
                .as_ref()
                .map_or(0, |line| condition::automaton_items(&line.when));
        condition::bound_pattern_work("when", items)?;
        let request = match self.message.is_empty() {
            true => None,
            false => Some(Line {
                level: self.level,
                template: Template::parse("message", &self.message, Phase::Request)?,
                when,
            }),
        };
        Ok(Settings { request, response })
    }
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Settings, ConfigError> {
    config::from_json::<Config>(bytes)?.validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use moonshift_shared::condition::HeaderMatchConfig;

    fn line(level: Level, message: &str) -> Result<Line, ConfigError> {
        Ok(Line {
            level,
            template: Template::parse("message", message, Phase::Request)?,
            when: Vec::new(),
        })
    }

    fn settings(level: Level, message: &str) -> Result<Settings, ConfigError> {
        Ok(Settings {
            request: Some(line(level, message)?),
            response: None,
        })
    }

    #[test]
    fn config_table() -> Result<(), ConfigError> {
        let default = settings(Level::Info, "Request path: %REQ(:path)%")?;
        let with_response = |level, message| -> Result<Settings, ConfigError> {
            Ok(Settings {
                response: Some(Line {
                    level,
                    template: Template::parse_response_log("response.message", message)?,
                    when: Vec::new(),
                }),
                ..default.clone()
            })
        };
        let cases: [(&str, &str, Result<Settings, &str>); 20] = [
            ("no configuration", "", Ok(default.clone())),
            ("empty object", "{}", Ok(default.clone())),
            (
                "every field",
                r#"{"level":"warn","message":"%REQ(:method)% %REQ(:authority)%%REQ(:path)% ua=%REQ(user-agent)%"}"#,
                Ok(settings(Level::Warn, "%REQ(:method)% %REQ(:authority)%%REQ(:path)% ua=%REQ(user-agent)%")?),
            ),
            ("critical", r#"{"level":"critical"}"#, Ok(settings(Level::Critical, "Request path: %REQ(:path)%")?)),
            (
                "unknown level",
                r#"{"level":"warning"}"#,
                Err("level: unknown variant `warning`, expected one of `trace`, `debug`, `info`, `warn`, `error`, `critical`"),
            ),
            ("empty message", r#"{"message":""}"#, Err(r#"message must not be empty (it may be empty beside a `response` line: then only that line is logged), got """#)),
            (
                "an empty message beside a response line: that line alone",
                r#"{"message":"","response":{"level":"error","message":"%RESPONSE_CODE%"}}"#,
                Ok(Settings {
                    request: None,
                    ..with_response(Level::Error, "%RESPONSE_CODE%")?
                }),
            ),
            (
                "bad placeholder",
                r#"{"message":"%REQ(x y)%"}"#,
                Err(r#"message %REQ(x y)% must be a non-empty HTTP header name (RFC 9110 token characters), got "x y""#),
            ),
            (
                "a command the request phase cannot render",
                r#"{"message":"status %RESPONSE_CODE%"}"#,
                Err("message %RESPONSE_CODE% reads the response, which the request phase has not got"),
            ),
            (
                "unknown field",
                r#"{"template":"x"}"#,
                Err("template: unknown field `template`, expected one of `level`, `message`, `when`, `response`"),
            ),
            (
                "a response line",
                r#"{"response":{"message":"%RESPONSE_CODE% %RESP(content-type)% %RESPONSE_DURATION% ms"}}"#,
                Ok(with_response(Level::Info, "%RESPONSE_CODE% %RESP(content-type)% %RESPONSE_DURATION% ms")?),
            ),
            (
                "a response line at its own level",
                r#"{"response":{"level":"warn","message":"%RESPONSE_CODE%"}}"#,
                Ok(with_response(Level::Warn, "%RESPONSE_CODE%")?),
            ),
            (
                "a line under conditions",
                r#"{"level":"error","message":"dropped","when":[{"header":{"name":"x-check","present":true}},{"not":{"method":["OPTIONS"]}}]}"#,
                Ok(Settings {
                    request: Some(Line {
                        when: condition::validate_all(
                            "when",
                            &[
                                ConditionConfig::Header(HeaderMatchConfig {
                                    name: "x-check".into(),
                                    present: Some(true),
                                    exact: None,
                                    prefix: None,
                                    suffix: None,
                                    contains: None,
                                    lua_pattern: None,
                                    regex: None,
                                }),
                                ConditionConfig::Not(Box::new(ConditionConfig::Method(vec!["OPTIONS".into()]))),
                            ],
                            Phase::Request,
                        )?,
                        ..line(Level::Error, "dropped")?
                    }),
                    response: None,
                }),
            ),
            (
                "the request line cannot test the status",
                r#"{"when":[{"status":[500]}]}"#,
                Err("when[0].status reads the response, which this phase cannot see"),
            ),
            (
                "a response line under a status condition",
                r#"{"response":{"message":"%RESPONSE_CODE%","when":[{"status":[503]}]}}"#,
                Ok(Settings {
                    response: Some(Line {
                        when: condition::validate_all("response.when", &[ConditionConfig::Status(vec![503])], Phase::Response)?,
                        ..with_response(Level::Info, "%RESPONSE_CODE%")?.response.ok_or_else(|| ConfigError::new("no line"))?
                    }),
                    ..default.clone()
                }),
            ),
            (
                "the response line cannot test the request's path",
                r#"{"response":{"message":"%RESPONSE_CODE%","when":[{"path":{"prefix":"/a"}}]}}"#,
                Err("response.when[0].path reads the request, which a module entered only for the response cannot see: use the bundle module (moonshift-bundle: this filter by its root_id, or in a pipeline), which is entered for both phases"),
            ),
            ("a response line without a message", r#"{"response":{}}"#, Err("response: missing field `message`")),
            ("an empty response line", r#"{"response":{"message":""}}"#, Err(r#"response.message must not be empty, got """#)),
            (
                "the response line cannot read the request",
                r#"{"response":{"message":"%REQ(:path)%"}}"#,
                Err("response.message %REQ(:path)% reads the request, which a response-phase Lua script cannot read"),
            ),
            (
                "the duration is the response's",
                r#"{"message":"%RESPONSE_DURATION%"}"#,
                Err("message %RESPONSE_DURATION% is rendered in a response log message only (path-logger's response.message)"),
            ),
        ];
        for (name, json, want) in cases {
            // Conditions have no equality; their debug form says what they test.
            let got = parse(Some(json.as_bytes())).map_err(|e| e.to_string());
            let want = want.map_err(str::to_string);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "case: {name}");
        }
        Ok(())
    }
}
