//! A response body a filter replaces, as a Lua script's `response_handle:body():setBytes(b)`.
//!
//! A module cannot hold the response headers to read the body first (docs/envoy.md §11), so a
//! replacement is decided in the response header phase: the filter renders the new body there,
//! writes `content-length` over the upstream's (as Lua's `setBytes` does; a chunked body has none
//! and stays chunked), and hands the body to [`replace`]. The module's `proxy_on_response_body`
//! (exported with the `response_body` phase) then writes it over the upstream's first chunk and
//! empties the later ones, buffering nothing (`dispatch/bodies.rs`). A response without a body
//! (its headers end the stream) keeps having none: Lua's `body()` gives `nil` there.

use alloc::vec::Vec;
use core::cell::RefCell;

/// The proxy-wasm buffer of the response body.
pub const RESPONSE_BODY: u32 = 1;

/// The response header phase in progress: whether a body follows its headers, and the body a
/// filter asked for.
#[derive(Debug, Default)]
struct Pending {
    body_follows: bool,
    body: Option<Vec<u8>>,
}

#[cfg(all(target_arch = "wasm32", not(test)))]
static PENDING: crate::module::VmLocal<RefCell<Pending>> =
    crate::module::VmLocal(RefCell::new(Pending {
        body_follows: false,
        body: None,
    }));

#[cfg(not(all(target_arch = "wasm32", not(test))))]
std::thread_local! {
    static PENDING: RefCell<Pending> = const { RefCell::new(Pending { body_follows: false, body: None }) };
}

fn with_pending<R>(f: impl FnOnce(&RefCell<Pending>) -> R) -> R {
    #[cfg(all(target_arch = "wasm32", not(test)))]
    return f(&PENDING);
    #[cfg(not(all(target_arch = "wasm32", not(test))))]
    return PENDING.with(f);
}

/// Starts a response header phase: whether a body follows the headers (the module exports
/// `proxy_on_response_body`; otherwise no filter may replace one).
pub fn begin(body_follows: bool) {
    with_pending(|pending| {
        if let Ok(mut slot) = pending.try_borrow_mut() {
            *slot = Pending {
                body_follows,
                body: None,
            };
        }
    });
}

/// Whether the response whose headers are being handled has a body a filter may replace:
/// Lua's `response_handle:body()` is `nil` otherwise.
pub fn follows() -> bool {
    with_pending(|pending| pending.try_borrow().is_ok_and(|slot| slot.body_follows))
}

/// Asks for the current stream's response body to be `body` (the last call of a response
/// header phase wins, as the last `setBytes` does). Only where [`follows`].
pub fn replace(body: Vec<u8>) {
    with_pending(|pending| {
        if let Ok(mut slot) = pending.try_borrow_mut() {
            if slot.body_follows {
                slot.body = Some(body);
            }
        }
    });
}

/// The replacement the header phase asked for, taken; the phase ends.
pub fn take() -> Option<Vec<u8>> {
    with_pending(|pending| {
        pending.try_borrow_mut().ok().and_then(|mut slot| {
            slot.body_follows = false;
            slot.body.take()
        })
    })
}
