//! Long because: the scenario format and the one runner that plays it through both hosts are
//! read together (468 lines before round 3, unchanged by it); issue 26 splits them.
//!
//! Scenarios: one declarative JSON file per filter (`tests/scenarios/<filter>.json`), run
//! unchanged through the Lua host and the Wasm host (and by the real-Envoy runner).
//!
//! A scenario holds the filter configuration (the Wasm's JSON; the Lua gets it rendered into its
//! config table), the number of workers, and a sequence of exchanges: the clock, which worker,
//! the request headers, the upstream's response, and optional expectations. Every exchange's
//! outcomes from the two hosts must be equal, unless the scenario names an intentional
//! difference, documented in the filter's README; then `expect_lua` / `expect_wasm` pin both.

use crate::clock::Clock;
use crate::diff;
use crate::exchange::{
    mask_unique_ids, renders_unique_ids, reply_headers_by_name, show_bytes, Exchange, Header,
    Level, Outcome, RouteMetadata,
};
use crate::lua::LuaChain;
use crate::lua_config;
use crate::wasm::chain::WasmChain;
use crate::wasm::{Plugin, Process, WasmModule};
use serde::Deserialize;
use std::collections::BTreeMap;

/// 2026-11-27T00:00:00Z, where scenario clocks start unless they say otherwise.
pub const DEFAULT_START_MS: u64 = 1_795_737_600_000;

/// A header value: text, raw bytes as a list of numbers, or text repeated (long values).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Bytes(Vec<u8>),
    Repeat { repeat: String, times: usize },
}

impl Value {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Text(t) => t.as_bytes().to_vec(),
            Self::Bytes(b) => b.clone(),
            Self::Repeat { repeat, times } => repeat.repeat(*times).into_bytes(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, Value)>,
    /// How long it takes to answer (in-process, the clock moves; in Envoy, it sleeps).
    #[serde(default)]
    pub delay_ms: u64,
}

fn ok() -> u16 {
    200
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            status: 200,
            headers: vec![("x-upstream".into(), Value::Text("moonshift".into()))],
            delay_ms: 0,
        }
    }
}

/// What an exchange must show, checked on each host it applies to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<u16>,
    /// Whether the request reached the upstream (false: a local reply).
    pub reached_upstream: Option<bool>,
    /// Every value of each named header at the upstream, in order (`[]`: absent).
    #[serde(default)]
    pub upstream: BTreeMap<String, Vec<Value>>,
    /// Every value of each named response header, in order (`[]`: absent).
    #[serde(default)]
    pub response: BTreeMap<String, Vec<Value>>,
    pub body: Option<Value>,
    /// The response header names, in order.
    pub response_names: Option<Vec<String>>,
    /// The exact log lines, `[level, message]`.
    pub logs: Option<Vec<(Level, Value)>>,
    /// The log lines, `[level, regular expression]`, each matching its whole message.
    pub log_patterns: Option<Vec<(Level, String)>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSpec {
    /// The clock, in milliseconds since the epoch; default: where the previous exchange was.
    pub at_ms: Option<u64>,
    /// Milliseconds to move the clock forward before this exchange.
    #[serde(default)]
    pub advance_ms: u64,
    #[serde(default)]
    pub worker: usize,
    /// The whole request header map; default: `:authority`, `:path` `/`, `:method` `GET`, `:scheme`.
    pub request: Option<Vec<(String, Value)>>,
    /// The default map's `:path`, when `request` is not given.
    pub path: Option<Value>,
    /// The default map's `:method`, when `request` is not given.
    pub method: Option<String>,
    /// Headers appended to the request map.
    #[serde(default)]
    pub headers: Vec<(String, Value)>,
    #[serde(default = "remote_address")]
    pub remote_address: String,
    /// The URI SANs of the client's certificate (a TLS client); default: none.
    #[serde(default)]
    pub peer_uri_sans: Vec<String>,
    #[serde(default)]
    pub upstream: Upstream,
    /// Run the exchange this many times.
    #[serde(default = "one")]
    pub repeat: usize,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub expect_lua: Expect,
    #[serde(default)]
    pub expect_wasm: Expect,
}

fn remote_address() -> String {
    "10.0.0.7:40000".into()
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The filter configuration; absent: no configuration at all (an empty `pluginConfig`).
    pub config: Option<serde_json::Value>,
    #[serde(default = "one")]
    pub workers: usize,
    /// The README's name for the intentional difference this scenario pins; the hosts'
    /// outcomes are then not compared, the per-host expectations are.
    pub differs: Option<String>,
    /// Why this scenario cannot be played in a real Envoy (it depends on an exact clock, or on
    /// client addresses Envoy cannot be given); absent: the real-Envoy runner plays it too.
    pub not_in_envoy: Option<String>,
    pub exchanges: Vec<ExchangeSpec>,
    /// Wasm metrics at the end (Lua has no stats API), by name.
    #[serde(default)]
    pub metrics: BTreeMap<String, i64>,
    /// The route's `filter_metadata` (namespace, key, value), as the route of every exchange
    /// has it: in Envoy, the one route's `metadata`.
    #[serde(default)]
    pub route_metadata: RouteMetadata,
    /// Run the Lua as written even if it has a `local config = {` table (a user's own script,
    /// compared with a module whose configuration is not the Lua's).
    #[serde(default)]
    pub lua_as_written: bool,
    /// The shipped module the filter runs from, when not its own: `moonshift-bundle`, where the
    /// filter is picked by its root_id and entered for both phases (response-decorator's
    /// conditions on the request's path need it). In-process and in Envoy alike.
    #[serde(default)]
    pub module: Option<String>,
    /// Shown by `make demo` (each filter marks at least one; the demo plays it in Envoy).
    #[serde(default)]
    pub demo: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub filter: String,
    pub scenarios: Vec<Scenario>,
}

impl ScenarioFile {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("scenario file: {e}"))
    }
}

impl ExchangeSpec {
    pub fn exchange(&self) -> Exchange {
        let convert = |list: &[(String, Value)]| -> Vec<Header> {
            list.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.bytes()))
                .collect()
        };
        let mut request_headers = match &self.request {
            Some(list) => convert(list),
            None => vec![
                (":authority".into(), b"moonshift.test".to_vec()),
                (
                    ":path".into(),
                    self.path.as_ref().map_or(b"/".to_vec(), Value::bytes),
                ),
                (
                    ":method".into(),
                    self.method.as_deref().unwrap_or("GET").as_bytes().to_vec(),
                ),
                (":scheme".into(), b"http".to_vec()),
            ],
        };
        request_headers.extend(convert(&self.headers));
        Exchange {
            request_headers,
            remote_address: self.remote_address.clone(),
            peer_uri_sans: self.peer_uri_sans.clone(),
            upstream_status: self.upstream.status,
            upstream_headers: convert(&self.upstream.headers),
            upstream_delay_ms: self.upstream.delay_ms,
            route_metadata: RouteMetadata::new(),
        }
    }
}

fn values(headers: &[Header], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| show_bytes(v))
        .collect()
}

/// The ways `outcome` fails `expect`, as sentences.
pub fn check(expect: &Expect, outcome: &Outcome) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(status) = expect.status {
        if outcome.response.status != status {
            failures.push(format!(
                "status {}, expected {status}",
                outcome.response.status
            ));
        }
    }
    if let Some(reached) = expect.reached_upstream {
        if outcome.upstream_request.is_some() != reached {
            failures.push(format!(
                "reached upstream: {}, expected {reached}",
                outcome.upstream_request.is_some()
            ));
        }
    }
    for (name, want) in &expect.upstream {
        let want: Vec<String> = want.iter().map(|v| show_bytes(&v.bytes())).collect();
        let got = outcome
            .upstream_request
            .as_deref()
            .map(|h| values(h, name))
            .unwrap_or_default();
        if got != want {
            failures.push(format!("upstream {name}: {got:?}, expected {want:?}"));
        }
    }
    for (name, want) in &expect.response {
        let want: Vec<String> = want.iter().map(|v| show_bytes(&v.bytes())).collect();
        let got = values(&outcome.response.headers, name);
        if got != want {
            failures.push(format!("response {name}: {got:?}, expected {want:?}"));
        }
    }
    if let Some(names) = &expect.response_names {
        let got: Vec<&str> = outcome
            .response
            .headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        if got != *names {
            failures.push(format!("response header order {got:?}, expected {names:?}"));
        }
    }
    if let Some(body) = &expect.body {
        if outcome.response.body.as_deref() != Some(body.bytes().as_slice()) {
            failures.push(format!(
                "body {:?}, expected {:?}",
                outcome.response.body.as_deref().map(show_bytes),
                show_bytes(&body.bytes())
            ));
        }
    }
    if let Some(logs) = &expect.logs {
        let got: Vec<(Level, String)> = outcome
            .logs
            .iter()
            .map(|l| (l.level, show_bytes(&l.message)))
            .collect();
        let want: Vec<(Level, String)> = logs
            .iter()
            .map(|(l, m)| (*l, show_bytes(&m.bytes())))
            .collect();
        if got != want {
            failures.push(format!("logs {got:?}, expected {want:?}"));
        }
    }
    if let Some(patterns) = &expect.log_patterns {
        let got: Vec<(Level, String)> = outcome
            .logs
            .iter()
            .map(|l| (l.level, show_bytes(&l.message)))
            .collect();
        let matches = got.len() == patterns.len()
            && got
                .iter()
                .zip(patterns)
                .all(|((level, message), (want_level, pattern))| {
                    level == want_level
                        && regex::Regex::new(&format!("^(?:{pattern})$"))
                            .is_ok_and(|re| re.is_match(message))
                });
        if !matches {
            failures.push(format!("logs {got:?}, expected to match {patterns:?}"));
        }
    }
    failures
}

/// The filter under test: its Lua reference's text and its compiled module.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub lua_source: String,
    pub module: WasmModule,
}

/// One exchange's outcomes.
#[derive(Debug, Clone)]
pub struct ExchangeResult {
    pub index: usize,
    /// The clock during the exchange, in milliseconds since the epoch.
    pub at_ms: u64,
    pub lua: Outcome,
    pub wasm: Outcome,
}

/// A scenario's results: every exchange, the failures, the Wasm metrics.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub exchanges: Vec<ExchangeResult>,
    pub failures: Vec<String>,
    pub metrics: BTreeMap<String, i64>,
}

/// Runs `scenario` through both hosts.
pub fn run(subject: &Subject, scenario: &Scenario) -> Result<Report, String> {
    // A script without a config table (such as the seed's, against the pipeline) runs as written.
    let lua_source = match !scenario.lua_as_written && lua_config::takes_config(&subject.lua_source)
    {
        true => lua_config::render(&subject.lua_source, scenario.config.as_ref())?,
        false => subject.lua_source.clone(),
    };
    let plugin = Plugin::named(&subject.name, scenario.config.as_ref());
    let module = match &scenario.module {
        Some(name) => &WasmModule::load(&crate::artifacts::try_wasm_module(name)?)?,
        None => &subject.module,
    };
    run_chain(&[&lua_source], &[(module, plugin)], scenario)
}

/// Plays `scenario` through the Lua `lua_sources` as written (one Lua filter each, in
/// filter-chain order) and through `plugins`, one filter
/// chain of modules each with its own configuration (the scenario's `config` is not used).
pub fn run_chain(
    lua_sources: &[&str],
    plugins: &[(&WasmModule, Plugin)],
    scenario: &Scenario,
) -> Result<Report, String> {
    let clock = Clock::at_millis(DEFAULT_START_MS);
    let process = Process::new();
    let unique_ids = plugins.iter().any(|(_, plugin)| {
        plugin
            .configuration
            .as_deref()
            .is_some_and(renders_unique_ids)
    });
    let mut lua_workers = Vec::new();
    let mut wasm_workers = Vec::new();
    for worker in 0..scenario.workers.max(1) {
        lua_workers.push(
            LuaChain::start(lua_sources, &clock)
                .map_err(|e| format!("Lua worker {worker}: {e}"))?,
        );
        let mut wasm = WasmChain::start(plugins, &process, &clock).map_err(|e| {
            let logs: Vec<String> = e.logs.iter().map(ToString::to_string).collect();
            format!(
                "Wasm worker {worker}: {} (logs: {})",
                e.reason,
                logs.join("; ")
            )
        })?;
        wasm.take_logs();
        wasm_workers.push(wasm);
    }
    let mut report = Report::default();
    let mut index = 0;
    for spec in &scenario.exchanges {
        if let Some(at) = spec.at_ms {
            clock.set_millis(at);
        }
        clock.set_nanos(clock.nanos() + spec.advance_ms * 1_000_000);
        let exchange = Exchange {
            route_metadata: scenario.route_metadata.clone(),
            ..spec.exchange()
        };
        let (Some(lua), Some(wasm)) = (
            lua_workers.get_mut(spec.worker),
            wasm_workers.get_mut(spec.worker),
        ) else {
            return Err(format!("exchange {index}: no worker {}", spec.worker));
        };
        for _ in 0..spec.repeat {
            // Both hosts start at the same time (the upstream's delay moves the clock).
            let at = clock.nanos();
            let lua_outcome = lua.exchange(&exchange);
            clock.set_nanos(at);
            let wasm_outcome = wasm.exchange(&exchange);
            let (lua_outcome, wasm_outcome) = match unique_ids {
                true => (
                    mask_unique_ids(&lua_outcome),
                    mask_unique_ids(&wasm_outcome),
                ),
                false => (lua_outcome, wasm_outcome),
            };
            let label = format!(
                "{} / exchange {index} (worker {}, t={} ms)",
                scenario.name,
                spec.worker,
                clock.millis()
            );
            if scenario.differs.is_none() {
                if let Some(diff) = diff::side_by_side(
                    "Lua (LuaJIT)",
                    &reply_headers_by_name(&lua_outcome),
                    "Wasm (wasmtime)",
                    &reply_headers_by_name(&wasm_outcome),
                ) {
                    report
                        .failures
                        .push(format!("{label}: Lua and Wasm differ\n{diff}"));
                }
            }
            for (host, expect, outcome) in [
                ("Lua", &spec.expect, &lua_outcome),
                ("Wasm", &spec.expect, &wasm_outcome),
                ("Lua", &spec.expect_lua, &lua_outcome),
                ("Wasm", &spec.expect_wasm, &wasm_outcome),
            ] {
                for failure in check(expect, outcome) {
                    report.failures.push(format!("{label}: {host}: {failure}"));
                }
            }
            report.exchanges.push(ExchangeResult {
                index,
                at_ms: clock.millis(),
                lua: lua_outcome,
                wasm: wasm_outcome,
            });
            index += 1;
        }
    }
    report.metrics = process.borrow().metrics();
    for (name, want) in &scenario.metrics {
        let got = report.metrics.get(name).copied().unwrap_or(0);
        if got != *want {
            report.failures.push(format!(
                "{}: Wasm metric {name} = {got}, expected {want}",
                scenario.name
            ));
        }
    }
    Ok(report)
}
