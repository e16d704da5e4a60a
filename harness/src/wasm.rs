//! Long because: the worker's lifecycle (start, request and response phases, traps) is one
//! state machine over one store; the host functions are already in `wasm/`. 452 lines before
//! round 3; the response body's callback added 20 to the response phase.
//!
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
    RouteMetadata,
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
    /// The HTTP context's id.
    context: i32,
    request_headers: Vec<Header>,
    response_headers: Vec<Header>,
    local_reply: Option<LocalReply>,
    /// The response body, in the module's reach during its response body callback.
    response_body: Option<Vec<u8>>,
    remote_address: String,
    /// What Envoy's `connection.uri_san_peer_certificate` gives: the first URI SAN.
    peer_uri_san: Option<String>,
    route_metadata: RouteMetadata,
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

impl Plugin {
    /// The plugin for `root_id` with `config` (`None`: no configuration at all), named as the
    /// Envoy configs of `moonshift_tests::envoy` name it (`moonshift.<root_id>`), logging
    /// everything (trace).
    pub fn named(root_id: &str, config: Option<&serde_json::Value>) -> Self {
        Self {
            configuration: config.map(|c| c.to_string().into_bytes()),
            plugin_name: format!("moonshift.{root_id}"),
            root_id: root_id.to_string(),
            log_level: 0,
        }
    }
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

mod basics;
pub mod chain;
mod headers;
mod memory;
mod route_metadata;
mod shared;
mod wasi;

/// The seed of a new instance's `random_get` stream: a different one for each instance this
/// process starts, as Envoy's VMs each draw their own random bytes (with one constant seed, two
/// workers would draw the same UUIDs, which Envoy's never do). Instances started in the same
/// order get the same seeds. Never zero, which xorshift cannot leave.
fn next_random_seed() -> u64 {
    static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (0x2545_F491_4F6C_DD1D ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1
}

use memory::{hand_over, read, read_str, write};

/// Every host function, one ABI area per module.
fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    basics::link(linker)?;
    headers::link(linker)?;
    shared::link(linker)?;
    wasi::link(linker)
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
            random: next_random_seed(),
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

    /// The module's linear memory in bytes: all a worker's VM holds (it only grows, a page of
    /// 64 KiB at a time). Deterministic for the same requests, unlike a process's RSS.
    pub fn memory_bytes(&mut self) -> usize {
        self.instance
            .get_memory(&mut self.store, "memory")
            .map_or(0, |memory| memory.data_size(&self.store))
    }

    /// Whether a trap killed this worker's VM.
    pub fn dead(&self) -> Option<&str> {
        self.dead.as_deref()
    }

    /// Runs one request/response through an HTTP context.
    pub fn exchange(&mut self, exchange: &Exchange) -> Outcome {
        let clock = self.store.data().clock.clone();
        chain::play(std::slice::from_mut(self), &clock, exchange)
    }

    /// The request phase of a new stream: `request_headers` as the filters before this one
    /// left them. The filter's local reply, if it sent one.
    fn request_phase(
        &mut self,
        exchange: &Exchange,
        request_headers: Vec<Header>,
    ) -> Result<Option<LocalReply>, Vec<LogLine>> {
        if self.dead.is_some() {
            // Envoy's 503 for every request after the trap, with nothing logged.
            return Err(Vec::new());
        }
        let context = self.next_context as i32;
        self.next_context += 1;
        let headers_count = request_headers.len() as i32;
        self.store.data_mut().stream = StreamState {
            context,
            request_headers,
            response_headers: Vec::new(),
            local_reply: None,
            response_body: None,
            remote_address: exchange.remote_address.clone(),
            peer_uri_san: exchange.peer_uri_sans.first().cloned(),
            route_metadata: exchange.route_metadata.clone(),
        };
        self.call_if_exported::<(i32, i32), ()>(
            "proxy_on_context_create",
            (context, ROOT_CONTEXT as i32),
        )
        .and_then(|_| {
            self.call_if_exported::<(i32, i32, i32), i32>(
                "proxy_on_request_headers",
                (context, headers_count, 1),
            )
        })
        .map_err(|reason| self.die(reason))?;
        Ok(self.store.data_mut().stream.local_reply.take())
    }

    /// The request headers as this filter left them.
    fn take_request_headers(&mut self) -> Vec<Header> {
        std::mem::take(&mut self.store.data_mut().stream.request_headers)
    }

    /// The response phase of the stream [`Self::request_phase`] began, then its end (log,
    /// done, delete): the response headers as the filters after this one left them, and as
    /// this one leaves them.
    fn response_phase(
        &mut self,
        response_headers: Vec<Header>,
        body: &mut Option<Vec<u8>>,
    ) -> Result<Vec<Header>, Vec<LogLine>> {
        let context = self.store.data().stream.context;
        let count = response_headers.len() as i32;
        self.store.data_mut().stream.response_headers = response_headers;
        let end_of_stream = i32::from(body.is_none());
        self.call_if_exported::<(i32, i32, i32), i32>(
            "proxy_on_response_headers",
            (context, count, end_of_stream),
        )
        .and_then(|_| match body.take() {
            // The body in one piece, its end with it; what the module left of it goes on.
            Some(bytes) => {
                let size = bytes.len() as i32;
                self.store.data_mut().stream.response_body = Some(bytes);
                let called = self.call_if_exported::<(i32, i32, i32), i32>(
                    "proxy_on_response_body",
                    (context, size, 1),
                );
                *body = self.store.data_mut().stream.response_body.take();
                called.map(|_| None::<i32>)
            }
            None => Ok(None),
        })
        .and_then(|_| self.call_if_exported::<(i32,), ()>("proxy_on_log", (context,)))
        .and_then(|_| self.call_if_exported::<(i32,), i32>("proxy_on_done", (context,)))
        .and_then(|_| self.call_if_exported::<(i32,), ()>("proxy_on_delete", (context,)))
        .map_err(|reason| self.die(reason))?;
        Ok(std::mem::take(
            &mut self.store.data_mut().stream.response_headers,
        ))
    }

    /// Marks the VM dead; what it logged, and the line saying so.
    fn die(&mut self, reason: String) -> Vec<LogLine> {
        let mut logs = std::mem::take(&mut self.store.data_mut().logs);
        logs.push(LogLine {
            level: Level::Critical,
            message: format!("VM dead: {reason}").into_bytes(),
        });
        self.dead = Some(reason);
        logs
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
