//! `local-reply` configuration: JSON in, validated rules out.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use moonshift_shared::condition::{self, Condition, ConditionConfig};
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::section::Section;
use moonshift_shared::template::{Phase, Template};
use serde::Deserialize;

/// A reply header as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeaderConfig {
    pub name: String,
    pub value: String,
}

/// A rule as written: when it holds, the reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<ConditionConfig>"))]
    pub when: Section<Vec<ConditionConfig>>,
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<HeaderConfig>,
    #[serde(default)]
    pub body: String,
}

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Tried in order; the first that holds answers. None by default: every request passes.
    pub rules: Vec<RuleConfig>,
}

/// A validated rule: lowercase header names, parsed templates.
#[derive(Debug, Clone)]
pub struct Rule {
    pub when: Vec<Condition>,
    pub status: u32,
    pub headers: Vec<(String, Template)>,
    pub body: Template,
}

/// The redirect statuses, which need a `location` header to mean anything.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

impl RuleConfig {
    fn validate(&self, field: &str) -> Result<Rule, ConfigError> {
        let when_at = format!("{field}.when");
        let when = self.when.read(&when_at)?;
        // What Envoy's Lua `respond` accepts, so that the reference can send every reply.
        if !(200..=599).contains(&self.status) {
            return Err(ConfigError::invalid(
                &format!("{field}.status"),
                "must be an HTTP status in 200..599",
                u32::from(self.status),
            ));
        }
        config::bounded_list(&format!("{field}.headers"), self.headers.len())?;
        let headers = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let at = format!("{field}.headers[{i}]");
                let name = config::writable_header_name(&format!("{at}.name"), &h.name)?;
                config::header_value(&format!("{at}.value"), &h.value)?;
                let value = Template::parse(&format!("{at}.value"), &h.value, Phase::Request)?;
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        if REDIRECTS.contains(&self.status) && !headers.iter().any(|(n, _)| n == "location") {
            return Err(ConfigError::new(format!(
                "{field}.headers must hold a location header: status {} is a redirect",
                self.status
            )));
        }
        // HTTP forbids a body on 204 and 304; Envoy would drop or reject it.
        if matches!(self.status, 204 | 304) && !self.body.is_empty() {
            return Err(ConfigError::new(format!(
                "{field}.body must be empty: a {} reply has no body",
                self.status
            )));
        }
        if self.body.len() > config::MAX_BODY {
            return Err(ConfigError::new(format!(
                "{field}.body must be at most {} bytes, got {} bytes",
                config::MAX_BODY,
                self.body.len()
            )));
        }
        Ok(Rule {
            when: condition::validate_all(&when_at, &when, Phase::Request)?,
            status: u32::from(self.status),
            headers,
            body: Template::parse(&format!("{field}.body"), &self.body, Phase::Request)?,
        })
    }
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Vec<Rule>, ConfigError> {
    let config = config::from_json::<Config>(bytes)?;
    config::bounded_list("rules", config.rules.len())?;
    let rules = config
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| rule.validate(&format!("rules[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let items = rules
        .iter()
        .map(|rule| condition::automaton_items(&rule.when))
        .sum();
    condition::bound_pattern_work("rules", items)?;
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_table() {
        let big_body = format!(
            r#"{{"rules":[{{"status":200,"body":"{}"}}]}}"#,
            "b".repeat(70_000)
        );
        let cases: Vec<(&str, &str, Result<&str, &str>)> = vec![
            ("no configuration", "", Ok("")),
            ("empty object", "{}", Ok("")),
            (
                "a redirect and a health answer",
                r#"{"rules":[{"when":[{"path":{"prefix":"/old/"}}],"status":301,"headers":[{"name":"Location","value":"https://%REQ(:authority)%/new"}]},{"status":200,"body":"ok\n"}]}"#,
                Ok("301 location; 200"),
            ),
            (
                "a redirect without a location",
                r#"{"rules":[{"status":302}]}"#,
                Err("rules[0].headers must hold a location header: status 302 is a redirect"),
            ),
            (
                "a 204 with a body",
                r#"{"rules":[{"status":204,"body":"x"}]}"#,
                Err("rules[0].body must be empty: a 204 reply has no body"),
            ),
            (
                "a status Lua cannot send",
                r#"{"rules":[{"status":101}]}"#,
                Err("rules[0].status must be an HTTP status in 200..599, got 101"),
            ),
            (
                "a framing header",
                r#"{"rules":[{"status":200,"headers":[{"name":"content-length","value":"1"}]}]}"#,
                Err(r#"rules[0].headers[0].name must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "content-length""#),
            ),
            ("a 70 KB body", big_body.as_str(), Err("rules[0].body must be at most 65536 bytes, got 70000 bytes")),
            (
                "a condition the request phase cannot see",
                r#"{"rules":[{"status":200,"when":[{"status":[500]}]}]}"#,
                Err("rules[0].when[0].status reads the response, which this phase cannot see"),
            ),
            (
                "a template the request phase cannot render",
                r#"{"rules":[{"status":200,"body":"%RESPONSE_CODE%"}]}"#,
                Err("rules[0].body %RESPONSE_CODE% reads the response, which the request phase has not got"),
            ),
            (
                "an unknown field",
                r#"{"rules":[{"status":200,"code":1}]}"#,
                Err("rules[0].code: unknown field `code`, expected one of `when`, `status`, `headers`, `body`"),
            ),
        ];
        for (name, json, want) in cases {
            let got = parse(Some(json.as_bytes()))
                .map(|rules| {
                    rules
                        .iter()
                        .map(|r| {
                            let names: Vec<&str> =
                                r.headers.iter().map(|(n, _)| n.as_str()).collect();
                            format!("{} {}", r.status, names.join(" "))
                                .trim_end()
                                .to_string()
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .map_err(|e| e.to_string());
            assert_eq!(
                got,
                want.map(str::to_string).map_err(str::to_string),
                "case: {name}"
            );
        }
    }
}
