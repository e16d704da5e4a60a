//! `request-decorator` configuration: JSON in, validated operations out.

use alloc::vec::Vec;
use moonshift_shared::config::{self, ConfigError};
use moonshift_shared::operations::{self, Operation, OperationConfig};
use moonshift_shared::section::Section;
use moonshift_shared::template::Phase;
use serde::Deserialize;

/// The configuration as written in `pluginConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Applied in order to every request. None by default: the filter does nothing until told.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<OperationConfig>"))]
    pub operations: Section<Vec<OperationConfig>>,
}

/// Parses and validates configuration bytes (`None`: the defaults).
pub fn parse(bytes: Option<&[u8]>) -> Result<Vec<Operation>, ConfigError> {
    let config = config::from_json::<Config>(bytes)?;
    operations::validate(&config.operations.read("operations")?, Phase::Request)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each configuration gives: the operations' actions and names, or the error.
    #[test]
    fn config_table() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("no configuration", "", Ok("")),
            ("empty object", "{}", Ok("")),
            (
                "every action",
                r#"{"operations":[{"action":"remove_prefix","name":"X-Internal-"},{"action":"set","name":"x-a","value":"%REQ(:path)%"},{"action":"add","name":"x-a","value":""},{"action":"set_if_absent","name":"x-b","value":"1","when":[{"path":{"prefix":"/api/"}}]},{"action":"remove","name":"x-c"}]}"#,
                Ok("RemovePrefix x-internal- Set x-a Add x-a SetIfAbsent x-b Remove x-c"),
            ),
            (
                "a template reading the response",
                r#"{"operations":[{"action":"set","name":"x","value":"%RESPONSE_CODE%"}]}"#,
                Err("operations[0].value %RESPONSE_CODE% reads the response, which the request phase has not got"),
            ),
            (
                "a condition on the status",
                r#"{"operations":[{"action":"set","name":"x","value":"1","when":[{"status":[200]}]}]}"#,
                Err("operations[0].when[0].status reads the response, which this phase cannot see"),
            ),
            (
                "a prefix that would strip framing headers",
                r#"{"operations":[{"action":"remove_prefix","name":"con"}]}"#,
                Err(r#"operations[0].name must not be a prefix of a framing or hop-by-hop header (it would remove them), got "con""#),
            ),
            (
                "a prefix of one or two bytes",
                r#"{"operations":[{"action":"remove_prefix","name":"x"}]}"#,
                Err(r#"operations[0].name must be at least 3 bytes: a shorter prefix removes headers Envoy and upstreams rely on (x-request-id, x-forwarded-*), got "x""#),
            ),
            (
                "Lua patterns holding more states than a configuration may",
                &format!(r#"{{"operations":[{}]}}"#, vec![r#"{"action":"remove","name":"x-a","when":[{"path":{"lua_pattern":"^/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%w+/%d+$"}}]}"#; 16].join(",")),
                Err("operations: the Lua patterns hold 816 states together, more than 512: each costs its states for every byte it reads on every request; write literal tests (searched as strings), or fewer patterns"),
            ),
            (
                "a value on remove_prefix",
                r#"{"operations":[{"action":"remove_prefix","name":"x-internal-","value":"1"}]}"#,
                Err(r#"operations[0].value must be absent when action is "remove", "remove_prefix" or "remove_cookie", got "1""#),
            ),
            (
                "a request body replaced",
                r#"{"operations":[{"action":"replace_body","value":"x"}]}"#,
                Err(r#"operations[0].action "replace_body" needs a module that sees the response body: response-decorator's own module (moonshift/response-decorator), not the bundle or a pipeline, nor the request phase"#),
            ),
            (
                "missing: skip on a removal, which writes no value",
                r#"{"operations":[{"action":"remove","name":"x-a","missing":"skip"}]}"#,
                Err(r#"operations[0].missing must be absent when action is "remove", "remove_prefix" or "remove_cookie": they write no value, got "skip""#),
            ),
            (
                "missing: neither empty nor skip",
                r#"{"operations":[{"action":"set","name":"x-a","value":"%REQ(x-b)%","missing":"drop"}]}"#,
                Err("operations[0].missing: unknown variant `drop`, expected `empty` or `skip`"),
            ),
            (
                "a :json path with an empty key",
                r#"{"operations":[{"action":"set","name":"x-a","value":"%REQ(x-b):json(a..b)%"}]}"#,
                Err("operations[0].value %REQ(x-b):json(a..b)%: :json(a..b) must name 1 to 8 keys joined with `.` (`:json(realm_access.roles)`), none empty or holding `%`, `:` or white space"),
            ),
            (
                "a cookie taken out, its name's case kept",
                r#"{"operations":[{"action":"remove_cookie","name":"_Pomerium"}]}"#,
                Ok("RemoveCookie _Pomerium"),
            ),
            (
                "a cookie name that is not a token",
                r#"{"operations":[{"action":"remove_cookie","name":"a=b"}]}"#,
                Err(r#"operations[0].name must be a cookie name: 1 to 256 token characters (RFC 6265), got "a=b""#),
            ),
            (
                "no value on set_if_absent",
                r#"{"operations":[{"action":"set_if_absent","name":"x"}]}"#,
                Err(r#"operations[0].value is required when action is "add", "set", "set_if_absent" or "replace_body""#),
            ),
            (
                "a credential's value is never echoed",
                r#"{"operations":[{"action":"set","name":"authorization","value":"Bearer SECRET\r"}]}"#,
                Err("operations[0].value must not contain NUL, CR or LF, got a 14-byte value with CR at byte 13 (values are not quoted: they may be credentials)"),
            ),
            (
                "an unknown action",
                r#"{"operations":[{"action":"append","name":"x"}]}"#,
                Err("operations[0].action: unknown variant `append`, expected one of `add`, `set`, `set_if_absent`, `remove`, `remove_prefix`, `remove_cookie`, `replace_body`"),
            ),
            (
                "a deliberate rewrite of where the request goes",
                r#"{"operations":[{"action":"set","name":":Authority","value":"api.internal","rewrite":true},{"action":"set","name":":path","value":"/v2%REQ(:path)%","rewrite":true}]}"#,
                Ok("Set :authority Set :path"),
            ),
            (
                "a pseudo-header without rewrite",
                r#"{"operations":[{"action":"set","name":":authority","value":"evil"}]}"#,
                Err("operations[0].name :authority may only be rewritten with action \"set\" and \"rewrite\": true (it changes where the request goes)"),
            ),
            (
                "adding a second :path",
                r#"{"operations":[{"action":"add","name":":path","value":"/x","rewrite":true}]}"#,
                Err("operations[0].name :path may only be rewritten with action \"set\" and \"rewrite\": true (it changes where the request goes)"),
            ),
            (
                "removing :authority",
                r#"{"operations":[{"action":"remove","name":":authority","rewrite":true}]}"#,
                Err("operations[0].name :authority may only be rewritten with action \"set\" and \"rewrite\": true (it changes where the request goes)"),
            ),
            (
                "a :path that is not a path",
                r#"{"operations":[{"action":"set","name":":path","value":"%REQ(x-p)%","rewrite":true}]}"#,
                Err("operations[0].value must start with / or with %REQ(:path) when it rewrites :path, got a 10-byte value"),
            ),
            (
                "the path changed by a substitution",
                r#"{"operations":[{"action":"set","name":":path","value":"%REQ(:path):gsub(&$,)%","rewrite":true}]}"#,
                Ok("Set :path"),
            ),
            (
                "an empty :authority",
                r#"{"operations":[{"action":"set","name":":authority","value":"","rewrite":true}]}"#,
                Err("operations[0].value must not be empty when it rewrites :authority, got a 0-byte value"),
            ),
            (
                "other pseudo-headers",
                r#"{"operations":[{"action":"set","name":":method","value":"GET","rewrite":true}]}"#,
                Err(r#"operations[0].name with rewrite must be :authority or :path, in the request phase, got ":method""#),
            ),
            (
                "a pseudo-header named without rewrite",
                r#"{"operations":[{"action":"set","name":":scheme","value":"http"}]}"#,
                Err(r#"operations[0].name must be a header name: of the pseudo-headers only :authority and :path may be rewritten (request phase, action "set", "rewrite": true), got ":scheme""#),
            ),
            (
                "rewrite on a plain header",
                r#"{"operations":[{"action":"set","name":"x-a","value":"1","rewrite":true}]}"#,
                Err(r#"operations[0].name with rewrite must be :authority or :path, in the request phase, got "x-a""#),
            ),
            (
                "a bad Lua pattern",
                r#"{"operations":[{"action":"remove","name":"x","when":[{"path":{"lua_pattern":"%b()"}}]}]}"#,
                Err(r#"operations[0].when[0].path.lua_pattern must be a Lua pattern with a regex equivalent: %b at byte 0 has no regular-expression equivalent, got "%b()""#),
            ),
        ];
        for (name, json, want) in cases {
            let got = parse(Some(json.as_bytes()))
                .map(|ops| {
                    ops.iter()
                        .map(|op| format!("{:?} {}", op.action, op.name))
                        .collect::<Vec<_>>()
                        .join(" ")
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
