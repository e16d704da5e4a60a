//! The pipeline: one plugin whose configuration is an ordered list of `{filter, config}`, run in
//! one VM entry per phase, with the semantics of the same filters chained as separate plugins
//! (docs/envoy.md §3): the request phase in order; the response phase in reverse order; a local
//! reply stops the later filters' request phase and passes back through the filter that sent it
//! and the ones before it only.

use crate::Member;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::any::Any;
use moonshift_kit::{Action, DynFilter, Filter};
use moonshift_shared::json::{self, Json};

/// The most filters one pipeline may hold.
pub const MAX_FILTERS: usize = 16;

#[allow(missing_debug_implementations)]
pub struct Pipeline {
    filters: Vec<Box<dyn DynFilter>>,
}

/// A stream's state: the states its members kept for their response phase (by place; none
/// for a stateless member, so most streams allocate nothing), and how many members ran their
/// request phase (0: the request phase's state was not kept, see `keeps`, so every member ran).
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct Stream {
    kept: Vec<(usize, Box<dyn Any>)>,
    reached: usize,
}

/// Builds the pipeline from `{"filters": [{"filter": NAME, "config": {...}}, ...]}`, each
/// filter's configuration checked by that filter, its errors prefixed with its place.
pub fn configure(config: Option<&[u8]>, members: &[Member]) -> Result<Pipeline, String> {
    let tree = match config.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) {
        Some(bytes) => json::parse(bytes).map_err(|e| e.to_string())?,
        None => return Err("filters is required: a list of {filter, config}".into()),
    };
    let Json::Object(fields) = &tree else {
        return Err("must be an object with a `filters` list".into());
    };
    let mut list = None;
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("filters", Json::Array(items)) => list = Some(items),
            ("filters", _) => return Err("filters must be a list of {filter, config}".into()),
            (other, _) => {
                return Err(format!(
                    "unknown field {}, expected `filters`",
                    json::quote(other)
                ))
            }
        }
    }
    let list = list.ok_or("filters is required: a list of {filter, config}")?;
    if list.is_empty() || list.len() > MAX_FILTERS {
        return Err(format!(
            "filters must hold 1 to {MAX_FILTERS} filters, got {}",
            list.len()
        ));
    }
    let filters = list
        .iter()
        .enumerate()
        .map(|(i, item)| member(i, item, members))
        .collect::<Result<_, _>>()?;
    Ok(Pipeline { filters })
}

fn member(i: usize, item: &Json, members: &[Member]) -> Result<Box<dyn DynFilter>, String> {
    let Json::Object(fields) = item else {
        return Err(format!("filters[{i}] must be an object {{filter, config}}"));
    };
    let (mut name, mut config) = (None, None);
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("filter", Json::Str(s)) => name = Some(s.as_str()),
            ("filter", _) => return Err(format!("filters[{i}].filter must be a string")),
            ("config", value) => config = Some(value.to_text()),
            (other, _) => {
                return Err(format!(
                    "filters[{i}]: unknown field {}, expected `filter` or `config`",
                    json::quote(other)
                ))
            }
        }
    }
    let name = name.ok_or_else(|| format!("filters[{i}].filter is required"))?;
    let Some(member) = members.iter().find(|member| member.name == name) else {
        let names: Vec<&str> = members.iter().map(|member| member.name).collect();
        return Err(format!(
            "filters[{i}].filter must be one of {}, got {}",
            names.join(", "),
            json::quote(name)
        ));
    };
    (member.build)(config.as_deref().map(str::as_bytes), Some(i))
        .map_err(|error| format!("filters[{i}] ({name}): {error}"))
}

impl Filter for Pipeline {
    const NAME: &'static str = "pipeline";
    type Stream = Stream;

    /// The pipeline of the bundle's filters.
    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        configure(config, crate::FILTERS)
    }

    fn on_request_headers(&self, stream: &mut Stream) -> Action {
        for (i, filter) in self.filters.iter().enumerate() {
            stream.reached = i + 1;
            let (action, kept) = filter.request();
            if let Some(state) = kept {
                stream.kept.push((i, state));
            }
            if action == Action::Pause {
                return Action::Pause;
            }
        }
        Action::Continue
    }

    fn on_response_headers(&self, stream: &mut Stream) -> Action {
        let reached = match stream.reached {
            0 => self.filters.len(),
            reached => reached,
        };
        for (i, filter) in self.filters.iter().enumerate().take(reached).rev() {
            let kept = stream.kept.iter_mut().find(|(at, _)| *at == i);
            filter.response(kept.map(|(_, state)| state));
        }
        Action::Continue
    }

    /// Kept when a local reply stopped the request phase (the response passes back only
    /// through the filters before it) or a member kept its own state; otherwise the response
    /// phase starts afresh, every filter having run.
    fn keeps(&self, stream: &Stream) -> bool {
        stream.reached < self.filters.len() || !stream.kept.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(config: &str) -> String {
        match configure(Some(config.as_bytes()), crate::FILTERS) {
            Ok(_) => "accepted".into(),
            Err(error) => error,
        }
    }

    /// When the pipeline's stream state is kept for the response phase.
    #[test]
    fn kept_only_after_a_local_reply_or_when_a_member_keeps() {
        let stateless = r#"{"filters": [{"filter": "path-logger"}, {"filter": "response-decorator"}, {"filter": "timestamp-header"}]}"#;
        // (configuration, filters whose request phase ran, kept)
        // path-logger keeps the request's start when its response line has the duration.
        let keeping = r#"{"filters": [{"filter": "timestamp-header"}, {"filter": "path-logger", "config": {"response": {"message": "%RESPONSE_DURATION%"}}}]}"#;
        let cases = [
            (stateless, 3, false),
            (stateless, 2, true),
            (stateless, 1, true),
            (keeping, 2, true),
            (keeping, 1, true),
        ];
        for (config, reached, kept) in cases {
            let Ok(pipeline) = configure(Some(config.as_bytes()), crate::FILTERS) else {
                panic!("{config} is accepted");
            };
            let mut stream = Stream {
                kept: Vec::new(),
                reached,
            };
            if reached == pipeline.filters.len() {
                // The members' request phase: a stateful member keeps its state then (off
                // Envoy the clock reads 0: still recorded).
                stream = Stream::default();
                Filter::on_request_headers(&pipeline, &mut stream);
                assert_eq!(stream.reached, reached, "{config}");
            }
            assert_eq!(
                Filter::keeps(&pipeline, &stream),
                kept,
                "{config}, {reached} reached"
            );
        }
    }

    #[test]
    fn configurations_refused_with_the_place_named() {
        let cases = [
            ("{}", "filters is required: a list of {filter, config}"),
            (r#"{"filters": []}"#, "filters must hold 1 to 16 filters, got 0"),
            (r#"{"filters": {}}"#, "filters must be a list of {filter, config}"),
            (r#"{"filters": [], "x": 1}"#, "unknown field \"x\", expected `filters`"),
            (r#"{"filters": [1]}"#, "filters[0] must be an object {filter, config}"),
            (r#"{"filters": [{}]}"#, "filters[0].filter is required"),

            (
                r#"{"filters": [{"filter": "path-logger"}, {"filter": "path-logger", "config": {"level": "loud"}}]}"#,
                "filters[1] (path-logger): level: unknown variant `loud`, expected one of `trace`, `debug`, `info`, `warn`, `error`, `critical`",
            ),
            (
                r#"{"filters": [{"filter": "timestamp-header", "cfg": {}}]}"#,
                "filters[0]: unknown field \"cfg\", expected `filter` or `config`",
            ),
            (r#"{"filters": [{"filter": "response-decorator", "config": {}}]}"#, "accepted"),
        ];
        for (config, want) in cases {
            assert_eq!(error_of(config), want, "{config}");
        }
        // Every registered filter is named, in the list's order (no list written here).
        let names: Vec<&str> = crate::filter_names().collect();
        assert_eq!(
            error_of(r#"{"filters": [{"filter": "lua"}]}"#),
            format!(
                "filters[0].filter must be one of {}, got \"lua\"",
                names.join(", ")
            )
        );
        assert!(names.starts_with(&["timestamp-header", "path-logger"]));
        let seventeen = vec![r#"{"filter":"path-logger"}"#; 17].join(",");
        assert_eq!(
            error_of(&format!(r#"{{"filters":[{seventeen}]}}"#)),
            "filters must hold 1 to 16 filters, got 17"
        );
    }
}
