#![doc = include_str!("../README.md")]

pub mod config;

use config::{Action, Operation};
use moonshift_kit::host::Map;
use moonshift_kit::Filter;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(ResponseDecorator, [response_headers]);

/// The plugin: the operations, in order.
#[derive(Debug)]
pub struct ResponseDecorator {
    operations: Vec<Operation>,
}

impl Filter for ResponseDecorator {
    const NAME: &'static str = "response-decorator";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        config::parse(config)
            .map(|operations| Self { operations })
            .map_err(|e| e.to_string())
    }

    /// Runs on upstream responses and on local replies alike, as Lua's `envoy_on_response` does.
    fn on_response_headers(&self, _stream: &mut ()) -> moonshift_kit::Action {
        let headers = Map::Response;
        for op in &self.operations {
            let name = op.name.as_str();
            let done = match op.action {
                Action::Add => headers.add(name, op.value.as_bytes()),
                Action::Set => headers.replace(name, op.value.as_bytes()),
                Action::Remove => headers.remove(name),
            };
            if let Err(status) = done {
                log::warn!("response-decorator: {name}: the host refused the change: {status}");
            }
        }
        moonshift_kit::Action::Continue
    }
}
