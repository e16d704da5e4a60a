//! The proxy-wasm ABI 0.2.1 host functions Moonshift calls, exactly as the spec declares them
//! (<https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1>): with `module.rs` (the
//! allocator, the panic handler), the only `unsafe` code in the workspace.
//!
//! Each wrapper passes pointers to memory the caller borrows for the duration of the call, and
//! takes ownership of buffers the host returns (the host allocates them through
//! [`proxy_on_memory_allocate`], with the exact size it then reports). A wrapper returns the
//! host's status; it never panics, whatever the host answers.

#![allow(unsafe_code)]

use alloc::alloc::{alloc, Layout};
use alloc::vec::Vec;
use core::ptr::{null_mut, NonNull};

/// A proxy-wasm status other than `Ok` (spec: `proxy_status_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    pub const NOT_FOUND: Status = Status(1);
    pub const BAD_ARGUMENT: Status = Status(2);
    pub const EMPTY: Status = Status(7);
    pub const CAS_MISMATCH: Status = Status(8);
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match self.0 {
            1 => "NotFound",
            2 => "BadArgument",
            3 => "SerializationFailure",
            4 => "ParseFailure",
            7 => "Empty",
            8 => "CasMismatch",
            10 => "InternalFailure",
            12 => "Unimplemented",
            _ => return write!(f, "status {}", self.0),
        };
        f.write_str(name)
    }
}

fn check(status: u32) -> Result<(), Status> {
    match status {
        0 => Ok(()),
        other => Err(Status(other)),
    }
}

/// Declares the host functions: imported from the host (`env`) in a module; outside a proxy
/// (host-side unit tests of code that links the kit) there is no host, and every call answers
/// `Unimplemented`, so such code sees a failing host, never a fake one.
macro_rules! host_functions {
    ($( $(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> u32; )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "env")]
        extern "C" {
            $( $(#[$attr])* fn $name($($arg: $ty),*) -> u32; )*
        }

        #[cfg(not(target_arch = "wasm32"))]
        #[allow(clippy::missing_safety_doc, clippy::too_many_arguments)]
        mod off_host {
            $( pub unsafe fn $name($(_: $ty),*) -> u32 { 12 } )*
        }
        #[cfg(not(target_arch = "wasm32"))]
        use off_host::*;
    };
}

host_functions! {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_metric_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
}

/// The host allocates the buffers it returns in the module's memory by calling this export.
/// Returns null when the allocation fails (the host then fails its call).
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let Ok(layout) = Layout::array::<u8>(size) else {
        return null_mut();
    };
    if size == 0 {
        return NonNull::<u8>::dangling().as_ptr();
    }
    // SAFETY: `layout` has a non-zero size. The block is handed to the host, which fills it and
    // gives it back through a `return_data`/`return_size` pair, taken by `owned` below.
    unsafe { alloc(layout) }
}

/// Takes ownership of a buffer the host returned: `size` bytes at `data`, allocated by
/// [`proxy_on_memory_allocate`] with exactly that size. An empty value is a value: Envoy
/// answers a header present with an empty value with `Ok`, size 0 and a null pointer
/// (docs/envoy.md §3).
fn owned(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if size == 0 {
        return Some(Vec::new());
    }
    if data.is_null() {
        return None;
    }
    // SAFETY: the host wrote `size` bytes into a block it obtained from
    // `proxy_on_memory_allocate(size)`, i.e. `alloc(Layout::array::<u8>(size))`, which is the
    // layout a `Vec<u8>` of capacity `size` frees with. Nothing else owns the block.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

pub fn log(level: u32, message: &[u8]) -> Result<(), Status> {
    // SAFETY: the host reads `message.len()` bytes from `message`, borrowed for the call.
    check(unsafe { proxy_log(level, message.as_ptr(), message.len()) })
}

pub fn log_level() -> Result<u32, Status> {
    let mut level = 0;
    // SAFETY: the host writes one u32 to `level`, a live local.
    check(unsafe { proxy_get_log_level(&mut level) })?;
    Ok(level)
}

pub fn current_time_nanoseconds() -> Result<u64, Status> {
    let mut time = 0;
    // SAFETY: the host writes one u64 to `time`, a live local.
    check(unsafe { proxy_get_current_time_nanoseconds(&mut time) })?;
    Ok(time)
}

/// Calls `f(return_data, return_size)` and takes the buffer it returned. `NotFound` and
/// `Empty` are "no value", not errors.
fn returned(f: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> Result<Option<Vec<u8>>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    match check(f(&mut data, &mut size)) {
        Ok(()) => Ok(owned(data, size)),
        Err(Status::NOT_FOUND | Status::EMPTY) => Ok(None),
        Err(status) => Err(status),
    }
}

pub fn buffer_bytes(buffer_type: u32, start: usize, max: usize) -> Result<Option<Vec<u8>>, Status> {
    // SAFETY: the host writes a pointer and a size into the two live locals `returned` passes.
    returned(|data, size| unsafe { proxy_get_buffer_bytes(buffer_type, start, max, data, size) })
}

/// Replaces `size` bytes from `start` of a buffer with `data` (start 0 and the buffer's size:
/// the whole buffered body).
pub fn set_buffer_bytes(
    buffer_type: u32,
    start: usize,
    size: usize,
    data: &[u8],
) -> Result<(), Status> {
    // SAFETY: `data` is borrowed for the call; the host copies it.
    check(unsafe { proxy_set_buffer_bytes(buffer_type, start, size, data.as_ptr(), data.len()) })
}

pub fn header_map_pairs(map_type: u32) -> Result<Option<Vec<u8>>, Status> {
    // SAFETY: as for `buffer_bytes`.
    returned(|data, size| unsafe { proxy_get_header_map_pairs(map_type, data, size) })
}

pub fn header_map_value(map_type: u32, key: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    // SAFETY: `key` is borrowed for the call; the out-pointers are `returned`'s live locals.
    returned(|data, size| unsafe {
        proxy_get_header_map_value(map_type, key.as_ptr(), key.len(), data, size)
    })
}

pub fn add_header_map_value(map_type: u32, key: &[u8], value: &[u8]) -> Result<(), Status> {
    // SAFETY: `key` and `value` are borrowed for the call; the host copies them.
    check(unsafe {
        proxy_add_header_map_value(
            map_type,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn replace_header_map_value(map_type: u32, key: &[u8], value: &[u8]) -> Result<(), Status> {
    // SAFETY: as for `add_header_map_value`.
    check(unsafe {
        proxy_replace_header_map_value(
            map_type,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub fn remove_header_map_value(map_type: u32, key: &[u8]) -> Result<(), Status> {
    // SAFETY: `key` is borrowed for the call.
    check(unsafe { proxy_remove_header_map_value(map_type, key.as_ptr(), key.len()) })
}

/// `headers` is a serialized header map (see `crate::wire`).
pub fn send_local_response(status: u32, body: &[u8], headers: &[u8]) -> Result<(), Status> {
    // SAFETY: every slice is borrowed for the call; the host copies them. No details string.
    check(unsafe {
        proxy_send_local_response(
            status,
            core::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// `path` is the property's segments joined by NUL bytes.
pub fn property(path: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    // SAFETY: `path` is borrowed for the call; the out-pointers are `returned`'s live locals.
    returned(|data, size| unsafe { proxy_get_property(path.as_ptr(), path.len(), data, size) })
}

/// The value and its CAS token; `(None, None)` for a key that does not exist.
pub fn shared_data(key: &[u8]) -> Result<(Option<Vec<u8>>, Option<u32>), Status> {
    let mut cas = 0;
    // SAFETY: `key` is borrowed for the call; `cas` and `returned`'s locals are live.
    let value = returned(|data, size| unsafe {
        proxy_get_shared_data(key.as_ptr(), key.len(), data, size, &mut cas)
    })?;
    Ok(match value {
        Some(value) => (Some(value), Some(cas)),
        None => (None, None),
    })
}

pub fn set_shared_data(key: &[u8], value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: `key` and `value` are borrowed for the call; the host copies them.
    check(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

pub fn define_metric(metric_type: u32, name: &[u8]) -> Result<u32, Status> {
    let mut id = 0;
    // SAFETY: `name` is borrowed for the call; the host writes one u32 to the live `id`.
    check(unsafe { proxy_define_metric(metric_type, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

pub fn increment_metric(id: u32, offset: i64) -> Result<(), Status> {
    // SAFETY: no pointers.
    check(unsafe { proxy_increment_metric(id, offset) })
}

// WASI's `random_get`, the one WASI call Moonshift makes itself: proxy-wasm has no random
// source of its own, and proxy-wasm hosts answer this one from theirs (Envoy's
// proxy-wasm-cpp-host implements it with BoringSSL's `RAND_bytes`; docs/envoy.md §9).
#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    /// Fills `buf_len` bytes at `buf`; returns a WASI errno, 0 for success.
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, buf_len: usize) -> u32;
}

/// Off a proxy there is no host: `ENOSYS`, as every other call answers `Unimplemented`.
#[cfg(not(target_arch = "wasm32"))]
unsafe fn wasi_random_get(_: *mut u8, _: usize) -> u32 {
    52
}

/// Fills `buf` with the host's random bytes; `Err` with the WASI errno when it cannot.
pub fn random_get(buf: &mut [u8]) -> Result<(), u32> {
    // SAFETY: `buf` is borrowed mutably for the call; the host writes at most `buf.len()` bytes
    // into it.
    match unsafe { wasi_random_get(buf.as_mut_ptr(), buf.len()) } {
        0 => Ok(()),
        errno => Err(errno),
    }
}

/// proxy-wasm ABI version marker: the host reads the ABI a module speaks from this export.
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

#[cfg(target_os = "wasi")]
mod init {
    extern "C" {
        fn __wasm_call_ctors();
    }

    /// WASI reactor initialisation: the host calls it once, before any other export.
    #[no_mangle]
    pub extern "C" fn _initialize() {
        // SAFETY: the linker's constructor list, run once, first, as a WASI reactor must.
        unsafe { __wasm_call_ctors() }
    }
}
