#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod config;

use alloc::string::String;
use alloc::vec::Vec;
use moonshift_kit::{Action, Filter};
use moonshift_shared::operations::{self, Operation};
use moonshift_shared::template::Phase;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(RequestDecorator, [request_headers]);

/// The plugin: the operations, in order.
#[derive(Debug)]
pub struct RequestDecorator {
    operations: Vec<Operation>,
}

impl Filter for RequestDecorator {
    const NAME: &'static str = "request-decorator";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        Ok(Self {
            operations: config::parse(config)?,
        })
    }

    fn on_request_headers(&self, _stream: &mut ()) -> Action {
        operations::apply(&self.operations, Phase::Request, Self::NAME);
        Action::Continue
    }
}
