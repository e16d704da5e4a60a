//! Adds `x-foreign: yes` to every request and `x-foreign-response: <status>` to every response,
//! through the raw proxy-wasm ABI.

use std::alloc::{alloc, Layout};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_add_header_map_value(map: u32, kp: *const u8, ks: usize, vp: *const u8, vs: usize) -> u32;
    fn proxy_get_header_map_value(map: u32, kp: *const u8, ks: usize, rp: *mut *mut u8, rs: *mut usize) -> u32;
}

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    match Layout::from_size_align(size.max(1), 1) {
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(_context: u32, _parent: u32) {}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(_root: u32, _size: u32) -> u32 {
    1
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(_root: u32, _size: u32) -> u32 {
    1
}

fn add(map: u32, name: &str, value: &[u8]) {
    unsafe {
        proxy_add_header_map_value(map, name.as_ptr(), name.len(), value.as_ptr(), value.len());
    }
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(_context: u32, _headers: u32, _end: u32) -> u32 {
    add(0, "x-foreign", b"yes");
    0
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(_context: u32, _headers: u32, _end: u32) -> u32 {
    let key = ":status";
    let mut ptr: *mut u8 = std::ptr::null_mut();
    let mut len: usize = 0;
    let status = unsafe { proxy_get_header_map_value(2, key.as_ptr(), key.len(), &mut ptr, &mut len) };
    let value = if status == 0 && !ptr.is_null() {
        unsafe { std::slice::from_raw_parts(ptr, len).to_vec() }
    } else {
        b"none".to_vec()
    };
    add(2, "x-foreign-response", &value);
    0
}

#[no_mangle]
pub extern "C" fn proxy_on_done(_context: u32) -> u32 {
    1
}

#[no_mangle]
pub extern "C" fn proxy_on_log(_context: u32) {}

#[no_mangle]
pub extern "C" fn proxy_on_delete(_context: u32) {}
