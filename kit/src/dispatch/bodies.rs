//! The response body a filter replaces ([`crate::body`]): the header phase that may ask for
//! one, and `proxy_on_response_body`, which buffers the upstream's body and swaps it at its end.

use super::Plugins;
use crate::filter::{Action, Filter};
use crate::host::{self, LogLevel};

impl<F: Filter, const PER_STREAM: bool> Plugins<F, PER_STREAM> {
    /// The response phase of stream `context_id`, and a body it replaces when one follows
    /// (`end_of_stream` 0).
    pub fn response_with_body(&self, context_id: u32, end_of_stream: u32) -> u32 {
        crate::body::begin(end_of_stream == 0);
        let action = self.response(context_id);
        if let Some(body) = crate::body::take() {
            if let Ok(mut bodies) = self.bodies.try_borrow_mut() {
                bodies.insert(context_id, body);
            }
        }
        action
    }

    /// `proxy_on_response_body`: the upstream's body is buffered to its end, then replaced by
    /// the one the header phase rendered; a stream with none passes through.
    pub fn response_body(&self, context_id: u32, size: usize, end_of_stream: u32) -> u32 {
        let waiting = self
            .bodies
            .try_borrow()
            .is_ok_and(|bodies| bodies.get(context_id).is_some());
        if !waiting {
            return Action::Continue as u32;
        }
        if end_of_stream == 0 {
            // StopIterationAndBuffer: Envoy keeps the chunks until the body ends.
            return Action::Pause as u32;
        }
        let body = self
            .bodies
            .try_borrow_mut()
            .ok()
            .and_then(|mut bodies| bodies.take(context_id));
        if let Some(body) = body {
            if crate::abi::set_buffer_bytes(crate::body::RESPONSE_BODY, 0, size, &body).is_err() {
                host::log(
                    LogLevel::Warn,
                    b"the response body could not be replaced: the host refused it",
                );
            }
        }
        Action::Continue as u32
    }
}
