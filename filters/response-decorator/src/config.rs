//! `response-decorator` configuration: JSON in, validated [`Operation`]s out.

use moonshift_shared::config::{self, ConfigError};
use serde::Deserialize;

/// What an operation does to the response headers, named after the Lua call it reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Lua `headers():add(name, value)`: append another value.
    Add,
    /// Lua `headers():replace(name, value)`: leave exactly this one value.
    Set,
    /// Lua `headers():remove(name)`: remove every value.
    Remove,
}

/// One operation as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    pub action: Action,
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Applied in order to every response, local replies included.
    pub operations: Vec<OperationConfig>,
}

impl Default for Config {
    /// The Istio guide's Lua: `response_handle:headers():add("x-lua-processed", "true")`.
    fn default() -> Self {
        Self {
            operations: vec![OperationConfig {
                action: Action::Add,
                name: "x-lua-processed".into(),
                value: Some("true".into()),
            }],
        }
    }
}

/// A validated operation: lowercase name; `value` is empty for [`Action::Remove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub action: Action,
    pub name: String,
    pub value: String,
}

/// How many operations one filter may hold: each costs a host call per response.
pub const MAX_OPERATIONS: usize = 64;

impl Config {
    pub fn validate(&self) -> Result<Vec<Operation>, ConfigError> {
        if self.operations.len() > MAX_OPERATIONS {
            return Err(ConfigError::invalid(
                "operations",
                &format!("must hold at most {MAX_OPERATIONS} entries"),
                self.operations.len(),
            ));
        }
        self.operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let field = |name: &str| format!("operations[{i}].{name}");
                let name = config::writable_header_name(&field("name"), &op.name)?;
                let value = match (op.action, &op.value) {
                    (Action::Remove, None) => String::new(),
                    (Action::Remove, Some(value)) => {
                        return Err(ConfigError::invalid(
                            &field("value"),
                            "must be absent when action is \"remove\"",
                            value,
                        ))
                    }
                    (_, None) => {
                        return Err(ConfigError::new(format!(
                            "{} is required when action is \"add\" or \"set\"",
                            field("value")
                        )))
                    }
                    (_, Some(value)) => {
                        config::header_value(&field("value"), value)?;
                        value.clone()
                    }
                };
                Ok(Operation {
                    action: op.action,
                    name,
                    value,
                })
            })
            .collect()
    }
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Vec<Operation>, ConfigError> {
    config::from_json::<Config>(bytes)?.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(action: Action, name: &str, value: &str) -> Operation {
        Operation {
            action,
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn config_table() {
        let default = vec![op(Action::Add, "x-lua-processed", "true")];
        let too_many = format!(
            r#"{{"operations":[{}]}}"#,
            vec![r#"{"action":"remove","name":"x"}"#; 65].join(",")
        );
        let huge_value = format!(
            r#"{{"operations":[{{"action":"add","name":"x","value":"{}"}}]}}"#,
            "v".repeat(1 << 20)
        );
        let cases: Vec<(&str, &str, Result<Vec<Operation>, &str>)> = vec![
            ("no configuration", "", Ok(default.clone())),
            ("empty object", "{}", Ok(default)),
            ("no operations", r#"{"operations":[]}"#, Ok(vec![])),
            (
                "every action, in order",
                r#"{"operations":[{"action":"remove","name":"Server"},{"action":"set","name":"x-a","value":"1"},{"action":"add","name":"x-a","value":""}]}"#,
                Ok(vec![op(Action::Remove, "server", ""), op(Action::Set, "x-a", "1"), op(Action::Add, "x-a", "")]),
            ),
            (
                "unknown action",
                r#"{"operations":[{"action":"append","name":"x"}]}"#,
                Err("operations[0].action: unknown variant `append`, expected one of `add`, `set`, `remove`"),
            ),
            (
                "missing name",
                r#"{"operations":[{"action":"add","value":"x"}]}"#,
                Err("operations[0]: missing field `name`"),
            ),
            (
                "missing value",
                r#"{"operations":[{"action":"remove","name":"a"},{"action":"set","name":"x"}]}"#,
                Err(r#"operations[1].value is required when action is "add" or "set""#),
            ),
            (
                "value on remove",
                r#"{"operations":[{"action":"remove","name":"x","value":"1"}]}"#,
                Err(r#"operations[0].value must be absent when action is "remove", got "1""#),
            ),
            (
                "bad name",
                r#"{"operations":[{"action":"add","name":"x:y","value":"1"}]}"#,
                Err(r#"operations[0].name must be a non-empty HTTP header name (RFC 9110 token characters), got "x:y""#),
            ),
            (
                "bad value",
                r#"{"operations":[{"action":"add","name":"x","value":"a\r\nb: c"}]}"#,
                Err("operations[0].value must not contain NUL, CR or LF, got a 7-byte value with CR at byte 1 (values are not quoted: they may be credentials)"),
            ),
            (
                "issue 12: a secret's value is never echoed",
                r#"{"operations":[{"action":"set","name":"authorization","value":"SECRET-TOKEN-123\n"}]}"#,
                Err("operations[0].value must not contain NUL, CR or LF, got a 17-byte value with LF at byte 16 (values are not quoted: they may be credentials)"),
            ),
            (
                "issue 12: framing headers cannot be set",
                r#"{"operations":[{"action":"set","name":"content-length","value":"abc"}]}"#,
                Err(r#"operations[0].name must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "content-length""#),
            ),
            (
                "issue 12: a 1 MB value",
                huge_value.as_str(),
                Err("operations[0].value must be at most 8192 bytes, got 1048576 bytes"),
            ),
            (
                "unknown field",
                r#"{"operations":[{"action":"add","name":"x","value":"1","append":true}]}"#,
                Err("operations[0].append: unknown field `append`, expected one of `action`, `name`, `value`"),
            ),
            ("too many", too_many.as_str(), Err("operations must hold at most 64 entries, got 65")),
        ];
        assert!(cases
            .iter()
            .all(|(_, _, want)| !want.as_ref().is_err_and(|e| e.contains("SECRET"))));
        for (name, json, want) in cases {
            let got = parse(Some(json.as_bytes())).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "case: {name}");
        }
    }
}
