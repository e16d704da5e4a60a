#![doc = include_str!("../README.md")]

pub mod config;
pub mod strftime;

use config::{OnExisting, Settings};
use moonshift_shared::clock;
use moonshift_shared::host::Plugin;
use moonshift_shared::ConfigError;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::cell::RefCell;
use std::rc::Rc;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
proxy_wasm::main! {{
    moonshift_shared::host::start::<TimestampHeader>();
}}

/// The plugin: its validated settings, and the last value rendered (the clock's second and
/// its text), so a second's requests format it once.
#[derive(Debug)]
pub struct TimestampHeader {
    settings: Settings,
    last: RefCell<Option<(u64, String)>>,
}

impl TimestampHeader {
    fn value_at(&self, second: u64) -> String {
        if let Ok(mut last) = self.last.try_borrow_mut() {
            if let Some((cached, text)) = last.as_ref() {
                if *cached == second {
                    return text.clone();
                }
            }
            let text = self.render(second);
            *last = Some((second, text.clone()));
            return text;
        }
        self.render(second)
    }

    fn render(&self, second: u64) -> String {
        self.settings
            .format
            .render(i64::try_from(second).unwrap_or(i64::MAX))
    }
}

impl Plugin for TimestampHeader {
    const NAME: &'static str = "timestamp-header";

    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError> {
        config::parse(config).map(|settings| Self {
            settings,
            last: RefCell::new(None),
        })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> Box<dyn HttpContext> {
        Box::new(Stream {
            plugin: Rc::clone(plugin),
        })
    }
}

struct Stream {
    plugin: Rc<TimestampHeader>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let settings = &self.plugin.settings;
        let value = self
            .plugin
            .value_at(clock::epoch_seconds(self.get_current_time()));
        let header = settings.header.as_str();
        match settings.on_existing {
            OnExisting::Append => self.add_http_request_header(header, &value),
            OnExisting::Replace => self.set_http_request_header(header, Some(&value)),
            OnExisting::Keep => {
                if self.get_http_request_header_bytes(header).is_none() {
                    self.add_http_request_header(header, &value);
                }
            }
        }
        Action::Continue
    }
}
