//! What a module needs from the language runtime, without `std`: an allocator, the one
//! panic handler, and a place for a VM's statics.
//!
//! Why no `std` in a module: with `std`, every module carries its panic machinery (the default
//! hook, the message formatter, `Debug` for `str`, backtrace and thread-name lookups, a stderr
//! writer), whatever the code does: 20 to 33 KB of each module here, a fifth of it, for code that
//! runs only on a bug (request-decorator 126,686 -> 97,646 bytes, local-ratelimit 123,282 ->
//! 90,552; the README has every module). The filters deny `unwrap`, `expect`, `panic` and
//! indexing (clippy), so a panic is a bug; here it traps the VM, as `panic = "abort"` did, after
//! logging where it happened.

#![allow(unsafe_code)]

use crate::abi;

/// The allocator: dlmalloc, which is what `std` itself uses on `wasm32-unknown-unknown`.
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Logs `panicked at <file>:<line>` at critical level and traps. Only the location is read: the
/// message would bring back the formatting machinery this module exists to leave out.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = [0u8; 256];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        for byte in bytes {
            if let Some(slot) = line.get_mut(at) {
                *slot = *byte;
                at += 1;
            }
        }
    };
    put(b"panicked at ");
    if let Some(location) = info.location() {
        put(location.file().as_bytes());
        put(b":");
        put(crate::wire::decimal(location.line(), &mut [0u8; 10]));
    }
    let _ = abi::log(5, line.get(..at).unwrap_or_default());
    core::arch::wasm32::unreachable()
}

/// A VM's statics (the export macro's plugins and streams). `std`'s `thread_local!` is gone
/// with `std`; a `static` needs `Sync`, which this wrapper gives.
#[derive(Debug)]
pub struct VmLocal<T>(pub T);

// SAFETY: a module built for `wasm32-wasip1` (without the `atomics` target feature) has one
// thread per instance: Envoy gives every worker its own VM and calls each from that worker's
// thread only, so a `VmLocal` is never reached from two threads.
unsafe impl<T> Sync for VmLocal<T> {}

impl<T> core::ops::Deref for VmLocal<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// `memcmp`, which `core` calls to compare byte slices (`==` on `[u8]` and `str`). With `std` it
/// came from wasi-libc; without it, nothing else defines it, and the module would import it
/// from the host, which Envoy refuses to load (`harness/tests/exports.rs` checks every import).
/// A plain loop, which LLVM does not turn back into a `memcmp` call.
///
/// # Safety
/// `a` and `b` must each be valid for `n` bytes of reads, as C's `memcmp` requires.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, and the caller (core's slice comparison) passes two live slices of at
        // least `n` bytes.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}
