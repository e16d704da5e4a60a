//! Header maps (read, write, the wire format) and local replies.

use super::*;

fn serialize_map(map: &[Header]) -> Vec<u8> {
    let mut out = (map.len() as u32).to_le_bytes().to_vec();
    for (name, value) in map {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in map {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

fn deserialize_map(bytes: &[u8]) -> Option<Vec<Header>> {
    let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let mut sizes = Vec::with_capacity(count);
    for i in 0..count {
        let at = 4 + i * 8;
        let name = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let value = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        sizes.push((name, value));
    }
    let mut p = 4 + count * 8;
    let mut map = Vec::with_capacity(count);
    for (name, value) in sizes {
        let key = String::from_utf8(bytes.get(p..p + name)?.to_vec()).ok()?;
        p += name + 1;
        map.push((key, bytes.get(p..p + value)?.to_vec()));
        p += value + 1;
    }
    Some(map)
}

fn header_map(state: &mut HostState, map_type: i32) -> Option<&mut Vec<Header>> {
    match map_type {
        0 => Some(&mut state.stream.request_headers),
        2 => Some(&mut state.stream.response_headers),
        _ => None,
    }
}

pub(super) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, HostState>, kind: i32, ret_ptr: i32, ret_size: i32| {
            let bytes = match header_map(c.data_mut(), kind) {
                Some(map) => serialize_map(map),
                None => return Ok(NOT_FOUND),
            };
            hand_over(&mut c, &bytes, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Caller<'_, HostState>, kind: i32, ptr: i32, len: i32| {
            let bytes = read(&mut c, ptr, len)?;
            let new =
                deserialize_map(&bytes).ok_or_else(|| wasmtime::Error::msg("bad header map"))?;
            match header_map(c.data_mut(), kind) {
                Some(map) => {
                    *map = new;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: Caller<'_, HostState>, kind: i32, kp: i32, ks: i32, ret_ptr: i32, ret_size: i32| {
            let key = read_str(&mut c, kp, ks)?.to_ascii_lowercase();
            let value = match header_map(c.data_mut(), kind) {
                Some(map) => map.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()),
                None => return Ok(NOT_FOUND),
            };
            match value {
                Some(value) => {
                    hand_over(&mut c, &value, ret_ptr, ret_size)?;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: Caller<'_, HostState>, kind: i32, kp: i32, ks: i32, vp: i32, vs: i32| {
            let key = read_str(&mut c, kp, ks)?.to_ascii_lowercase();
            let value = read(&mut c, vp, vs)?;
            match header_map(c.data_mut(), kind) {
                Some(map) => {
                    map.push((key, value));
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, HostState>, kind: i32, kp: i32, ks: i32, vp: i32, vs: i32| {
            let key = read_str(&mut c, kp, ks)?;
            let value = read(&mut c, vp, vs)?;
            match header_map(c.data_mut(), kind) {
                Some(map) => {
                    replace_header(map, &key, &value);
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, HostState>, kind: i32, kp: i32, ks: i32| {
            let key = read_str(&mut c, kp, ks)?;
            match header_map(c.data_mut(), kind) {
                Some(map) => {
                    remove_header(map, &key);
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Caller<'_, HostState>,
         status: i32,
         _dp: i32,
         _ds: i32,
         bp: i32,
         bs: i32,
         hp: i32,
         hs: i32,
         _grpc: i32| {
            let body = read(&mut c, bp, bs)?;
            let headers = deserialize_map(&read(&mut c, hp, hs)?)
                .ok_or_else(|| wasmtime::Error::msg("bad header map"))?;
            if !(200..=599).contains(&status) {
                return Ok(BAD_ARGUMENT);
            }
            c.data_mut().stream.local_reply = Some((status as u16, headers, body));
            Ok(OK)
        },
    )?;
    Ok(())
}
