//! What a command reads, as written: `REQ(name)`, `METADATA(ROUTE:ns:key)`, ..., checked for
//! the phase it is rendered in ([`Place`]); an error names the field and the command.

use super::{Phase, Place, Source, COMMANDS};
use crate::config::{self, ConfigError};
use crate::strftime::{Format, Stamp};
use alloc::format;
use alloc::string::ToString;

pub(super) fn source(
    field: &str,
    place: Place,
    name: &str,
    argument: Option<&str>,
) -> Result<Source, ConfigError> {
    let phase = place.phase;
    let command = match argument {
        Some(argument) => format!("%{name}({argument})%"),
        None => format!("%{name}%"),
    };
    let field = format!("{field} {command}");
    let response_only = |source: Source| match phase {
        Phase::Response => Ok(source),
        Phase::Request => Err(ConfigError::new(format!(
            "{field} reads the response, which the request phase has not got"
        ))),
    };
    let request_only = |source: Source| match phase {
        Phase::Request => Ok(source),
        Phase::Response => Err(ConfigError::new(format!(
            "{field} reads the request, which a response-phase Lua script cannot read"
        ))),
    };
    match (name, argument) {
        ("REQ", Some(header)) => request_only(Source::RequestHeader(
            config::readable_request_header(&field, header)?,
        )),
        ("RESP", Some(header)) => {
            response_only(Source::ResponseHeader(config::header_name(&field, header)?))
        }
        ("RESPONSE_CODE", None) => response_only(Source::ResponseCode),
        ("START_TIME", Some(format)) => Format::parse(format)
            .map(|f| Source::StartTime(Stamp::new(f)))
            .map_err(|e| {
                ConfigError::new(format!(
                    "{field}: the %START_TIME% format (Lua's os.date subset) {e}"
                ))
            }),
        ("START_TIME", None) => Err(ConfigError::new(format!(
            "{field} needs a format, as Lua's os.date does: %START_TIME(%Y-%m-%dT%H:%M:%SZ)%"
        ))),
        ("DOWNSTREAM_REMOTE_ADDRESS", None) => Ok(Source::RemoteAddress),
        ("DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", None) => Ok(Source::RemoteAddressWithoutPort),
        ("DOWNSTREAM_PEER_URI_SAN", None) => Ok(Source::PeerUriSan),
        ("QUERY_PARAM", Some(param)) if !param.is_empty() => {
            request_only(Source::QueryParam(param.to_string()))
        }
        ("COOKIE", Some(cookie)) if !cookie.is_empty() => {
            request_only(Source::Cookie(cookie.to_string()))
        }
        ("METADATA", Some(argument)) => route_metadata(&field, argument),
        ("UNIQUE_ID", None) => Ok(Source::UniqueId),
        ("RESPONSE_DURATION", None) if place.timed => Ok(Source::ResponseDuration),
        ("RESPONSE_DURATION", None) => Err(ConfigError::new(format!(
            "{field} is rendered in a response log message only (path-logger's response.message)"
        ))),
        _ => Err(ConfigError::new(format!(
            "{field} is not a command Moonshift renders; the commands are {COMMANDS}"
        ))),
    }
}

/// `ROUTE:namespace:key`: the only metadata a Lua script reads (`metadata():get(key)`), one
/// key deep.
fn route_metadata(field: &str, argument: &str) -> Result<Source, ConfigError> {
    let mut parts = argument.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("ROUTE"), Some(namespace), Some(key), None)
            if !namespace.is_empty() && !key.is_empty() =>
        {
            Ok(Source::RouteMetadata {
                namespace: namespace.to_string(),
                key: key.to_string(),
            })
        }
        _ => Err(ConfigError::new(format!(
            "{field} must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"
        ))),
    }
}
