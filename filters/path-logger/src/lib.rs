#![doc = include_str!("../README.md")]

pub mod config;
pub mod template;

use config::{Level, Settings};
use moonshift_shared::headers::lua_get;
use moonshift_shared::host::{self, Plugin};
use moonshift_shared::ConfigError;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};
use std::rc::Rc;
use template::Needs;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
proxy_wasm::main! {{
    moonshift_shared::host::start::<PathLogger>();
}}

/// The plugin: its validated settings.
#[derive(Debug)]
pub struct PathLogger {
    settings: Settings,
}

impl Plugin for PathLogger {
    const NAME: &'static str = "path-logger";

    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError> {
        config::parse(config).map(|settings| Self { settings })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> Box<dyn HttpContext> {
        Box::new(Stream {
            plugin: Rc::clone(plugin),
        })
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

struct Stream {
    plugin: Rc<PathLogger>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let settings = &self.plugin.settings;
        let message = match settings.template.needs() {
            Needs::Nothing => settings.template.render(|_| None),
            // One host call per pseudo-header instead of copying the whole map.
            Needs::PseudoHeaders => settings
                .template
                .render(|name| self.get_http_request_header_bytes(name)),
            Needs::HeaderMap => {
                let headers = self.get_http_request_headers_bytes();
                settings.template.render(|name| lua_get(&headers, name))
            }
        };
        host::log_bytes(log_level(settings.level), &message);
        Action::Continue
    }
}
