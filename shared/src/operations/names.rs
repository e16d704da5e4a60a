//! The names operations write: a header name (a prefix for `remove_prefix`, a cookie name for
//! `remove_cookie`), a pseudo-header a rewrite names, or a name the route gives
//! (`%METADATA(ROUTE:namespace:key)%`), checked when read and, for the route's, on each request.

use super::{Action, Operation, OperationConfig, REWRITABLE};
use crate::config::{self, ConfigError};
use crate::stream::Live;
use crate::template::{Budget, Phase, Template};
use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

/// A name taken from the route: `%METADATA(ROUTE:namespace:key)%` alone, for `add`, `set`,
/// `set_if_absent` or `remove`.
pub(super) fn name_from_route(
    field: &str,
    op: &OperationConfig,
    phase: Phase,
) -> Result<Template, ConfigError> {
    let alone = op
        .name()
        .strip_prefix("%METADATA(")
        .and_then(|rest| rest.strip_suffix(")%"));
    if alone.is_none_or(|argument| argument.contains('%')) {
        return Err(ConfigError::invalid(
            field,
            "must be a header name, or a name from the route: %METADATA(ROUTE:namespace:key)% alone",
            op.name(),
        ));
    }
    if op.rewrite
        || !matches!(
            op.action,
            Action::Add | Action::Set | Action::SetIfAbsent | Action::Remove
        )
    {
        return Err(ConfigError::invalid(
            field,
            "from the route works with action \"add\", \"set\", \"set_if_absent\" or \"remove\", without rewrite",
            op.name(),
        ));
    }
    Template::parse(field, op.name(), phase)
}

/// The name `op` writes on this request: its own, or the one the route gives, lowercased and
/// checked (`None`: no name, or one no filter writes).
pub(super) fn name_now<'a>(
    op: &'a Operation,
    live: &mut Live,
    budget: &mut Budget,
    filter: &str,
) -> Option<Cow<'a, str>> {
    let Some(template) = &op.name_from else {
        return Some(Cow::Borrowed(op.name.as_str()));
    };
    let rendered = template.render(live, b"", budget);
    if rendered.is_empty() {
        return None;
    }
    let text = core::str::from_utf8(&rendered).ok().unwrap_or("\u{fffd}");
    match config::writable_header_name("name", text) {
        Ok(lower) => Some(Cow::Owned(lower)),
        Err(_) => {
            log::debug!("{filter}: a header name from the route metadata is not one a filter writes: nothing done");
            None
        }
    }
}

/// A pseudo-header rewrite: `set` of `:authority` (not empty) or `:path` (starting with `/`),
/// in the request phase, with `rewrite: true`.
pub(super) fn pseudo(
    field: &impl Fn(&str) -> String,
    op: &OperationConfig,
    phase: Phase,
) -> Result<String, ConfigError> {
    let lower = op.name().to_ascii_lowercase();
    if lower == ":status" {
        return status(field, op, phase);
    }
    if !REWRITABLE.contains(&lower.as_str()) || phase != Phase::Request {
        let why = match op.rewrite {
            true => "with rewrite must be :authority or :path, in the request phase",
            false => "must be a header name: of the pseudo-headers only :authority and :path may be rewritten (request phase, action \"set\", \"rewrite\": true)",
        };
        return Err(ConfigError::invalid(&field("name"), why, op.name()));
    }
    if op.action != Action::Set || !op.rewrite {
        return Err(ConfigError::new(format!(
            "{} {lower} may only be rewritten with action \"set\" and \"rewrite\": true (it changes where the request goes)",
            field("name")
        )));
    }
    let value = op.value.as_deref().unwrap_or_default();
    let bad = match lower.as_str() {
        // The path itself, changed (`%REQ(:path):gsub(...)%`), starts with / as the request's
        // did; what it renders is checked again before it is written (request_line_refuses).
        ":path" => !(value.starts_with('/') || value.starts_with("%REQ(:path)")),
        _ => value.is_empty(),
    };
    if bad {
        let want = match lower.as_str() {
            ":path" => "must start with / or with %REQ(:path) when it rewrites :path",
            _ => "must not be empty when it rewrites :authority",
        };
        // Not quoted, as no header value is: a path can carry a token.
        return Err(ConfigError::new(format!(
            "{} {want}, got a {}-byte value",
            field("value"),
            value.len()
        )));
    }
    Ok(lower)
}

/// A new response status: `set` of `:status` in the response phase, to a literal status
/// (100 to 599), as a script's `headers:replace(":status", "200")`. Later operations, and the
/// filters after this one, see the new status.
fn status(
    field: &impl Fn(&str) -> String,
    op: &OperationConfig,
    phase: Phase,
) -> Result<String, ConfigError> {
    if phase != Phase::Response || op.action != Action::Set || op.rewrite {
        return Err(ConfigError::invalid(
            &field("name"),
            "may only be written with action \"set\" (no \"rewrite\"), in the response phase",
            op.name(),
        ));
    }
    let value = op.value.as_deref().unwrap_or_default();
    if !settable_status(value) {
        return Err(ConfigError::invalid(
            &field("value"),
            "must be a status from 100 to 599, written as three digits, when it sets :status",
            value,
        ));
    }
    Ok(String::from(":status"))
}

/// Whether `value` is a status an operation may set `:status` to: three digits, 100 to 599.
pub fn settable_status(value: &str) -> bool {
    value.len() == 3
        && value
            .parse::<u16>()
            .is_ok_and(|status| (100..=599).contains(&status))
}

/// A `remove_cookie` name: a cookie name (RFC 6265: token characters), in the request phase,
/// where the `cookie` header is.
pub(super) fn cookie_name(field: &str, name: &str, phase: Phase) -> Result<String, ConfigError> {
    if phase != Phase::Request {
        return Err(ConfigError::invalid(
            field,
            "names a cookie of the request's `cookie` header: remove_cookie works in the request phase only",
            name,
        ));
    }
    // A cookie name is a token, as a header name is, but keeps its case.
    if name.is_empty() || name.len() > 256 || !name.bytes().all(config::is_tchar) {
        return Err(ConfigError::invalid(
            field,
            "must be a cookie name: 1 to 256 token characters (RFC 6265)",
            name,
        ));
    }
    Ok(String::from(name))
}

/// A `remove_prefix` name: header-name characters, and not a prefix of a framing header (it
/// would strip `content-length` or `connection`).
pub(super) fn prefix(field: &str, name: &str) -> Result<String, ConfigError> {
    let lower = config::header_name(field, name)?;
    // `x` or `x-` removes x-request-id, x-forwarded-* and the rest of the x- headers Envoy and
    // upstreams rely on: always a mistake (a prefix names a family: `x-internal-`).
    if lower.len() < 3 {
        return Err(ConfigError::invalid(
            field,
            "must be at least 3 bytes: a shorter prefix removes headers Envoy and upstreams rely on (x-request-id, x-forwarded-*)",
            name,
        ));
    }
    if config::FRAMING_HEADERS
        .iter()
        .any(|framing| framing.starts_with(lower.as_str()))
    {
        return Err(ConfigError::invalid(
            field,
            "must not be a prefix of a framing or hop-by-hop header (it would remove them)",
            name,
        ));
    }
    Ok(lower)
}
