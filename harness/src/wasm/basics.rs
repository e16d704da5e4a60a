//! Logging, the clock, configuration buffers, properties, and the calls Moonshift's filters
//! never make but a module may import (ticks, effective context, stream control).

use super::*;

pub(super) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: Caller<'_, HostState>, level: i32, ptr: i32, len: i32| {
            let message = read(&mut c, ptr, len)?;
            let level = Level::from_proxy_wasm(level as u32);
            if level as u32 >= c.data().log_level {
                c.data_mut().logs.push(LogLine { level, message });
            }
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_log_level",
        |mut c: Caller<'_, HostState>, ret: i32| {
            let level = c.data().log_level;
            write(&mut c, ret, &level.to_le_bytes())?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, HostState>, ret: i32| {
            let now = c.data().clock.nanos();
            write(&mut c, ret, &now.to_le_bytes())?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, HostState>,
         kind: i32,
         start: i32,
         max: i32,
         ret_ptr: i32,
         ret_size: i32| {
            let buffer = match kind {
                // The response body, while the module is in its response body callback.
                1 => c.data().stream.response_body.clone(),
                7 => c.data().configuration.clone(),
                _ => None,
            };
            let Some(config) = buffer else {
                return Ok(NOT_FOUND);
            };
            let start = (start as u32 as usize).min(config.len());
            let end = start.saturating_add(max as u32 as usize).min(config.len());
            hand_over(
                &mut c,
                config.get(start..end).unwrap_or_default(),
                ret_ptr,
                ret_size,
            )?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Caller<'_, HostState>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            let data = read(&mut c, ptr, len)?;
            let Some(body) = c.data_mut().stream.response_body.as_mut() else {
                return Ok(NOT_FOUND);
            };
            // Envoy's rule (docs/envoy.md §11): start 0 replaces the bytes `size` covers, a
            // start at or past the end appends; anything else is a bad argument.
            let (start, size) = (start as u32 as usize, size as u32 as usize);
            match (kind, start) {
                (1, 0) => {
                    let end = size.min(body.len());
                    body.splice(0..end, data);
                    Ok(OK)
                }
                (1, s) if s >= body.len() => {
                    body.extend_from_slice(&data);
                    Ok(OK)
                }
                _ => Ok(BAD_ARGUMENT),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Caller<'_, HostState>, pp: i32, ps: i32, ret_ptr: i32, ret_size: i32| {
            let path = read(&mut c, pp, ps)?;
            let state = c.data();
            let value = match path.as_slice() {
                b"plugin_name" => state.plugin_name.clone().into_bytes(),
                b"plugin_root_id" => state.root_id.clone().into_bytes(),
                b"source\0address" => state.stream.remote_address.clone().into_bytes(),
                b"connection\0uri_san_peer_certificate" => match &state.stream.peer_uri_san {
                    Some(san) => san.clone().into_bytes(),
                    None => return Ok(NOT_FOUND),
                },
                // A route without metadata gives an empty message, as in Envoy.
                b"xds\0route_metadata" => {
                    super::route_metadata::serialized_metadata(&state.stream.route_metadata)
                }
                _ => return Ok(NOT_FOUND),
            };
            hand_over(&mut c, &value, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |_: Caller<'_, HostState>, _period: i32| Ok(OK),
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |_: Caller<'_, HostState>, _id: i32| Ok(OK),
    )?;
    linker.func_wrap("env", "proxy_done", |_: Caller<'_, HostState>| Ok(OK))?;
    linker.func_wrap(
        "env",
        "proxy_continue_stream",
        |_: Caller<'_, HostState>, _kind: i32| Ok(OK),
    )?;
    linker.func_wrap(
        "env",
        "proxy_close_stream",
        |_: Caller<'_, HostState>, _kind: i32| Ok(OK),
    )?;
    // WASI, as much as Rust's std needs: no environment, stdio captured as logs, the clock.
    Ok(())
}
