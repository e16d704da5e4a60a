//! `response-decorator` configuration: JSON in, validated operations out.

use alloc::vec::Vec;
use moonshift_shared::condition::Sight;
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::operations::{self, Operation, OperationConfig};
use moonshift_shared::section::Section;
use moonshift_shared::template::Phase;
use serde::Deserialize;

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Applied in order to every response, local replies included.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<OperationConfig>"))]
    pub operations: Section<Vec<OperationConfig>>,
}

impl Default for Config {
    /// The Istio guide's Lua: `response_handle:headers():add("x-lua-processed", "true")`.
    fn default() -> Self {
        Self {
            operations: Section::from_text(
                r#"[{"action": "add", "name": "x-lua-processed", "value": "true"}]"#,
            ),
        }
    }
}

/// Parses and validates configuration bytes (`None`: the defaults) for response-decorator's own
/// module, which is entered only for the response.
pub fn parse(bytes: Option<&[u8]>) -> Result<Vec<Operation>, ConfigError> {
    parse_in(bytes, false, true)
}

/// [`parse`]; `sees_request`: the module is entered for the request too (the bundle), so the
/// filter can keep the request's path and method for conditions on them; `sees_body`: it
/// exports the response body callback, so `replace_body` can be served (its own module).
pub fn parse_in(
    bytes: Option<&[u8]>,
    sees_request: bool,
    sees_body: bool,
) -> Result<Vec<Operation>, ConfigError> {
    let config = config::from_json::<Config>(bytes)?;
    let sight = Sight {
        phase: Phase::Response,
        kept_request_line: sees_request,
        replaces_body: sees_body,
    };
    operations::validate_in(&config.operations.read("operations")?, sight)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each configuration gives: each operation's action, name and value template, or the
    /// error.
    #[test]
    fn config_table() {
        let too_many = format!(
            r#"{{"operations":[{}]}}"#,
            vec![r#"{"action":"remove","name":"x"}"#; 65].join(",")
        );
        let huge_value = format!(
            r#"{{"operations":[{{"action":"add","name":"x","value":"{}"}}]}}"#,
            "v".repeat(1 << 20)
        );
        let cases: Vec<(&str, &str, Result<&str, &str>)> = vec![
            ("no configuration", "", Ok("Add x-lua-processed true")),
            ("empty object", "{}", Ok("Add x-lua-processed true")),
            ("no operations", r#"{"operations":[]}"#, Ok("")),
            (
                "every action, in order",
                r#"{"operations":[{"action":"remove","name":"Server"},{"action":"set","name":"x-a","value":"1"},{"action":"add","name":"x-a","value":""},{"action":"set_if_absent","name":"Strict-Transport-Security","value":"max-age=31536000"},{"action":"remove_prefix","name":"x-envoy-"}]}"#,
                Ok("Remove server ; Set x-a 1; Add x-a ; SetIfAbsent strict-transport-security max-age=31536000; RemovePrefix x-envoy- "),
            ),
            (
                "templates and conditions on the response",
                r#"{"operations":[{"action":"set","name":"x-status","value":"%RESPONSE_CODE% from %RESP(server)%","when":[{"status":[500,503]}]}]}"#,
                Ok("Set x-status <template>"),
            ),
            (
                "a template reading the request",
                r#"{"operations":[{"action":"set","name":"x","value":"%REQ(:path)%"}]}"#,
                Err("operations[0].value %REQ(:path)% reads the request, which a response-phase Lua script cannot read"),
            ),
            (
                "a new status, as replace(\":status\", \"200\")",
                r#"{"operations":[{"action":"set","name":":status","value":"200","when":[{"status":[404]}]}]}"#,
                Ok("Set :status 200"),
            ),
            (
                "a status that is not one",
                r#"{"operations":[{"action":"set","name":":status","value":"20"}]}"#,
                Err(r#"operations[0].value must be a status from 100 to 599, written as three digits, when it sets :status, got "20""#),
            ),
            (
                "a status from a template",
                r#"{"operations":[{"action":"set","name":":status","value":"%RESP(x-status)%"}]}"#,
                Err(r#"operations[0].value must be a status from 100 to 599, written as three digits, when it sets :status, got "%RESP(x-status)%""#),
            ),
            (
                "a status added, not set",
                r#"{"operations":[{"action":"add","name":":status","value":"200"}]}"#,
                Err(r#"operations[0].name may only be written with action "set" (no "rewrite"), in the response phase, got ":status""#),
            ),
            (
                "unknown action",
                r#"{"operations":[{"action":"append","name":"x"}]}"#,
                Err("operations[0].action: unknown variant `append`, expected one of `add`, `set`, `set_if_absent`, `remove`, `remove_prefix`, `remove_cookie`, `replace_body`"),
            ),
            (
                "missing name",
                r#"{"operations":[{"action":"add","value":"x"}]}"#,
                Err("operations[0]: missing field `name`"),
            ),
            (
                "a body replaced, as setBytes",
                r#"{"operations":[{"action":"replace_body","value":"{\"status\":%RESPONSE_CODE%}","when":[{"status":[404]}]}]}"#,
                Ok("ReplaceBody  <template>"),
            ),
            (
                "a body replacement with a name",
                r#"{"operations":[{"action":"replace_body","name":"content-type","value":"x"}]}"#,
                Err(r#"operations[0].name must be absent when action is "replace_body": it writes the body (content-length follows it; set content-type with its own operation), got "content-type""#),
            ),
            (
                "a body replacement without a value",
                r#"{"operations":[{"action":"replace_body"}]}"#,
                Err(r#"operations[0].value is required when action is "add", "set", "set_if_absent" or "replace_body""#),
            ),
            (
                "missing value",
                r#"{"operations":[{"action":"remove","name":"a"},{"action":"set","name":"x"}]}"#,
                Err(r#"operations[1].value is required when action is "add", "set", "set_if_absent" or "replace_body""#),
            ),
            (
                "a cookie of the request, in the response",
                r#"{"operations":[{"action":"remove_cookie","name":"_pomerium"}]}"#,
                Err(r#"operations[0].name names a cookie of the request's `cookie` header: remove_cookie works in the request phase only, got "_pomerium""#),
            ),
            (
                "value on remove",
                r#"{"operations":[{"action":"remove","name":"x","value":"1"}]}"#,
                Err(r#"operations[0].value must be absent when action is "remove", "remove_prefix" or "remove_cookie", got "1""#),
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
                Err("operations[0].append: unknown field `append`, expected one of `action`, `name`, `value`, `when`, `rewrite`, `missing`"),
            ),
            ("too many", too_many.as_str(), Err("operations must hold at most 64 entries, got 65")),
            (
                "a condition on the request's path, in the module entered only for the response",
                r#"{"operations":[{"action":"set","name":"cache-control","value":"no-store","when":[{"path":{"prefix":"/api/"}}]}]}"#,
                Err("operations[0].when[0].path reads the request, which a module entered only for the response cannot see: use the bundle module (moonshift-bundle: this filter by its root_id, or in a pipeline), which is entered for both phases"),
            ),
        ];
        assert!(cases
            .iter()
            .all(|(_, _, want)| !want.as_ref().is_err_and(|e| e.contains("SECRET"))));
        for (name, json, want) in cases {
            let got = parse(Some(json.as_bytes()))
                .map(|ops| {
                    ops.iter()
                        .map(|op| {
                            let value = op.value.literal().unwrap_or("<template>");
                            format!("{:?} {} {value}", op.action, op.name)
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

    /// Where the module is entered for the request too (the bundle), conditions on the
    /// request's path and method are accepted, and the filter keeps the request line for them.
    #[test]
    fn path_and_method_conditions_where_the_module_sees_the_request() -> Result<(), ConfigError> {
        let json = br#"{"operations":[{"action":"set","name":"cache-control","value":"no-store","when":[{"path":{"lua_pattern":"^/api/"}},{"method":["GET","HEAD"]}]}]}"#;
        let ops = parse_in(Some(json), true, false)?;
        assert!(operations::read_request_line(&ops));
        assert!(parse_in(Some(json), false, true).is_err());
        let defaults = parse_in(None, true, false)?;
        assert!(!operations::read_request_line(&defaults));
        Ok(())
    }
}
