//! The WASI preview 1 calls a Rust module may import: the environment, stdout/stderr, exit,
//! random bytes and clocks.

use super::*;

pub(super) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "environ_sizes_get",
        |mut c: Caller<'_, HostState>, count: i32, size: i32| {
            write(&mut c, count, &0u32.to_le_bytes())?;
            write(&mut c, size, &0u32.to_le_bytes())?;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "environ_get",
        |_: Caller<'_, HostState>, _a: i32, _b: i32| Ok(0),
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "fd_write",
        |mut c: Caller<'_, HostState>, _fd: i32, iovs: i32, iovs_len: i32, written: i32| {
            let mut total = 0u32;
            let mut text = Vec::new();
            for i in 0..iovs_len {
                let iov = read(&mut c, iovs + i * 8, 8)?;
                let ptr = i32::from_le_bytes(
                    iov.get(..4)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or_default(),
                );
                let len = i32::from_le_bytes(
                    iov.get(4..8)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or_default(),
                );
                text.extend(read(&mut c, ptr, len)?);
                total += len as u32;
            }
            c.data_mut().logs.push(LogLine {
                level: Level::Error,
                message: text,
            });
            write(&mut c, written, &total.to_le_bytes())?;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |_: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::msg(format!("proc_exit({code})")))
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "random_get",
        |mut c: Caller<'_, HostState>, buf: i32, len: i32| {
            let mut bytes = Vec::with_capacity(len as u32 as usize);
            for _ in 0..len {
                let state = &mut c.data_mut().random;
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                bytes.push(*state as u8);
            }
            write(&mut c, buf, &bytes)?;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "clock_time_get",
        |mut c: Caller<'_, HostState>, _id: i32, _precision: i64, ret: i32| {
            let now = c.data().clock.nanos();
            write(&mut c, ret, &now.to_le_bytes())?;
            Ok(0)
        },
    )?;
    Ok(())
}
