#![doc = include_str!("../README.md")]

pub mod config;

use config::{Action, Operation};
use moonshift_shared::host::Plugin;
use moonshift_shared::ConfigError;
use proxy_wasm::traits::{Context, HttpContext};
use std::rc::Rc;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
proxy_wasm::main! {{
    moonshift_shared::host::start::<ResponseDecorator>();
}}

/// The plugin: the operations, in order.
#[derive(Debug)]
pub struct ResponseDecorator {
    operations: Vec<Operation>,
}

impl Plugin for ResponseDecorator {
    const NAME: &'static str = "response-decorator";

    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError> {
        config::parse(config).map(|operations| Self { operations })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> Box<dyn HttpContext> {
        Box::new(Stream {
            plugin: Rc::clone(plugin),
        })
    }
}

struct Stream {
    plugin: Rc<ResponseDecorator>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    /// Runs on upstream responses and on local replies alike, as Lua's `envoy_on_response` does.
    fn on_http_response_headers(
        &mut self,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> proxy_wasm::types::Action {
        for op in &self.plugin.operations {
            let name = op.name.as_str();
            match op.action {
                Action::Add => self.add_http_response_header(name, &op.value),
                Action::Set => self.set_http_response_header(name, Some(&op.value)),
                Action::Remove => self.set_http_response_header(name, None),
            }
        }
        proxy_wasm::types::Action::Continue
    }
}
