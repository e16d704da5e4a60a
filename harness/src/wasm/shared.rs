//! What workers of one process share: shared data with CAS, and metrics.

use super::*;

pub(super) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Caller<'_, HostState>,
         kp: i32,
         ks: i32,
         ret_ptr: i32,
         ret_size: i32,
         ret_cas: i32| {
            let key = read_str(&mut c, kp, ks)?;
            let entry = c.data().process.borrow().shared_data.get(&key).cloned();
            match entry {
                Some((value, cas)) => {
                    hand_over(&mut c, &value, ret_ptr, ret_size)?;
                    write(&mut c, ret_cas, &cas.to_le_bytes())?;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Caller<'_, HostState>, kp: i32, ks: i32, vp: i32, vs: i32, cas: i32| {
            let key = read_str(&mut c, kp, ks)?;
            let value = read(&mut c, vp, vs)?;
            let process = Rc::clone(&c.data().process);
            let mut process = process.borrow_mut();
            let cas = cas as u32;
            if let Some((_, current)) = process.shared_data.get(&key) {
                if cas != 0 && cas != *current {
                    return Ok(CAS_MISMATCH);
                }
            }
            process.next_cas += 1;
            let next = process.next_cas;
            process.shared_data.insert(key, (value, next));
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: Caller<'_, HostState>, _kind: i32, np: i32, ns: i32, ret: i32| {
            let name = read_str(&mut c, np, ns)?;
            let id = {
                let mut process = c.data().process.borrow_mut();
                match process.metric_names.iter().position(|n| *n == name) {
                    Some(id) => id,
                    None => {
                        process.metric_names.push(name);
                        process.metric_values.push(0);
                        process.metric_names.len() - 1
                    }
                }
            };
            write(&mut c, ret, &(id as u32).to_le_bytes())?;
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |c: Caller<'_, HostState>, id: i32, offset: i64| {
            let mut process = c.data().process.borrow_mut();
            match process.metric_values.get_mut(id as u32 as usize) {
                Some(value) => {
                    *value += offset;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |c: Caller<'_, HostState>, id: i32, value: i64| {
            let mut process = c.data().process.borrow_mut();
            match process.metric_values.get_mut(id as u32 as usize) {
                Some(slot) => {
                    *slot = value;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: Caller<'_, HostState>, id: i32, ret: i32| {
            let value = c
                .data()
                .process
                .borrow()
                .metric_values
                .get(id as u32 as usize)
                .copied();
            match value {
                Some(value) => {
                    write(&mut c, ret, &value.to_le_bytes())?;
                    Ok(OK)
                }
                None => Ok(NOT_FOUND),
            }
        },
    )?;
    Ok(())
}
