//! Conditions on operations and replies: `when: [...]`, every entry must hold.
//!
//! ```json
//! {"header": {"name": "x-debug", "present": true}}
//! {"header": {"name": "x-env", "exact": "prod"}}
//! {"path": {"prefix": "/api/"}}          {"path": {"lua_pattern": "^/users/%d+$"}}
//! {"method": ["GET", "HEAD"]}            {"status": [404, 503]}
//! {"metadata": {"namespace": "envoy.filters.http.lua", "key": "strip", "present": true}}
//! {"not": {"path": {"exact": "/healthz"}}}
//! ```
//!
//! A string test is one of `exact`, `prefix`, `suffix`, `contains`, `lua_pattern` or `regex`,
//! applied to the value Lua's `headers():get()` gives (repeated values joined with `,`; `:path`
//! includes the query). A missing header fails every string test. `lua_pattern` is the test
//! real scripts write (`string.find(value, pattern)`), matched natively by
//! [`crate::lua_pattern`]. `regex` is the `regex` crate's syntax in byte mode, matching the
//! whole value as Envoy's `safe_regex` does; it has no Lua reference (Envoy's Lua has no regex
//! library; `moonshift migrate` writes `lua_pattern`), and it is built only with this crate's
//! `regex` feature ([`regex`]), which the shipped modules leave off: the regex engine would
//! more than double their size. Without it a `regex` test is refused, naming the field. Patterns are
//! parsed at configure time and a bad one is refused with its field named.
//!
//! `metadata` reads the route's `filter_metadata[namespace][key]` (what Lua's
//! `metadata():get(key)` reads under the Lua filter's name): `present` is Lua's truth, any value
//! but `false` and `null`, and a string test tests a string value only. Both phases see it.
//!
//! `path` and `method` read the request and `status` the response: each is refused where its
//! phase cannot see it. The response phase sees the request's `:path` and `:method` only where
//! the filter kept them from its request phase ([`Sight`]), which needs a module entered for
//! both phases (the bundle): Envoy shows a module entered only for the response nothing of the
//! request (docs/envoy.md §3).

use crate::config::{self, ConfigError};
use crate::section::{self, Section};
use crate::template::{Context, Phase};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;

mod matching;
#[cfg(feature = "regex")]
pub mod regex;

pub use matching::{
    url_path, HeaderMatchConfig, Match, MatchConfig, MetadataMatchConfig, MAX_PATTERN,
};

/// A condition as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConditionConfig {
    Header(HeaderMatchConfig),
    Metadata(MetadataMatchConfig),
    Path(MatchConfig),
    Method(Vec<String>),
    Status(Vec<u16>),
    Not(Box<ConditionConfig>),
}

impl Section<Vec<ConditionConfig>> {
    /// The conditions as written at `field` (see [`crate::section`]).
    pub fn read(&self, field: &str) -> Result<Vec<ConditionConfig>, ConfigError> {
        section::read(self, field)
    }
}

impl Section<Vec<MatchConfig>> {
    /// The string tests as written at `field` (see [`crate::section`]).
    pub fn read(&self, field: &str) -> Result<Vec<MatchConfig>, ConfigError> {
        section::read(self, field)
    }
}

/// A validated condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// `None`: the header must be absent; `Some(None)`: present; `Some(Some(m))`: present and
    /// matching.
    Header {
        name: String,
        test: HeaderTest,
    },
    /// The route's `filter_metadata[namespace][key]`: `Present` is Lua's truth (any value
    /// but `false` and `null`), `Matches` tests a string value.
    Metadata {
        namespace: String,
        key: String,
        test: HeaderTest,
    },
    Path(Match),
    Method(Vec<String>),
    Status(Vec<u16>),
    Not(Box<Condition>),
}

#[derive(Debug, Clone)]
pub enum HeaderTest {
    Present(bool),
    Matches(Match),
}

/// `present`, or one string test, at `field` (a header or metadata test).
fn present_or_match(
    field: &str,
    present: Option<bool>,
    test: MatchConfig,
) -> Result<HeaderTest, ConfigError> {
    match (present, test == MatchConfig::default()) {
        (Some(present), true) => Ok(HeaderTest::Present(present)),
        (None, false) => Ok(HeaderTest::Matches(test.validate(field)?)),
        _ => Err(ConfigError::new(format!(
            "{field} must hold exactly one of present, exact, prefix, suffix, contains, lua_pattern, regex"
        ))),
    }
}

/// How deep `not` may nest.
const MAX_NOT_DEPTH: usize = 4;

impl ConditionConfig {
    fn validate_at(
        &self,
        field: &str,
        sight: Sight,
        depth: usize,
    ) -> Result<Condition, ConfigError> {
        let phase = sight.phase;
        let wrong_phase = |what: &str, reads: &str| {
            match (phase, reads) {
            (Phase::Response, "request") => ConfigError::new(format!(
                "{field}.{what} reads the request, which a module entered only for the response cannot see: use the bundle module (moonshift-bundle: this filter by its root_id, or in a pipeline), which is entered for both phases"
            )),
            _ => ConfigError::new(format!(
                "{field}.{what} reads the {reads}, which this phase cannot see"
            )),
        }
        };
        Ok(match self {
            Self::Header(h) => {
                let name_field = format!("{field}.header.name");
                let name = match phase {
                    Phase::Request => config::readable_request_header(&name_field, &h.name)?,
                    Phase::Response => config::header_name(&name_field, &h.name)?,
                };
                let test = h.string_test();
                let test = present_or_match(&format!("{field}.header"), h.present, test)?;
                Condition::Header { name, test }
            }
            Self::Metadata(m) => {
                let field = format!("{field}.metadata");
                for (part, value) in [("namespace", &m.namespace), ("key", &m.key)] {
                    let part_field = format!("{field}.{part}");
                    config::bounded_value(&part_field, value, MAX_PATTERN)?;
                    if value.is_empty() {
                        return Err(ConfigError::new(format!("{part_field} must not be empty")));
                    }
                }
                let test = m.string_test();
                Condition::Metadata {
                    namespace: m.namespace.clone(),
                    key: m.key.clone(),
                    test: present_or_match(&field, m.present, test)?,
                }
            }
            Self::Path(m) if sight.request_line() => {
                Condition::Path(m.validate_path(&format!("{field}.path"))?)
            }
            Self::Path(_) => return Err(wrong_phase("path", "request")),
            Self::Method(methods) if sight.request_line() => {
                let list_field = format!("{field}.method");
                config::bounded_list(&list_field, methods.len())?;
                if methods.is_empty() {
                    return Err(ConfigError::new(format!(
                        "{list_field} must name at least one method"
                    )));
                }
                for (i, method) in methods.iter().enumerate() {
                    config::header_name(&format!("{list_field}[{i}]"), method)?;
                }
                Condition::Method(methods.clone())
            }
            Self::Method(_) => return Err(wrong_phase("method", "request")),
            Self::Status(codes) if phase == Phase::Response => {
                let list_field = format!("{field}.status");
                config::bounded_list(&list_field, codes.len())?;
                if let Some(code) = codes.iter().find(|c| !(100..=599).contains(*c)) {
                    return Err(ConfigError::invalid(
                        &list_field,
                        "must hold HTTP status codes (100..599)",
                        u32::from(*code),
                    ));
                }
                if codes.is_empty() {
                    return Err(ConfigError::new(format!(
                        "{list_field} must name at least one status"
                    )));
                }
                Condition::Status(codes.clone())
            }
            Self::Status(_) => return Err(wrong_phase("status", "response")),
            Self::Not(inner) if depth < MAX_NOT_DEPTH => Condition::Not(Box::new(
                inner.validate_at(&format!("{field}.not"), sight, depth + 1)?,
            )),
            Self::Not(_) => {
                return Err(ConfigError::new(format!(
                    "{field}: `not` nests at most {MAX_NOT_DEPTH} deep"
                )))
            }
        })
    }
}

/// What conditions checked in a phase can see: that phase's headers, and in the response phase
/// the request's `:path` and `:method` only when the filter kept them from its request phase
/// (its module is entered for both phases: the bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sight {
    pub phase: Phase,
    /// The response phase sees the request's `:path` and `:method` (kept from the request).
    pub kept_request_line: bool,
    /// The module sees the response body (it exports `proxy_on_response_body`), so an
    /// operation may replace it.
    pub replaces_body: bool,
}

impl Sight {
    /// What `phase` sees on its own.
    pub fn of(phase: Phase) -> Self {
        Self {
            phase,
            kept_request_line: false,
            replaces_body: false,
        }
    }

    fn request_line(self) -> bool {
        self.phase == Phase::Request || self.kept_request_line
    }
}

/// Validates a `when` list checked in `phase`; `field` is its path (`operations[2].when`).
pub fn validate_all(
    field: &str,
    when: &[ConditionConfig],
    phase: Phase,
) -> Result<Vec<Condition>, ConfigError> {
    validate_all_in(field, when, Sight::of(phase))
}

/// [`validate_all`] for what `sight` sees.
pub fn validate_all_in(
    field: &str,
    when: &[ConditionConfig],
    sight: Sight,
) -> Result<Vec<Condition>, ConfigError> {
    config::bounded_list(field, when.len())?;
    when.iter()
        .enumerate()
        .map(|(i, c)| c.validate_at(&format!("{field}[{i}]"), sight, 0))
        .collect()
}

/// The most automaton states the Lua patterns of one configuration may hold together (literal
/// patterns, searched as strings, hold none). A pattern costs its states for every byte of the
/// value it tests, on every request that reaches it: 512 states over a 60 KiB path is the most
/// one request can make a configuration's patterns do (Lua backtracks where this does not, so
/// the bound is on states, not on backtracking).
pub const MAX_AUTOMATON_ITEMS: usize = 512;

/// The automaton states of every Lua pattern in `conditions`.
pub fn automaton_items(conditions: &[Condition]) -> usize {
    conditions
        .iter()
        .map(|c| match c {
            Condition::Header {
                test: HeaderTest::Matches(m),
                ..
            }
            | Condition::Metadata {
                test: HeaderTest::Matches(m),
                ..
            }
            | Condition::Path(m) => m.automaton_items(),
            Condition::Not(inner) => automaton_items(core::slice::from_ref(inner.as_ref())),
            _ => 0,
        })
        .sum()
}

/// Refuses a configuration whose Lua patterns hold more than [`MAX_AUTOMATON_ITEMS`] states
/// together; `field` names where they are.
pub fn bound_pattern_work(field: &str, items: usize) -> Result<(), ConfigError> {
    if items > MAX_AUTOMATON_ITEMS {
        return Err(ConfigError::new(format!(
            "{field}: the Lua patterns hold {items} states together, more than {MAX_AUTOMATON_ITEMS}: each costs its states for every byte it reads on every request; write literal tests (searched as strings), or fewer patterns"
        )));
    }
    Ok(())
}

/// Whether any of `conditions` reads the request's `:path` or `:method`.
pub fn reads_request_line(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::Path(_) | Condition::Method(_) => true,
        Condition::Not(inner) => reads_request_line(core::slice::from_ref(inner.as_ref())),
        Condition::Header { .. } | Condition::Metadata { .. } | Condition::Status(_) => false,
    })
}

impl Condition {
    /// Whether the condition holds; `phase` is the phase it is checked in (header maps).
    pub fn holds(&self, context: &mut impl Context, phase: Phase) -> bool {
        match self {
            Self::Header { name, test } => {
                let value = context.header(phase, name);
                match test {
                    HeaderTest::Present(present) => value.is_some() == *present,
                    HeaderTest::Matches(m) => value.is_some_and(|v| m.test(&v)),
                }
            }
            Self::Metadata {
                namespace,
                key,
                test,
            } => match test {
                HeaderTest::Present(present) => {
                    context.route_metadata_truthy(namespace, key) == *present
                }
                HeaderTest::Matches(m) => context
                    .route_metadata(namespace, key)
                    .is_some_and(|v| m.test(&v)),
            },
            Self::Path(m) => context
                .header(Phase::Request, ":path")
                .is_some_and(|p| m.test(url_path(&p))),
            Self::Method(methods) => context
                .header(Phase::Request, ":method")
                .is_some_and(|m| methods.iter().any(|want| want.as_bytes() == m.as_slice())),
            Self::Status(codes) => context
                .header(Phase::Response, ":status")
                .and_then(|s| {
                    core::str::from_utf8(&s)
                        .ok()
                        .and_then(|s| s.parse::<u16>().ok())
                })
                .is_some_and(|s| codes.contains(&s)),
            Self::Not(inner) => !inner.holds(context, phase),
        }
    }
}

/// Whether every condition holds (an empty list always does).
pub fn all_hold(conditions: &[Condition], context: &mut impl Context, phase: Phase) -> bool {
    conditions.iter().all(|c| c.holds(context, phase))
}

#[cfg(test)]
mod tests;
