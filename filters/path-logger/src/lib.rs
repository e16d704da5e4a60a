#![doc = include_str!("../README.md")]

pub mod config;
pub mod template;

use config::{Level, Settings};
use moonshift_kit::host::{self, LogLevel, Map};
use moonshift_kit::{Action, Filter};
use moonshift_shared::headers::lua_get;
use template::Needs;

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
        let message = match settings.template.needs() {
            Needs::Nothing => settings.template.render(|_| None),
            // One host call per pseudo-header instead of copying the whole map.
            Needs::PseudoHeaders => settings.template.render(|name| Map::Request.get(name)),
            Needs::HeaderMap => {
                let headers = Map::Request.all();
                settings.template.render(|name| lua_get(&headers, name))
            }
        };
        host::log(log_level(settings.level), &message);
        Action::Continue
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
