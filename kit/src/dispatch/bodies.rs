//! The response body a filter replaces ([`crate::body`]): the header phase that may ask for
//! one, and `proxy_on_response_body`, which puts it in place of the upstream's body as that
//! body passes. Nothing is buffered: the new body goes out in place of the upstream's first
//! chunk, and every later chunk is emptied, so a body of any size, sent in any number of chunks,
//! and ended by its last chunk or by trailers, is replaced, and a VM holds no upstream body.

use super::Plugins;
use crate::filter::{Action, Filter};
use crate::host::{self, LogLevel};
use alloc::vec::Vec;

/// A stream whose upstream body is being replaced: the new body until it is written, then
/// `None` (the rest of the upstream's body is dropped).
pub type Waiting = Option<Vec<u8>>;

/// Writes `bytes` in place of the `size` bytes of the chunk Envoy is passing on.
fn write(bytes: &[u8], size: usize) {
    if crate::abi::set_buffer_bytes(crate::body::RESPONSE_BODY, 0, size, bytes).is_err() {
        host::log(
            LogLevel::Warn,
            b"the response body could not be replaced: the host refused it",
        );
    }
}

impl<F: Filter, const PER_STREAM: bool> Plugins<F, PER_STREAM> {
    /// The response phase of stream `context_id`, and a body it replaces when one follows
    /// (`end_of_stream` 0).
    pub fn response_with_body(&self, context_id: u32, end_of_stream: u32) -> u32 {
        crate::body::begin(end_of_stream == 0);
        let action = self.response(context_id);
        if let Some(body) = crate::body::take() {
            if let Ok(mut bodies) = self.bodies.try_borrow_mut() {
                bodies.insert(context_id, Some(body));
            }
        }
        action
    }

    /// `proxy_on_response_body`: the first chunk of a stream with a replacement becomes the new
    /// body, later chunks become empty; the stream's entry goes with its last chunk. A stream
    /// without one passes through. Never a pause: Envoy buffers nothing for the module.
    pub fn response_body(&self, context_id: u32, size: usize, end_of_stream: u32) -> u32 {
        let Ok(mut bodies) = self.bodies.try_borrow_mut() else {
            return Action::Continue as u32;
        };
        if let Some(waiting) = bodies.get_mut(context_id) {
            let bytes = waiting.take().unwrap_or_default();
            write(&bytes, size);
            if end_of_stream != 0 {
                bodies.take(context_id);
            }
        }
        Action::Continue as u32
    }

    /// `proxy_on_response_trailers`: a body followed by trailers ends here, not with a chunk,
    /// and the stream's entry goes. The new body went out with the first chunk. Trailers with no
    /// chunk before them leave nowhere to write it (the ABI gives a module no way to add a body
    /// there): the response keeps no body, as Lua's, whose `body()` is nil there. The header
    /// phase wrote no `content-length` for such a body (only a body framed by one gets one), so
    /// the response stays well framed (docs/envoy.md §11, `tests/tests/replace_body_in_envoy.rs`).
    pub fn response_trailers(&self, context_id: u32) -> u32 {
        if let Ok(mut bodies) = self.bodies.try_borrow_mut() {
            bodies.take(context_id);
        }
        Action::Continue as u32
    }
}
