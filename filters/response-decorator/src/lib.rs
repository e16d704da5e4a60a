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
use moonshift_kit::{Action, Filter, Phases};
use moonshift_shared::operations::{self, Operation};
use moonshift_shared::stream::RequestLine;
use moonshift_shared::template::Phase;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(ResponseDecorator, [response_headers, response_body]);

/// The plugin: the operations, in order.
#[derive(Debug)]
pub struct ResponseDecorator {
    operations: Vec<Operation>,
    /// Some operation's conditions read the request's `:path` or `:method`: the request phase
    /// keeps them (only in a module entered for both phases: the bundle).
    keeps_request_line: bool,
}

impl Filter for ResponseDecorator {
    const NAME: &'static str = "response-decorator";
    /// The request line, kept when a condition reads it.
    type Stream = Option<RequestLine>;

    /// In its own module, which is entered only for the response.
    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        Self::configure_in(config, Phases::RESPONSE)
    }

    /// Conditions on the request's path or method are accepted where the module is entered for
    /// the request too (the bundle); in response-decorator's own module they are refused.
    fn configure_in(config: Option<&[u8]>, module: Phases) -> Result<Self, String> {
        let operations = config::parse_in(config, module.request, module.response_body)?;
        Ok(Self {
            keeps_request_line: operations::read_request_line(&operations),
            operations,
        })
    }

    /// Only in a module entered for the request (the bundle), and only when a condition reads
    /// the request line: two host calls.
    fn on_request_headers(&self, stream: &mut Self::Stream) -> Action {
        if self.keeps_request_line {
            *stream = Some(RequestLine::read());
        }
        Action::Continue
    }

    /// Runs on upstream responses and on local replies alike, as Lua's `envoy_on_response` does.
    fn on_response_headers(&self, stream: &mut Self::Stream) -> Action {
        operations::apply_seeing(&self.operations, Phase::Response, Self::NAME, stream.take());
        Action::Continue
    }

    fn keeps(&self, stream: &Self::Stream) -> bool {
        stream.is_some()
    }
}
