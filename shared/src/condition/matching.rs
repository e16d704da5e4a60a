//! String tests: `exact`, `prefix`, `suffix`, `contains`, `lua_pattern` and `regex`, as written
//! in a header, metadata or path condition, and validated into a [`Match`] once, at configure time.

use crate::config::{self, ConfigError};
use crate::lua_pattern::LuaPattern;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use serde::Deserialize;

#[cfg(feature = "regex")]
use super::regex;

/// Declares a test as written: its own fields, then the six string tests (one list of them for
/// every kind of test), with [`MatchConfig`] read out of them by `string_test`.
macro_rules! with_string_tests {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
        #[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(pub $field: $ty,)*
            pub exact: Option<String>,
            pub prefix: Option<String>,
            pub suffix: Option<String>,
            pub contains: Option<String>,
            pub lua_pattern: Option<String>,
            pub regex: Option<String>,
        }

        impl $name {
            /// The string test among the fields (all `None` when there is none).
            pub fn string_test(&self) -> MatchConfig {
                MatchConfig {
                    exact: self.exact.clone(),
                    prefix: self.prefix.clone(),
                    suffix: self.suffix.clone(),
                    contains: self.contains.clone(),
                    lua_pattern: self.lua_pattern.clone(),
                    regex: self.regex.clone(),
                }
            }
        }
    };
}

with_string_tests! {
    /// A string test as written (a path test, an exemption).
    MatchConfig {}
}

with_string_tests! {
    /// A header test as written: `name` and either `present` or one string test.
    HeaderMatchConfig { name: String, present: Option<bool> }
}

with_string_tests! {
    /// A route-metadata test as written: the route's `filter_metadata[namespace][key]`, and
    /// either `present` (Lua's `if metadata:get(key) then`: any value but `false` and `null`) or one
    /// string test (a string value only, as `metadata:get(key) == "v"`).
    MetadataMatchConfig { namespace: String, key: String, present: Option<bool> }
}

/// The longest pattern a condition may hold.
pub const MAX_PATTERN: usize = 1024;
/// A validated string test.
#[derive(Debug, Clone)]
pub enum Match {
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Suffix(Vec<u8>),
    Contains(Vec<u8>),
    /// A `lua_pattern`: found anywhere, as `string.find` finds it.
    LuaPattern(Box<LuaPattern>),
    /// A `regex`, anchored at both ends.
    #[cfg(feature = "regex")]
    Regex(Box<regex::Compiled>),
}

impl Match {
    pub fn test(&self, value: &[u8]) -> bool {
        match self {
            Self::Exact(want) => value == want.as_slice(),
            Self::Prefix(want) => value.starts_with(want),
            Self::Suffix(want) => value.ends_with(want),
            Self::Contains(want) => {
                want.is_empty() || value.windows(want.len()).any(|w| w == want.as_slice())
            }
            Self::LuaPattern(pattern) => pattern.find(value),
            #[cfg(feature = "regex")]
            Self::Regex(compiled) => compiled.is_match(value),
        }
    }
}

impl MatchConfig {
    /// The one test of a path (a `when` path condition, an exemption): as [`Self::validate`],
    /// and an empty `exact` is refused too, since no path is empty.
    pub fn validate_path(&self, field: &str) -> Result<Match, ConfigError> {
        if self.exact.as_deref() == Some("") {
            return Err(ConfigError::new(format!(
                "{field}.exact must not be empty: a path starts with /"
            )));
        }
        self.validate(field)
    }

    /// The one string test; `field` is where it sits (`when[0].path`).
    pub fn validate(&self, field: &str) -> Result<Match, ConfigError> {
        let given: Vec<(&str, &String)> = [
            ("exact", &self.exact),
            ("prefix", &self.prefix),
            ("suffix", &self.suffix),
            ("contains", &self.contains),
            ("lua_pattern", &self.lua_pattern),
            ("regex", &self.regex),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
        .collect();
        let [(kind, value)] = given.as_slice() else {
            return Err(ConfigError::new(format!(
                "{field} must hold exactly one of exact, prefix, suffix, contains, lua_pattern, regex, got {}",
                if given.is_empty() { "none".to_string() } else { given.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ") }
            )));
        };
        let field = format!("{field}.{kind}");
        config::bounded_value(&field, value, MAX_PATTERN)?;
        // An empty prefix, suffix, substring or pattern matches every value: what a templated
        // Helm value left blank produces, and, in an exemption, an open door. Native
        // `StringMatcher` refuses them too. An empty `exact` matches only an empty value.
        if value.is_empty() && *kind != "exact" {
            return Err(ConfigError::new(format!(
                "{field} must not be empty: an empty {kind} matches every value"
            )));
        }
        let bytes = value.as_bytes().to_vec();
        Ok(match *kind {
            "exact" => Match::Exact(bytes),
            "prefix" => Match::Prefix(bytes),
            "suffix" => Match::Suffix(bytes),
            "contains" => Match::Contains(bytes),
            "lua_pattern" => {
                let pattern = LuaPattern::parse(value.as_bytes()).map_err(|why| {
                    ConfigError::invalid(
                        &field,
                        &format!("must be a Lua pattern with a regex equivalent: {why}"),
                        value.as_str(),
                    )
                })?;
                Match::LuaPattern(Box::new(pattern))
            }
            #[cfg(feature = "regex")]
            _ => Match::Regex(regex::compile(&field, &format!("^(?:{value})$"))?),
            #[cfg(not(feature = "regex"))]
            _ => {
                return Err(ConfigError::new(format!(
                    "{field} needs a module built with the `regex` feature, which this one is not; write the test as a lua_pattern"
                )))
            }
        })
    }
}

/// The path without its query and fragment: what a path test sees, as RBAC's `url_path` and
/// Envoy's route `path_separated_prefix` do. A test on the whole `:path`, query included, is a
/// header test on `:path`.
pub fn url_path(path: &[u8]) -> &[u8] {
    match path.iter().position(|&b| b == b'?' || b == b'#') {
        Some(end) => path.get(..end).unwrap_or(path),
        None => path,
    }
}

impl Match {
    /// The automaton states this test runs for each byte it reads (0 but for a non-literal
    /// Lua pattern).
    pub fn automaton_items(&self) -> usize {
        match self {
            Self::LuaPattern(pattern) => pattern.automaton_items(),
            _ => 0,
        }
    }
}
