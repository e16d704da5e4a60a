//! Value templates: literal text with Envoy's formatter commands (`%REQ(x-user)%`,
//! `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`), rendered per request.
//!
//! A command is `%` + `[A-Z_]+` + `%`, or `%` + `[A-Z_]+` + `(` + argument + `)%` where the
//! argument ends at the next `)%`, or at the next `)` followed by a chain of transforms and `%`:
//! `:N` keeps at most N bytes of the value (Envoy's truncation: `%REQ(user-agent):16%`), and
//! `:sub(i,j)`, `:lower`, `:upper` and `:match(pattern)` change it as Lua's string functions do
//! ([`transform`]). `%REQ(a?b)%` (and `RESP`) reads `b`
//! when `a` is missing, as Envoy's formatter does. Any other `%` is literal text
//! (`100% done`), and so is a command whose `)%` never comes (`%REQ(:path`). An unknown command, or one that reads what its
//! phase cannot see, is refused at configure time with the field named. The Lua references split
//! a template with the same scan (`lua-reference/*.lua`, `parse_template`).
//!
//! | command | renders | when the source is missing |
//! |---|---|---|
//! | `%REQ(name)%` | request header, every value joined with `,` (Lua's `get`); pseudo-headers too | missing |
//! | `%RESP(name)%` | response header, the same way (response phase only) | missing |
//! | `%RESPONSE_CODE%` | the response `:status` (response phase only) | missing |
//! | `%START_TIME(fmt)%` | the clock in UTC, as Lua's `os.date("!" .. fmt)` (the strftime subset of `strftime`) | never missing |
//! | `%DOWNSTREAM_REMOTE_ADDRESS%` | the client's `ip:port` (`[v6]:port`) | missing |
//! | `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%` | the client's IP, IPv6 without brackets | missing |
//! | `%DOWNSTREAM_PEER_URI_SAN%` | the client certificate's URI SAN | missing (no TLS, no certificate, no URI SAN) |
//! | `%QUERY_PARAM(name)%` | the first `name=` parameter of `:path`'s query, raw (not decoded); `name` alone gives empty | missing |
//! | `%COOKIE(name)%` | the first `name=` cookie of the `cookie` header, raw | missing |
//! | `%RESPONSE_DURATION%` | milliseconds from the request's headers to the response's (a response log message only: the filter that renders it records the start) | missing when no start was recorded |
//! | `%METADATA(ROUTE:namespace:key)%` | the route's `filter_metadata[namespace][key]`: a string, or a number as Lua writes it (`2`, `2.5`) | missing (no such key; a bool, struct or list) |
//! | `%UNIQUE_ID%` | a fresh version 4 UUID, lowercase (`3f2a…-4…-[89ab]…`), from the host's random source, new at each rendering | missing if the host has no random source |
//!
//! What "missing" renders as is the caller's choice: empty in a header value, `-` in a log line
//! (Envoy's access-log convention). Lua and Wasm render it the same.

use crate::config::ConfigError;
use crate::strftime::Stamp;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
pub use transform::Transform;

/// Which phase a template is rendered in: what it can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Request,
    Response,
}

/// What a command reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A lowercase request header or pseudo-header.
    RequestHeader(String),
    /// A lowercase response header.
    ResponseHeader(String),
    ResponseCode,
    StartTime(Stamp),
    RemoteAddress,
    RemoteAddressWithoutPort,
    PeerUriSan,
    QueryParam(String),
    Cookie(String),
    RouteMetadata {
        namespace: String,
        key: String,
    },
    ResponseDuration,
    UniqueId,
}

/// One command: what it reads, what it reads when that is missing (`%REQ(a?b)%`), and what
/// its value goes through (`:N`, `:sub(i,j)`, `:lower`, `:upper`, `:match(pattern)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub source: Source,
    pub fallback: Option<Source>,
    pub transforms: Vec<Transform>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Command(Command),
}

/// A command as scanned: start, end (exclusive), name, argument, its `:` chain.
type Scanned<'a> = (usize, usize, &'a str, Option<&'a str>, Option<&'a str>);

/// What rendering reads from the stream; the host glue (`crate::stream`) and the tests
/// implement it.
pub trait Context {
    /// A header of `phase`'s map as Lua's `get` gives it (repeated values joined with `,`).
    fn header(&mut self, phase: Phase, name: &str) -> Option<Vec<u8>>;
    /// The wall clock, in seconds since the epoch.
    fn now_seconds(&mut self) -> i64;
    /// The client's address, `ip:port`.
    fn remote_address(&mut self) -> Option<Vec<u8>>;
    /// The client certificate's URI SAN.
    fn peer_uri_san(&mut self) -> Option<Vec<u8>>;
    /// The route's `filter_metadata[namespace][key]` when it is a string (what a condition's
    /// string test reads: `metadata:get(k) == "2"` is false for the number 2).
    fn route_metadata(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>>;
    /// The route's `filter_metadata[namespace][key]` as a template writes it: a string, or a
    /// number as Lua writes it (`2`, `2.5`: [`crate::lua_number`]).
    fn route_metadata_rendered(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>>;
    /// Whether the route's `filter_metadata[namespace][key]` holds what Lua's `if` takes as
    /// true: any value but `false` and `null`.
    fn route_metadata_truthy(&mut self, namespace: &str, key: &str) -> bool;
    /// Milliseconds since the request's headers, when the filter recorded them.
    fn response_duration_ms(&mut self) -> Option<u64>;
    /// 16 bytes from the host's random source.
    fn random_bytes(&mut self) -> Option<[u8; 16]>;
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// The commands, for error messages.
pub const COMMANDS: &str = "REQ(name), RESP(name), RESPONSE_CODE, START_TIME(format), DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, QUERY_PARAM(name), COOKIE(name), METADATA(ROUTE:namespace:key), UNIQUE_ID";

/// Where a template is rendered: its phase, and whether its filter records the request's start
/// (only a response log message does).
#[derive(Debug, Clone, Copy)]
struct Place {
    phase: Phase,
    timed: bool,
}

/// A command: `%REQ(a?b)%` and `%RESP(a?b)%` read two headers, `:N` keeps N bytes.
fn command(
    field: &str,
    place: Place,
    name: &str,
    argument: Option<&str>,
    chain: Option<&str>,
) -> Result<Command, ConfigError> {
    let (first, fallback) = match (name, argument.and_then(|a| a.split_once('?'))) {
        ("REQ" | "RESP", Some((first, second))) => (Some(first), Some(second)),
        _ => (argument, None),
    };
    let transforms = match chain {
        None => Vec::new(),
        Some(chain) => transform::parse_chain(
            &format!("{field} %{name}({}){chain}%", argument.unwrap_or_default()),
            chain,
        )
        .map_err(ConfigError::new)?,
    };
    Ok(Command {
        source: source(field, place, name, first)?,
        fallback: fallback
            .map(|second| source(field, place, name, Some(second)))
            .transpose()?,
        transforms,
    })
}

impl Command {
    /// What the command renders to; `None` when its sources are missing. What the host copied
    /// in is charged to `budget` before the `:N` cut.
    fn read(&self, context: &mut impl Context, budget: &mut Budget) -> Option<Vec<u8>> {
        let mut value = read(&self.source, context).or_else(|| {
            self.fallback
                .as_ref()
                .and_then(|fallback| read(fallback, context))
        })?;
        budget.charge(value.len());
        for transform in &self.transforms {
            value = transform.apply(value)?;
        }
        let decoded = self.transforms.iter().any(Transform::decodes);
        (!decoded || decode::writable(&value)).then_some(value)
    }
}

impl Template {
    /// Parses `text` for `phase`; `field` names it in errors.
    pub fn parse(field: &str, text: &str, phase: Phase) -> Result<Self, ConfigError> {
        Self::parse_at(
            field,
            text,
            Place {
                phase,
                timed: false,
            },
        )
    }

    /// Parses a response log message: the response phase, and `%RESPONSE_DURATION%` as well
    /// (the caller records the request's start).
    pub fn parse_response_log(field: &str, text: &str) -> Result<Self, ConfigError> {
        Self::parse_at(
            field,
            text,
            Place {
                phase: Phase::Response,
                timed: true,
            },
        )
    }

    /// Whether rendering reads the request's start (`%RESPONSE_DURATION%`).
    pub fn is_timed(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Command(c) if c.source == Source::ResponseDuration))
    }

    fn parse_at(field: &str, text: &str, place: Place) -> Result<Self, ConfigError> {
        let mut segments = Vec::new();
        let mut literal_from = 0;
        let scanned = commands(text);
        if scanned.len() > MAX_COMMANDS {
            return Err(ConfigError::new(format!(
                "{field} must hold at most {MAX_COMMANDS} commands, got {}",
                scanned.len()
            )));
        }
        for (start, end, name, argument, chain) in scanned {
            if start > literal_from {
                segments.push(Segment::Literal(
                    text.get(literal_from..start)
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
            segments.push(Segment::Command(command(
                field, place, name, argument, chain,
            )?));
            literal_from = end;
        }
        if literal_from < text.len() {
            segments.push(Segment::Literal(
                text.get(literal_from..).unwrap_or_default().to_string(),
            ));
        }
        Ok(Self { segments })
    }

    /// The text itself when the template has no command.
    pub fn literal(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// Renders the template; a missing source renders as `missing`. The value keeps at most
    /// [`MAX_RENDERED`] bytes, and what it reads and writes is charged to `budget`: once that
    /// is spent, the value is cut where it stands (see [`Budget`]). Rendering never fails,
    /// never allocates past those bounds, and an allocation the allocator refuses cuts the
    /// value instead of aborting the module.
    pub fn render(
        &self,
        context: &mut impl Context,
        missing: &[u8],
        budget: &mut Budget,
    ) -> Vec<u8> {
        self.render_noting(context, Some(missing), budget).0
    }

    /// [`Self::render`], or `None` when any of its commands is missing: an operation with
    /// `missing: skip` writes nothing then, as a script's `if v then headers:add(n, v) end`.
    /// It stops at the first missing command: what follows would be thrown away.
    pub fn render_whole(&self, context: &mut impl Context, budget: &mut Budget) -> Option<Vec<u8>> {
        match self.render_noting(context, None, budget) {
            (out, false) => Some(out),
            (_, true) => None,
        }
    }

    /// The rendering, and whether a command was missing: rendered as `missing`, or (`None`)
    /// ending the rendering there.
    fn render_noting(
        &self,
        context: &mut impl Context,
        missing: Option<&[u8]>,
        budget: &mut Budget,
    ) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut any_missing = false;
        for segment in &self.segments {
            if budget.left == 0 || out.len() >= MAX_RENDERED {
                budget.cut = true;
                break;
            }
            let mut read;
            let bytes = match segment {
                Segment::Literal(text) => text.as_bytes(),
                Segment::Command(command) => {
                    // What the host copied in counts, not only what is kept: a `%REQ(x):1%` of
                    // a large header costs its whole read.
                    read = command.read(context, budget);
                    // A value that begins the rendering and fits is kept as read: no copy.
                    if out.is_empty() {
                        if let Some(value) = read.take_if(|value| value.len() <= MAX_RENDERED) {
                            out = value;
                            continue;
                        }
                    }
                    match &read {
                        Some(value) => value.as_slice(),
                        None => {
                            let Some(missing) = missing else {
                                return (out, true);
                            };
                            any_missing = true;
                            budget.charge(missing.len());
                            missing
                        }
                    }
                }
            };
            if let Segment::Literal(text) = segment {
                budget.charge(text.len());
            }
            if !push(&mut out, bytes, budget) {
                break;
            }
        }
        (out, any_missing)
    }
}

mod budget;
pub mod decode;
mod parse;
mod scan;
mod sources;
pub mod transform;

use budget::push;
pub use budget::{Budget, MAX_COMMANDS, MAX_RENDERED, PHASE_BUDGET};
use parse::source;
use scan::commands;
pub use sources::{cookie, query_param, read, uuid_v4, without_port};

#[cfg(test)]
pub(crate) mod tests;
