#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std in tests and the tools' features.
#![cfg_attr(not(any(test, feature = "schema")), no_std)]

extern crate alloc;

pub mod config;

use alloc::string::String;
use alloc::vec::Vec;
use moonshift_kit::{Action, Filter};
use moonshift_shared::operations::{self, Operation};
use moonshift_shared::template::Phase;

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
        Ok(Self {
            operations: config::parse(config)?,
        })
    }

    /// Runs on upstream responses and on local replies alike, as Lua's `envoy_on_response` does.
    fn on_response_headers(&self, _stream: &mut ()) -> Action {
        operations::apply(&self.operations, Phase::Response, Self::NAME);
        Action::Continue
    }
}
