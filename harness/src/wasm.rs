//! A proxy-wasm host (ABI 0.2.1) on wasmtime, stateful like Envoy, for the calls Moonshift's
//! filters make.
//!
//! One [`WasmWorker`] is one worker thread's VM: its own instance of the module, its root
//! context configured once, then one HTTP context per exchange. Workers of one [`Process`] share
//! what Envoy shares across workers: shared data (with CAS) and metrics. A trap is reported as
//! Envoy reports it: a 503 for that request, and the worker's VM is dead from then on.

use crate::clock::Clock;
use crate::exchange::{
    remove_header, replace_header, Exchange, Header, Level, LocalReply, LogLine, Outcome, Response,
    ResponsePhase,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;
use wasmtime::{
    CallHook, Caller, Config, Engine, Extern, Instance, Linker, Memory, Module, Store, TypedFunc,
};

const OK: i32 = 0;
const NOT_FOUND: i32 = 1;
const BAD_ARGUMENT: i32 = 2;
const CAS_MISMATCH: i32 = 8;

const ROOT_CONTEXT: u32 = 1;

/// A compiled module, ready to be instantiated once per worker.
#[derive(Clone)]
pub struct WasmModule {
    engine: Engine,
    module: Module,
    metered: bool,
}

/// What one exchange cost inside the VM, counted rather than timed: the same on every machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Wasm instructions executed (wasmtime fuel: about one unit per instruction).
    pub instructions: u64,
    /// Calls from the module into the host (`proxy_get_header_map_value`, `proxy_log`, ...).
    pub host_calls: u64,
    /// Entries of the host into the VM: the callbacks, and allocations the host asks for.
    pub vm_entries: u64,
}

impl std::fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WasmModule")
    }
}

impl WasmModule {
    pub fn load(path: &Path) -> Result<Self, String> {
        Self::compile(path, false)
    }

    /// Compiled to count its [`Cost`]: instructions (fuel), host calls and VM entries; see
    /// [`WasmWorker::exchange_cost`]. Slower to run; for measuring, not for testing.
    pub fn load_metered(path: &Path) -> Result<Self, String> {
        Self::compile(path, true)
    }

    fn compile(path: &Path, metered: bool) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut config = Config::new();
        config.consume_fuel(metered);
        let engine = Engine::new(&config).map_err(|e| format!("wasmtime: {e}"))?;
        let module = Module::new(&engine, &bytes)
            .map_err(|e| format!("cannot compile {}: {e}", path.display()))?;
        Ok(Self {
            engine,
            module,
            metered,
        })
    }
}

/// What Envoy keeps per process (per `vm_id`): shared data and metrics.
#[derive(Debug, Default)]
pub struct Process {
    shared_data: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    metric_names: Vec<String>,
    metric_values: Vec<i64>,
}

impl Process {
    pub fn new() -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Self::default()))
    }

    /// Every metric by name, as `/stats` would list it (without the `wasmcustom.` prefix).
    pub fn metrics(&self) -> BTreeMap<String, i64> {
        self.metric_names
            .iter()
            .cloned()
            .zip(self.metric_values.iter().copied())
            .collect()
    }

    /// How many shared-data keys exist (for bounds tests).
    pub fn shared_data_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.shared_data.keys().cloned().collect();
        keys.sort();
        keys
    }
}

#[derive(Debug, Default)]
struct StreamState {
    request_headers: Vec<Header>,
    response_headers: Vec<Header>,
    local_reply: Option<LocalReply>,
    remote_address: String,
}

struct HostState {
    clock: Clock,
    process: Rc<RefCell<Process>>,
    configuration: Option<Vec<u8>>,
    plugin_name: String,
    root_id: String,
    log_level: u32,
    logs: Vec<LogLine>,
    stream: StreamState,
    random: u64,
    /// Host calls and VM entries so far (counted when the module is metered).
    calls: Cost,
}

/// Settings of one plugin instance, as Envoy's `PluginConfig` gives them.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The JSON configuration, delivered as a `StringValue`; `None`: no configuration at all.
    pub configuration: Option<Vec<u8>>,
    pub plugin_name: String,
    pub root_id: String,
    /// Envoy's wasm log level (0 trace .. 5 critical).
    pub log_level: u32,
}

/// One worker's VM.
pub struct WasmWorker {
    store: Store<HostState>,
    instance: Instance,
    next_context: u32,
    /// Set by a trap: every later request gets a 503, as under Envoy's FAIL_CLOSED.
    dead: Option<String>,
}

impl std::fmt::Debug for WasmWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmWorker")
            .field("dead", &self.dead)
            .finish()
    }
}

/// Why a worker could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    pub reason: String,
    /// What the plugin logged before it failed (its refusal message, usually).
    pub logs: Vec<LogLine>,
}

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::Error::msg("module exports no memory")),
    }
}

fn read(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    memory
        .data(&*caller)
        .get(ptr..ptr.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::Error::msg("out-of-bounds read"))
}

fn read_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    String::from_utf8(read(caller, ptr, len)?).map_err(|_| wasmtime::Error::msg("key is not UTF-8"))
}

fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
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
fn hand_over(
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

fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
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
            if kind != 7 {
                return Ok(NOT_FOUND);
            }
            let Some(config) = c.data().configuration.clone() else {
                return Ok(NOT_FOUND);
            };
            let start = (start as u32 as usize).min(config.len());
            let end = start.saturating_add(max as u32 as usize).min(config.len());
            hand_over(&mut c, &config[start..end], ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
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
        "proxy_get_property",
        |mut c: Caller<'_, HostState>, pp: i32, ps: i32, ret_ptr: i32, ret_size: i32| {
            let path = read(&mut c, pp, ps)?;
            let state = c.data();
            let value = match path.as_slice() {
                b"plugin_name" => state.plugin_name.clone().into_bytes(),
                b"plugin_root_id" => state.root_id.clone().into_bytes(),
                b"source\0address" => state.stream.remote_address.clone().into_bytes(),
                _ => return Ok(NOT_FOUND),
            };
            hand_over(&mut c, &value, ret_ptr, ret_size)?;
            Ok(OK)
        },
    )?;
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
                let ptr = i32::from_le_bytes(iov[..4].try_into().unwrap_or_default());
                let len = i32::from_le_bytes(iov[4..].try_into().unwrap_or_default());
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

impl WasmWorker {
    /// Instantiates the module, creates the root context, starts the VM and configures the
    /// plugin, as Envoy does on each worker. `on_configure` returning false is an error.
    pub fn start(
        module: &WasmModule,
        process: &Rc<RefCell<Process>>,
        clock: &Clock,
        plugin: &Plugin,
    ) -> Result<Self, StartError> {
        let state = HostState {
            clock: clock.clone(),
            process: Rc::clone(process),
            configuration: plugin.configuration.clone(),
            plugin_name: plugin.plugin_name.clone(),
            root_id: plugin.root_id.clone(),
            log_level: plugin.log_level,
            logs: Vec::new(),
            stream: StreamState::default(),
            random: 0x2545_F491_4F6C_DD1D,
            calls: Cost::default(),
        };
        let mut store = Store::new(&module.engine, state);
        if module.metered {
            let _ = store.set_fuel(u64::MAX);
            store.call_hook(|mut context, hook| {
                let calls = &mut context.data_mut().calls;
                match hook {
                    CallHook::CallingHost => calls.host_calls += 1,
                    CallHook::CallingWasm => calls.vm_entries += 1,
                    CallHook::ReturningFromHost | CallHook::ReturningFromWasm => {}
                }
                Ok(())
            });
        }
        let failed = |store: &mut Store<HostState>, reason: String| StartError {
            reason,
            logs: std::mem::take(&mut store.data_mut().logs),
        };
        let mut linker = Linker::new(&module.engine);
        link(&mut linker).map_err(|e| failed(&mut store, format!("linking: {e}")))?;
        linker
            .define_unknown_imports_as_traps(&module.module)
            .map_err(|e| failed(&mut store, format!("linking: {e}")))?;
        let instance = linker
            .instantiate(&mut store, &module.module)
            .map_err(|e| failed(&mut store, format!("instantiating: {e}")))?;
        let mut worker = Self {
            store,
            instance,
            next_context: ROOT_CONTEXT + 1,
            dead: None,
        };
        let config_size = plugin.configuration.as_ref().map_or(0, Vec::len) as i32;
        let started = worker
            .call_if_exported::<(), ()>("_initialize", ())
            .and_then(|_| {
                worker.call_if_exported::<(i32, i32), ()>(
                    "proxy_on_context_create",
                    (ROOT_CONTEXT as i32, 0),
                )
            })
            .and_then(|_| {
                worker.call_if_exported::<(i32, i32), i32>(
                    "proxy_on_vm_start",
                    (ROOT_CONTEXT as i32, 0),
                )
            })
            .and_then(|ok| match ok {
                Some(0) => Err("proxy_on_vm_start returned false".to_string()),
                _ => worker
                    .call_if_exported::<(i32, i32), i32>(
                        "proxy_on_configure",
                        (ROOT_CONTEXT as i32, config_size),
                    )
                    .map(|ok| ok.unwrap_or(1)),
            });
        match started {
            Ok(0) => Err(failed(
                &mut worker.store,
                "proxy_on_configure returned false".into(),
            )),
            Ok(_) => Ok(worker),
            Err(reason) => Err(failed(&mut worker.store, reason)),
        }
    }

    /// Calls `name` when the module exports it; `Ok(None)` when it does not. Envoy enters the VM
    /// only for callbacks a module exports, and takes a missing one as "Continue" (headers) or
    /// "nothing to do" (log, done, delete).
    fn call_if_exported<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<Option<R>, String> {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Ok(None);
        };
        let func: TypedFunc<P, R> = func
            .typed(&self.store)
            .map_err(|e| format!("export {name}: {e}"))?;
        func.call(&mut self.store, params)
            .map(Some)
            .map_err(|e| format!("trap in {name}: {e:#}"))
    }

    /// Runs `exchange` and counts what it cost inside the VM; `None` unless the module was
    /// loaded with [`WasmModule::load_metered`].
    pub fn exchange_cost(&mut self, exchange: &Exchange) -> Option<(Outcome, Cost)> {
        let fuel_before = self.store.get_fuel().ok()?;
        let calls_before = self.store.data().calls;
        let outcome = self.exchange(exchange);
        let fuel_after = self.store.get_fuel().ok()?;
        let calls = self.store.data().calls;
        Some((
            outcome,
            Cost {
                instructions: fuel_before.saturating_sub(fuel_after),
                host_calls: calls.host_calls - calls_before.host_calls,
                vm_entries: calls.vm_entries - calls_before.vm_entries,
            },
        ))
    }

    /// Whether a trap killed this worker's VM.
    pub fn dead(&self) -> Option<&str> {
        self.dead.as_deref()
    }

    /// Runs one request/response through an HTTP context.
    pub fn exchange(&mut self, exchange: &Exchange) -> Outcome {
        if self.dead.is_some() {
            return trap_outcome(Vec::new());
        }
        let context = self.next_context as i32;
        self.next_context += 1;
        {
            let stream = &mut self.store.data_mut().stream;
            *stream = StreamState {
                request_headers: exchange.request_headers.clone(),
                response_headers: Vec::new(),
                local_reply: None,
                remote_address: exchange.remote_address.clone(),
            };
        }
        let headers_count = exchange.request_headers.len() as i32;
        let request = self
            .call_if_exported::<(i32, i32), ()>(
                "proxy_on_context_create",
                (context, ROOT_CONTEXT as i32),
            )
            .and_then(|_| {
                self.call_if_exported::<(i32, i32, i32), i32>(
                    "proxy_on_request_headers",
                    (context, headers_count, 1),
                )
            });
        if let Err(reason) = request {
            return self.die(reason);
        }
        let local_reply = self.store.data_mut().stream.local_reply.take();
        let (phase, map) = ResponsePhase::start(
            local_reply,
            exchange,
            &self.store.data().stream.request_headers,
        );
        self.store.data_mut().stream.response_headers = map;
        let count = self.store.data().stream.response_headers.len() as i32;
        let response = self
            .call_if_exported::<(i32, i32, i32), i32>(
                "proxy_on_response_headers",
                (context, count, 1),
            )
            .and_then(|_| self.call_if_exported::<(i32,), ()>("proxy_on_log", (context,)))
            .and_then(|_| self.call_if_exported::<(i32,), i32>("proxy_on_done", (context,)))
            .and_then(|_| self.call_if_exported::<(i32,), ()>("proxy_on_delete", (context,)));
        if let Err(reason) = response {
            return self.die(reason);
        }
        let state = self.store.data_mut();
        let headers = std::mem::take(&mut state.stream.response_headers);
        phase.finish(headers, std::mem::take(&mut state.logs))
    }

    fn die(&mut self, reason: String) -> Outcome {
        let mut logs = std::mem::take(&mut self.store.data_mut().logs);
        logs.push(LogLine {
            level: Level::Critical,
            message: format!("VM dead: {reason}").into_bytes(),
        });
        self.dead = Some(reason);
        trap_outcome(logs)
    }

    /// Logs written outside any exchange (at start-up), taken.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.store.data_mut().logs)
    }
}

/// What Envoy does when the VM traps on a request: a 503 local reply.
fn trap_outcome(logs: Vec<LogLine>) -> Outcome {
    Outcome {
        upstream_request: None,
        response: Response {
            status: 503,
            headers: Vec::new(),
            body: Some(Vec::new()),
        },
        logs,
    }
}
