#![doc = include_str!("../README.md")]

pub mod config;

use config::{Level, Settings};
use moonshift_kit::host::{self, LogLevel};
use moonshift_kit::{Action, Filter};
use moonshift_shared::stream::Live;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(PathLogger, [request_headers]);

/// The plugin: its validated settings.
#[derive(Debug)]
pub struct PathLogger {
    settings: Settings,
}

impl Filter for PathLogger {
    const NAME: &'static str = "path-logger";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        config::parse(config)
            .map(|settings| Self { settings })
            .map_err(|e| e.to_string())
    }

    fn on_request_headers(&self, _stream: &mut ()) -> Action {
        let settings = &self.settings;
        // Pseudo-headers one host call each; a regular header copies the map once (to join
        // repeated values as Lua's `get` does).
        let message = settings.template.render(&mut Live::default(), MISSING);
        host::log(log_level(settings.level), &message);
        Action::Continue
    }
}

/// What a missing source renders as: `-`, as in Envoy's access logs. The Lua it replaces
/// raises instead (`"..." .. nil`); see the README, "Known differences".
pub const MISSING: &[u8] = b"-";

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
