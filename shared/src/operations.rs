//! Header operations: what request-decorator and response-decorator do, in order, each under
//! its own conditions. They are Lua's `add`, `replace` and `remove`, and two built on them,
//! with Lua's ordering and repeated-value behaviour:
//!
//! | action | Lua | effect |
//! |---|---|---|
//! | `add` | `headers:add(name, value)` | appends another value |
//! | `set` | `headers:replace(name, value)` | leaves exactly this one value |
//! | `set_if_absent` | `if headers:get(name) == nil then headers:add(name, value) end` | only when no value is there |
//! | `remove` | `headers:remove(name)` | removes every value |
//! | `remove_prefix` | `remove` of every name `pairs(headers)` gives that starts with `name` | strips a family (`x-internal-`) |
//! | `remove_cookie` | the `cookie` header rebuilt without the cookie `name` ([`cookie`]) | takes a session cookie from what the upstream sees (request phase) |
//! | `replace_body` | `response_handle:body():setBytes(value)` | the response body, rendered in the header phase, with `content-length`; no `name`; only where the module exports the body callback ([`moonshift_kit::body`]) |
//!
//! Pseudo-headers are not headers: only `:authority` and `:path` may be written, only by `set`,
//! only in the request phase and only when the operation says so with `"rewrite": true` (Lua's
//! `headers:replace(":path", ...)`; Envoy routes again on the new value, as after the Lua's
//! change). A rewritten `:path` must start with `/`, an `:authority` must not be empty.
//!
//! A name may come from the route: `%METADATA(ROUTE:namespace:key)%`, alone, for `add`, `set`,
//! `set_if_absent` and `remove` (a script's `headers:add(metadata:get("header_name"), v)`). On
//! each request it renders as the template does (a string, or a number as Lua writes it),
//! lowercased as Envoy's header maps lowercase it; no name, no header: when it is missing or
//! empty, the operation does nothing. A rendered name that is not a writable header name (not a
//! token, a pseudo-header, a framing header) does nothing either, logged at debug: Envoy's Lua
//! would write it (a listed difference, request-decorator's README).
//!
//! `value` is a [`Template`]; a missing source renders as the empty string. `when` holds
//! [`conditions`](crate::condition), all of which must hold, checked against the headers as the
//! earlier operations left them (as the Lua's `if` does).

use crate::condition::{self, Condition, ConditionConfig, Sight};
use crate::config::{self, ConfigError};
use crate::section::{self, Section};
use crate::stream::{Live, RequestLine};
use crate::template::{Budget, Context, Phase, Template};
use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use moonshift_kit::host::Map;
pub use names::settable_status;
use names::{cookie_name, name_from_route, name_now, prefix, pseudo};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Add,
    Set,
    SetIfAbsent,
    Remove,
    RemovePrefix,
    RemoveCookie,
    /// The response body, as `response_handle:body():setBytes(value)` (no `name`).
    ReplaceBody,
}

impl Action {
    /// Whether the operation writes a `value` (`add`, `set`, `set_if_absent`, `replace_body`);
    /// the removes take none.
    pub fn writes_value(self) -> bool {
        !matches!(self, Self::Remove | Self::RemovePrefix | Self::RemoveCookie)
    }
}

/// What an operation does when a command of its value is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The command renders empty (a script's `headers:get(x) or ""`).
    #[default]
    Empty,
    /// Nothing is written (a script's `if v then headers:add(name, v) end`).
    Skip,
}

/// One operation as written in `pluginConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    pub action: Action,
    /// Required, except for `replace_body`, which writes no header.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub when: Vec<ConditionConfig>,
    /// Says a `set` of `:authority` or `:path` is meant: a rewrite of where the request goes.
    #[serde(default)]
    pub rewrite: bool,
    /// `skip`: when a command of `value` is missing, the operation writes nothing.
    #[serde(default)]
    pub missing: Missing,
}

impl OperationConfig {
    /// The name as written; empty when absent.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

impl Section<Vec<OperationConfig>> {
    /// The operations as written at `field` (see [`crate::section`]).
    pub fn read(&self, field: &str) -> Result<Vec<OperationConfig>, ConfigError> {
        section::read(self, field)
    }
}

/// The pseudo-headers an operation may rewrite (with `"rewrite": true`).
pub const REWRITABLE: [&str; 2] = [":authority", ":path"];

/// A validated operation: lowercase name (a prefix for `remove_prefix`), parsed value.
#[derive(Debug, Clone)]
pub struct Operation {
    pub action: Action,
    /// The name; empty when it comes from the route (`name_from`).
    pub name: String,
    /// `%METADATA(ROUTE:namespace:key)%`: the name, rendered on each request.
    pub name_from: Option<Template>,
    pub value: Template,
    pub when: Vec<Condition>,
    /// `missing: skip`: nothing is written when a command of `value` is missing.
    pub skip_missing: bool,
}

/// Validates `operations` (the field is `operations`) for `phase`.
pub fn validate(
    operations: &[OperationConfig],
    phase: Phase,
) -> Result<Vec<Operation>, ConfigError> {
    validate_in(operations, Sight::of(phase))
}

/// [`validate`] for what `sight` sees (conditions on the request's path in the response phase,
/// where the filter keeps its request line).
pub fn validate_in(
    operations: &[OperationConfig],
    sight: Sight,
) -> Result<Vec<Operation>, ConfigError> {
    let phase = sight.phase;
    config::bounded_list("operations", operations.len())?;
    let validated = operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let field = |name: &str| format!("operations[{i}].{name}");
            match (op.action, &op.name) {
                (Action::ReplaceBody, Some(name)) => {
                    return Err(ConfigError::invalid(
                        &field("name"),
                        "must be absent when action is \"replace_body\": it writes the body (content-length follows it; set content-type with its own operation)",
                        name,
                    ))
                }
                (Action::ReplaceBody, None) if !sight.replaces_body => {
                    return Err(ConfigError::new(format!(
                        "operations[{i}].action \"replace_body\" needs a module that sees the response body: response-decorator's own module (moonshift/response-decorator), not the bundle or a pipeline, nor the request phase"
                    )))
                }
                (_, None) if op.action != Action::ReplaceBody => {
                    return Err(ConfigError::new(format!("operations[{i}]: missing field `name`")))
                }
                _ => {}
            }
            let name_from = match op.name().starts_with('%') {
                true => Some(name_from_route(&field("name"), op, phase)?),
                false => None,
            };
            let name = match op.action {
                _ if name_from.is_some() => String::new(),
                Action::ReplaceBody => String::new(),
                _ if op.name().starts_with(':') || op.rewrite => pseudo(&field, op, phase)?,
                Action::RemovePrefix => prefix(&field("name"), op.name())?,
                Action::RemoveCookie => cookie_name(&field("name"), op.name(), phase)?,
                _ => config::writable_header_name(&field("name"), op.name())?,
            };
            let writes = op.action.writes_value();
            let value = match (writes, &op.value) {
                (false, None) => Template::parse("", "", phase)?,
                (false, Some(value)) => {
                    return Err(ConfigError::invalid(
                        &field("value"),
                        "must be absent when action is \"remove\", \"remove_prefix\" or \"remove_cookie\"",
                        value,
                    ))
                }
                (true, None) => {
                    return Err(ConfigError::new(format!(
                        "{} is required when action is \"add\", \"set\", \"set_if_absent\" or \"replace_body\"",
                        field("value")
                    )))
                }
                (true, Some(value)) => {
                    config::header_value(&field("value"), value)?;
                    Template::parse(&field("value"), value, phase)?
                }
            };
            if !writes && op.missing == Missing::Skip {
                return Err(ConfigError::new(format!(
                    "{} must be absent when action is \"remove\", \"remove_prefix\" or \"remove_cookie\": they write no value, got \"skip\"",
                    field("missing")
                )));
            }
            let when = condition::validate_all_in(&field("when"), &op.when, sight)?;
            Ok(Operation {
                action: op.action,
                name,
                name_from,
                value,
                when,
                skip_missing: op.missing == Missing::Skip,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let items = validated
        .iter()
        .map(|op| condition::automaton_items(&op.when))
        .sum();
    condition::bound_pattern_work("operations", items)?;
    Ok(validated)
}

fn map(phase: Phase) -> Map {
    match phase {
        Phase::Request => Map::Request,
        Phase::Response => Map::Response,
    }
}

/// A header value: a literal template's own bytes (no copy: the seed's `add x-lua-processed
/// true` allocates nothing), else the rendering, a missing source empty; `None` when a source
/// is missing and the operation skips then (`missing: skip`).
fn value<'a>(op: &'a Operation, live: &mut Live, budget: &mut Budget) -> Option<Cow<'a, [u8]>> {
    match (op.value.literal(), op.skip_missing) {
        (Some(text), _) => Some(Cow::Borrowed(text.as_bytes())),
        (None, false) => Some(Cow::Owned(op.value.render(live, b"", budget))),
        (None, true) => op.value.render_whole(live, budget).map(Cow::Owned),
    }
}

/// Why a rendered `:path` or `:authority` is not one Envoy's codec would take from a client
/// (`None`: it is, or `name` is another header). A rewrite to it is not made: a header must
/// not put `/a HTTP/1.0` into the request line, or `/`, `@` or a space into the Host. Envoy's
/// Lua makes the change; this is a listed difference (request-decorator's README).
pub fn request_line_refuses(name: &str, value: &[u8]) -> Option<&'static str> {
    let control_or_space = |b: &u8| *b <= b' ' || *b == 0x7f;
    match name {
        ":path" if !value.starts_with(b"/") => Some("does not start with /"),
        ":path" if value.iter().any(|b| control_or_space(b) || *b == b'#') => {
            Some("holds a space, a control byte or #")
        }
        ":authority" if value.is_empty() => Some("is empty"),
        ":authority"
            if value
                .iter()
                .any(|b| control_or_space(b) || b"/@?#\\".contains(b)) =>
        {
            Some("holds a space, a control byte, /, @, ?, # or \\")
        }
        _ => None,
    }
}

/// Whether any operation's conditions read the request's `:path` or `:method`.
pub fn read_request_line(operations: &[Operation]) -> bool {
    operations
        .iter()
        .any(|op| condition::reads_request_line(&op.when))
}

/// Applies `operations` to `phase`'s headers through the host. A change the host refuses is
/// logged, and the next operation runs.
pub fn apply(operations: &[Operation], phase: Phase, filter: &str) {
    apply_seeing(operations, phase, filter, None);
}

/// [`apply`], with the request line the filter kept from its request phase for conditions on
/// the request's path or method in the response phase.
pub fn apply_seeing(
    operations: &[Operation],
    phase: Phase,
    filter: &str,
    request_line: Option<RequestLine>,
) {
    let headers = map(phase);
    let mut live = Live::default().with_request_line(request_line);
    let mut budget = Budget::per_phase();
    for op in operations {
        if !condition::all_hold(&op.when, &mut live, phase) {
            continue;
        }
        let Some(name) = name_now(op, &mut live, &mut budget, filter) else {
            continue;
        };
        let name = name.as_ref();
        let done = match op.action {
            // Lua's `body()` is nil without a body: nothing then. `setBytes` writes
            // content-length; the module writes the body as the upstream's passes
            // (moonshift_kit::body). It writes content-length only over the upstream's own: a
            // body framed otherwise (chunked) may end in trailers with no chunk to write over,
            // and a length written before would then be a lie.
            Action::ReplaceBody if !moonshift_kit::body::follows() => Ok(()),
            Action::ReplaceBody => match value(op, &mut live, &mut budget) {
                None => Ok(()),
                Some(body) => {
                    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
                    let done = match headers.get("content-length") {
                        Some(_) => headers.replace(
                            "content-length",
                            moonshift_kit::wire::decimal(length, &mut [0; 10]),
                        ),
                        None => Ok(()),
                    };
                    moonshift_kit::body::replace(body.into_owned());
                    done
                }
            },
            Action::Remove => headers.remove(name),
            Action::RemovePrefix => {
                let mut names = headers.names_starting_with(name);
                names.sort_unstable();
                names.dedup();
                names.iter().try_for_each(|key| headers.remove(key))
            }
            Action::RemoveCookie => match live.header(phase, "cookie") {
                Some(header) => {
                    headers.replace("cookie", &cookie::without(&header, name.as_bytes()))
                }
                None => Ok(()),
            },
            Action::SetIfAbsent if live.header(phase, name).is_some() => Ok(()),
            Action::Add | Action::Set | Action::SetIfAbsent => {
                // A skip is silent, as a `when` that does not hold: the script's
                // `if v then headers:add(name, v) end` logs nothing either.
                match value(op, &mut live, &mut budget) {
                    None => Ok(()),
                    Some(value) => match (op.action, request_line_refuses(name, &value)) {
                        (Action::Set, Some(why)) => {
                            log::debug!("{filter}: {name} not rewritten: the rendered value {why}");
                            Ok(())
                        }
                        (Action::Set, None) => headers.replace(name, &value),
                        _ => headers.add(name, &value),
                    },
                }
            }
        };
        if let Err(status) = done {
            log::warn!("{filter}: {name}: the host refused the change: {status}");
        }
    }
}

pub mod cookie;
mod names;

#[cfg(test)]
mod tests;
