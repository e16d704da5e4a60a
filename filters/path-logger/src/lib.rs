#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod config;

use alloc::string::String;
use config::{Level, Line, Settings};
use moonshift_kit::host::{self, LogLevel};
use moonshift_kit::{Action, Filter};
use moonshift_shared::clock;
use moonshift_shared::condition;
use moonshift_shared::stream::Live;
use moonshift_shared::template::{Budget, Phase};

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(PathLogger, [request_headers, response_headers], per_stream);

/// The plugin: its validated settings.
#[derive(Debug)]
pub struct PathLogger {
    settings: Settings,
    /// Whether the response line renders `%RESPONSE_DURATION%`, so the request records its start.
    timed: bool,
}

impl Filter for PathLogger {
    const NAME: &'static str = "path-logger";
    /// When the request's headers came (ms since the epoch), for `%RESPONSE_DURATION%`.
    type Stream = Option<u64>;

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        let settings = config::parse(config)?;
        let timed = settings
            .response
            .as_ref()
            .is_some_and(|line| line.template.is_timed());
        Ok(Self { settings, timed })
    }

    fn on_request_headers(&self, started: &mut Option<u64>) -> Action {
        // Pseudo-headers one host call each; a regular header copies the map once (to join
        // repeated values as Lua's `get` does).
        if let Some(line) = &self.settings.request {
            log(line, &mut Live::default(), Phase::Request);
        }
        if self.timed {
            *started = Some(clock::epoch_millis(host::now()));
        }
        Action::Continue
    }

    /// Runs on upstream responses and on local replies of the filters after this one.
    fn on_response_headers(&self, started: &mut Option<u64>) -> Action {
        if let Some(line) = &self.settings.response {
            log(line, &mut Live::since(*started), Phase::Response);
        }
        Action::Continue
    }

    /// Only a response line with `%RESPONSE_DURATION%` needs the request's start.
    fn keeps(&self, started: &Option<u64>) -> bool {
        started.is_some()
    }
}

/// What a missing source renders as: `-`, as in Envoy's access logs. The Lua it replaces
/// raises instead (`"..." .. nil`); see the README, "Known differences".
pub const MISSING: &[u8] = b"-";

/// Logs `line` when its conditions hold in `phase`. Below Envoy's level for Wasm logs
/// (`proxy_get_log_level`, asked each time: a level changed at runtime holds at once) the line
/// would be dropped, so nothing of it is read or rendered: one host call instead of two or
/// more, in the common case of an Istio sidecar at its default level, `warning`.
fn log(line: &Line, live: &mut Live, phase: Phase) {
    let level = log_level(line.level);
    if host::log_level().is_ok_and(|envoys| level < envoys) {
        return;
    }
    if condition::all_hold(&line.when, live, phase) {
        let message = line
            .template
            .render(live, MISSING, &mut Budget::per_phase());
        host::log(level, &message);
    }
}

fn log_level(level: Level) -> LogLevel {
    match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
        Level::Critical => LogLevel::Critical,
    }
}
