//! Every filter in one module, and the pipeline that chains them in one plugin. Envoy picks a
//! filter by the plugin's `root_id` (the filter's name, as in `filters/`, or `pipeline` with a
//! list of filters as its configuration); give several
//! plugins the same `vm_config` (same `vm_id`, same code) and they share one VM per worker instead
//! of one VM each.

// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(
        target_arch = "wasm32",
        not(any(test, feature = "schema", feature = "host"))
    ),
    no_std
)]

extern crate alloc;

pub mod pipeline;
#[cfg(feature = "schema")]
pub mod schema;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;
use moonshift_kit::{host, Action, DynFilter, Filter, Phases};

#[cfg(target_arch = "wasm32")]
moonshift_kit::export_filter!(Bundle, [request_headers, response_headers], per_stream);

/// The filters, by `root_id`: the one list the bundle holds. A line names the filter's type
/// and its configuration's type, by their paths in the filter's crate, so that a filter is
/// registered by its line alone (with its crate in `Cargo.toml`, which a test checks).
pub(crate) const FILTERS: &[Member] = &[
    member!(
        timestamp_header::TimestampHeader,
        timestamp_header::config::Config,
        clock = timestamp_header::config::clock_headers
    ),
    member!(path_logger::PathLogger, path_logger::config::Config),
    member!(
        local_ratelimit::LocalRateLimit,
        local_ratelimit::config::Config,
        native = local_ratelimit::native::equivalent
    ),
    member!(
        response_decorator::ResponseDecorator,
        response_decorator::config::Config
    ),
    member!(
        request_decorator::RequestDecorator,
        request_decorator::config::Config
    ),
    member!(local_reply::LocalReply, local_reply::config::Config),
    member!(api_key_auth::ApiKeyAuth, api_key_auth::config::Config),
];

/// Builds a member from its configuration; the `usize` is its place in a pipeline, if in one.
pub type Build = fn(Option<&[u8]>, Option<usize>) -> Result<Box<dyn DynFilter>, String>;

/// Envoy's own filter doing what a configuration does on a number of workers: an HTTP filter
/// entry, or why there is none.
#[cfg(feature = "host")]
pub type Native = fn(Option<&serde_json::Value>, usize) -> Result<serde_json::Value, String>;

/// The request headers a configuration writes with the clock, each with its format.
#[cfg(feature = "host")]
pub type ClockHeaders = fn(Option<&[u8]>) -> Vec<(String, moonshift_shared::strftime::Format)>;

/// A filter the bundle holds.
#[allow(missing_debug_implementations)]
pub struct Member {
    /// Its `root_id`: the filter's `NAME`.
    pub name: &'static str,
    /// Builds it from its configuration, with its own validation, as this module runs it
    /// (entered for both phases).
    pub build: Build,
    /// Checks a configuration as the filter's own module does (entered only for the phases it
    /// exports): what `moonshift validate <filter>` says.
    #[cfg(feature = "host")]
    pub check_own: fn(Option<&[u8]>) -> Result<(), String>,
    /// Its configuration's JSON Schema, derived from its config type.
    #[cfg(feature = "schema")]
    pub schema: fn() -> serde_json::Value,
    /// Its native equivalent, if it has one (feature `host`: the tools').
    #[cfg(feature = "host")]
    pub native: Option<Native>,
    /// The headers it stamps with the clock, if it stamps any (feature `host`).
    #[cfg(feature = "host")]
    pub clock_headers: Option<ClockHeaders>,
}

/// A [`Member`] line: the filter's type, its configuration's type, and what the tools know of
/// it beyond that, in the filter's own crate (`native = ...`, `clock = ...`), where it has any.
macro_rules! member {
    ($filter:ty, $config:ty $(, native = $native:path)? $(, clock = $clock:path)?) => {
        Member {
            name: <$filter as Filter>::NAME,
            build: build::<$filter>,
            #[cfg(feature = "host")]
            check_own: check_own::<$filter>,
            #[cfg(feature = "schema")]
            schema: moonshift_shared::config::schema::<$config>,
            #[cfg(feature = "host")]
            native: member!(@optional $($native)?),
            #[cfg(feature = "host")]
            clock_headers: member!(@optional $($clock)?),
        }
    };
    (@optional $function:path) => {
        Some($function)
    };
    (@optional) => {
        None
    };
}
use member;

fn build<F: Filter>(
    config: Option<&[u8]>,
    member: Option<usize>,
) -> Result<Box<dyn DynFilter>, String> {
    // The bundle exports both phases: each filter is entered for both, whatever it uses.
    let module = Phases {
        member,
        ..Phases::BOTH
    };
    F::configure_in(config, module).map(|filter| Box::new(filter) as Box<dyn DynFilter>)
}

/// Envoy's native equivalent of `filter` with `config` on `workers` workers (an HTTP filter
/// entry), or why there is none: the filter's own translation, where its crate has one.
#[cfg(feature = "host")]
pub fn native(
    filter: &str,
    config: Option<&serde_json::Value>,
    workers: usize,
) -> Result<serde_json::Value, String> {
    match FILTERS.iter().find(|member| member.name == filter) {
        Some(Member {
            native: Some(native),
            ..
        }) => native(config, workers),
        _ => Err(format!("{filter} has no native equivalent")),
    }
}

/// The request headers `filter` with `config` stamps with the clock, each with its format.
#[cfg(feature = "host")]
pub fn clock_headers(
    filter: &str,
    config: Option<&[u8]>,
) -> Vec<(String, moonshift_shared::strftime::Format)> {
    FILTERS
        .iter()
        .find(|member| member.name == filter)
        .and_then(|member| member.clock_headers)
        .map_or_else(Vec::new, |clock| clock(config))
}

/// The filters this module holds, by name.
pub fn filter_names() -> impl Iterator<Item = &'static str> {
    FILTERS.iter().map(|member| member.name)
}

/// The plugin `root_id` names, built from `config` with the filter's own validation: what the
/// module does in `proxy_on_configure`, callable on the host (`moonshift validate`).
/// The error is the filter's own message, prefixed with its name for a filter (the bundle's
/// log line) and as it is for the pipeline, whose messages name their place.
pub fn configure(root_id: &str, config: Option<&[u8]>) -> Result<Box<dyn DynFilter>, String> {
    match build_filter(root_id, config) {
        Err(error)
            if root_id != pipeline::Pipeline::NAME
                && FILTERS.iter().any(|member| member.name == root_id) =>
        {
            Err(format!("{root_id}: {error}"))
        }
        other => other,
    }
}

/// Whether the filter's own module accepts `config`: [`Filter::configure`], for the phases it
/// exports (where [`build`] configures it for both).
#[cfg(feature = "host")]
fn check_own<F: Filter>(config: Option<&[u8]>) -> Result<(), String> {
    F::configure(config).map(drop)
}

/// `filter` (a filter's name) with `config`, as the filter's own module (its image) refuses or
/// accepts it: what `moonshift validate <filter>` says. `pipeline` is the bundle's own.
#[cfg(feature = "host")]
pub fn build_in_own_module(filter: &str, config: Option<&[u8]>) -> Result<(), String> {
    match FILTERS.iter().find(|member| member.name == filter) {
        Some(member) => (member.check_own)(config),
        None => build_filter(filter, config).map(|_| ()),
    }
}

/// [`configure`] with the filter's message as its own module logs it (no name prefix).
pub fn build_filter(root_id: &str, config: Option<&[u8]>) -> Result<Box<dyn DynFilter>, String> {
    if root_id == pipeline::Pipeline::NAME {
        return pipeline::configure(config, FILTERS).map(|p| Box::new(p) as Box<dyn DynFilter>);
    }
    let Some(member) = FILTERS.iter().find(|member| member.name == root_id) else {
        let names: Vec<&str> = filter_names().collect();
        return Err(format!(
            "no filter has root_id {}; use one of {} or pipeline",
            moonshift_shared::json::quote(root_id),
            names.join(", ")
        ));
    };
    (member.build)(config, None)
}

/// One plugin: the filter its `root_id` names.
#[allow(missing_debug_implementations)]
pub struct Bundle {
    filter: Box<dyn DynFilter>,
}

impl Filter for Bundle {
    const NAME: &'static str = "moonshift-bundle";
    /// The chosen filter's own stream state, when its request phase kept one.
    type Stream = Option<Box<dyn Any>>;

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        let root_id = host::property(&["plugin_root_id"]).unwrap_or_default();
        configure(&String::from_utf8_lossy(&root_id), config).map(|filter| Self { filter })
    }

    /// The filter the `root_id` names (`pipeline`, `local-reply`, ...), when it names one.
    fn counted_as(root_id: &[u8]) -> String {
        let root_id = String::from_utf8_lossy(root_id);
        match filter_names()
            .chain([pipeline::Pipeline::NAME])
            .find(|n| *n == root_id)
        {
            Some(name) => String::from(name),
            None => String::from(Self::NAME),
        }
    }

    fn on_request_headers(&self, stream: &mut Self::Stream) -> Action {
        let (action, kept) = self.filter.request();
        *stream = kept;
        action
    }

    fn on_response_headers(&self, stream: &mut Self::Stream) -> Action {
        self.filter.response(stream.as_mut())
    }

    /// What the chosen filter keeps: a stateless filter's streams are never stored.
    fn keeps(&self, stream: &Self::Stream) -> bool {
        stream.is_some()
    }
}

/// What the tools read of the filters through the one list: only a filter whose crate has a
/// native equivalent or clock headers gives one.
#[cfg(all(test, feature = "host"))]
mod host_facts {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn natives_and_clock_headers_come_from_the_filters_that_have_them() {
        let have_native: Vec<&str> = super::filter_names()
            .filter(|f| super::native(f, None, 1).is_ok())
            .collect();
        assert_eq!(have_native, ["local-ratelimit"]);
        assert_eq!(
            super::native("path-logger", None, 1),
            Err("path-logger has no native equivalent".into())
        );
        let stamping: Vec<(&str, Vec<String>)> = super::filter_names()
            .map(|f| {
                (
                    f,
                    super::clock_headers(f, None)
                        .into_iter()
                        .map(|(h, _)| h)
                        .collect(),
                )
            })
            .filter(|(_, headers): &(&str, Vec<String>)| !headers.is_empty())
            .collect();
        assert_eq!(
            stamping,
            [("timestamp-header", vec!["x-request-timestamp".to_string()])]
        );
        let configured = super::clock_headers("timestamp-header", Some(br#"{"header": "X-At"}"#));
        assert_eq!(configured.first().map(|(h, _)| h.as_str()), Some("x-at"));
        assert!(super::clock_headers("timestamp-header", Some(b"{\"nope\": 1}")).is_empty());
    }
}

#[cfg(test)]
mod tests {
    /// The bundle's one registration line per filter and the folders of `filters/` must agree:
    /// a new filter's folder without its line here (or a line without a folder) fails.
    #[test]
    fn every_filter_folder_is_registered_and_nothing_else() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
        let mut folders: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let mut registered: Vec<String> = super::filter_names().map(str::to_string).collect();
        registered.sort();
        assert_eq!(registered, folders);
    }

    /// What Cargo cannot derive from the folders: each filter's crate in the workspace's
    /// dependencies and in this crate's, and its `schema` feature in this crate's. A missing
    /// line fails here, naming the line to add.
    #[test]
    fn every_filter_crate_is_a_dependency_with_its_schema() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap();
        let workspace = read(&here.join("../Cargo.toml"));
        let bundle = read(&here.join("Cargo.toml"));
        let mut missing = Vec::new();
        for name in super::filter_names() {
            let lines = [
                (
                    "Cargo.toml [workspace.dependencies]",
                    &workspace,
                    format!("{name} = {{ path = \"filters/{name}\", default-features = false }}"),
                ),
                (
                    "bundle/Cargo.toml [dependencies]",
                    &bundle,
                    format!("{name}.workspace = true"),
                ),
                (
                    "bundle/Cargo.toml [features] schema",
                    &bundle,
                    format!("\"{name}/schema\","),
                ),
            ];
            for (place, text, line) in lines {
                if !text.lines().any(|l| l.trim() == line) {
                    missing.push(format!("{place}: {line}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "add these lines:\n{}",
            missing.join("\n")
        );
    }
}
