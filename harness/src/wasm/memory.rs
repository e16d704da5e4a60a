//! Reading and writing the module's memory, and handing buffers over the way
//! proxy-wasm-cpp-host does.

use super::*;

pub(super) fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::Error::msg("module exports no memory")),
    }
}

pub(super) fn read(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    memory
        .data(&*caller)
        .get(ptr..ptr.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::Error::msg("out-of-bounds read"))
}

pub(super) fn read_str(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<String> {
    String::from_utf8(read(caller, ptr, len)?).map_err(|_| wasmtime::Error::msg("key is not UTF-8"))
}

pub(super) fn write(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    let ptr = ptr as u32 as usize;
    memory
        .data_mut(&mut *caller)
        .get_mut(ptr..ptr.saturating_add(bytes.len()))
        .ok_or_else(|| wasmtime::Error::msg("out-of-bounds write"))?
        .copy_from_slice(bytes);
    Ok(())
}

/// Copies `bytes` into guest memory allocated by the guest, and stores pointer and size. Like
/// proxy-wasm-cpp-host's `copyToPointerSize`, an empty buffer is not allocated: pointer 0,
/// size 0 (docs/envoy.md §3).
pub(super) fn hand_over(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ret_ptr: i32,
    ret_size: i32,
) -> wasmtime::Result<()> {
    if bytes.is_empty() {
        write(caller, ret_ptr, &0i32.to_le_bytes())?;
        return write(caller, ret_size, &0u32.to_le_bytes());
    }
    let allocate = caller
        .get_export("proxy_on_memory_allocate")
        .or_else(|| caller.get_export("malloc"))
        .and_then(Extern::into_func)
        .ok_or_else(|| wasmtime::Error::msg("module exports no allocator"))?
        .typed::<i32, i32>(&*caller)?;
    let ptr = allocate.call(&mut *caller, bytes.len() as i32)?;
    write(caller, ptr, bytes)?;
    write(caller, ret_ptr, &ptr.to_le_bytes())?;
    write(caller, ret_size, &(bytes.len() as u32).to_le_bytes())
}
