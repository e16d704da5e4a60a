//! Long because: the case table (which configurations each case compares) and the timed run's
//! driver sit together, as they did before round 3 (639 lines); splitting the case table into
//! its own module is issue 26's work. The counted run lives in `instructions.rs`.
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

mod costs;
mod instructions;
mod load;
mod report;

use moonshift_envoy::envoy::{self, Envoy, Launch};
use moonshift_envoy::runner::{self, filter_entry, Flavour};
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

fn lua(filter: &str, config: Option<Value>) -> Value {
    let dir = moonshift_envoy::paths::workspace_root().join("target/bench/lua");
    filter_entry(filter, config.as_ref(), Flavour::Lua, &dir).unwrap_or_else(|e| panic!("{e}"))
}

fn wasm(filter: &str, config: Option<Value>) -> Value {
    envoy::try_wasm_filter(filter, config.map(|c| c.to_string()).as_deref())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `bench/floor/<name>.wat`, assembled with binaryen's `wasm-as` into target/bench/floor/.
fn hand_written(name: &str) -> std::path::PathBuf {
    let root = moonshift_envoy::paths::workspace_root();
    let out_dir = root.join("target/bench/floor");
    let _ = std::fs::create_dir_all(&out_dir);
    let out = out_dir.join(format!("{name}.wasm"));
    let status = std::process::Command::new("wasm-as")
        .arg(root.join("bench/floor").join(format!("{name}.wat")))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("wasm-as (binaryen, `make setup`): {e}"));
    assert!(status.success(), "wasm-as failed on bench/floor/{name}.wat");
    out
}

/// A hand-written module as the plugin `root_id`, without configuration.
fn hand_written_variant(label: &'static str, name: &str, root_id: &str) -> Variant {
    Variant {
        label,
        filters: vec![envoy::wasm_filter_at(root_id, &hand_written(name), None)],
        patch: None,
    }
}

/// A filter's facts (its crate's `[package.metadata.moonshift]`).
fn facts(filter: &str) -> Option<moonshift_oci::facts::Facts> {
    moonshift_oci::facts::of(&moonshift_envoy::paths::workspace_root(), filter).ok()
}

/// The configuration a filter is measured with: its own `bench_config` (its Cargo.toml), else
/// the one it is deployed with (`plugin_config`, in `deploy/`).
fn bench_config(filter: &str) -> Option<Value> {
    facts(filter).map(|facts| facts.bench_config)
}

/// The floor: the first filter (by name) whose crate names a configuration under which it does
/// nothing (`bench_floor_config`), with that configuration.
fn floor() -> Option<(&'static str, Value)> {
    moonshift_envoy::paths::FILTERS
        .iter()
        .copied()
        .find_map(|filter| Some((filter, facts(filter)?.bench_floor_config?)))
}

/// C and D: the filter as its Lua reference and as its Wasm module, with the same configuration.
fn lua_and_wasm(filter: &str, config: Option<Value>) -> [Variant; 2] {
    [
        Variant {
            label: "C Lua",
            filters: vec![lua(filter, config.clone())],
            patch: None,
        },
        Variant {
            label: "D Wasm",
            filters: vec![wasm(filter, config)],
            patch: None,
        },
    ]
}

/// B for a filter: its crate's `bench_native` (bootstrap fields), else its native equivalent
/// with its benchmark configuration (`moonshift_bundle::native`); `None` if it has neither.
fn native(facts: &moonshift_oci::facts::Facts) -> Option<Variant> {
    let (filters, patch) = match &facts.bench_native {
        Some(patch) => (vec![], Some(patch.clone())),
        None => (
            vec![moonshift_bundle::native(&facts.filter, Some(&facts.bench_config), 1).ok()?],
            None,
        ),
    };
    Some(Variant {
        label: "B native",
        filters,
        patch,
    })
}

/// A filter's case, if it has a native way to the same effect: A none, B native, C Lua and
/// D Wasm with its `bench_config`, and G the same effect by a hand-written module where its
/// crate names one (`bench_by_hand`: the SDK's share of D's cost).
fn filter_case(facts: &moonshift_oci::facts::Facts) -> Option<Case> {
    let name = facts.filter.as_str();
    let mut variants = with(
        vec![none(), native(facts)?],
        lua_and_wasm(name, Some(facts.bench_config.clone())),
    );
    if let Some(by_hand) = &facts.bench_by_hand {
        variants.push(hand_written_variant(
            "G Wasm by hand, no SDK",
            by_hand,
            name,
        ));
    }
    Some(Case {
        name: name.to_string(),
        variants,
        direct_only: false,
    })
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

/// `fixed` variants, then C and D.
fn with(fixed: Vec<Variant>, pair: [Variant; 2]) -> Vec<Variant> {
    fixed.into_iter().chain(pair).collect()
}

fn none() -> Variant {
    Variant {
        label: "A none",
        filters: vec![],
        patch: None,
    }
}

pub fn cases() -> Vec<Case> {
    let filters = moonshift_envoy::paths::FILTERS.iter().copied();
    let all_lua: Vec<_> = filters.clone().map(|f| lua(f, bench_config(f))).collect();
    let all_wasm: Vec<_> = filters.clone().map(|f| wasm(f, bench_config(f))).collect();
    let all_bundle: Vec<_> = filters
        .clone()
        .map(|f| {
            let config = bench_config(f).map(|c| c.to_string());
            envoy::try_bundle_filter(f, "moonshift", config.as_deref())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut cases = Vec::new();
    if let Some((filter, config)) = floor() {
        // The floor: a filter doing nothing, to tell the platform's cost of a filter from the
        // cost of its work.
        cases.push(Case {
            name: "floor (a filter doing nothing)".into(),
            variants: with(vec![none()], lua_and_wasm(filter, Some(config))),
            direct_only: false,
        });
    }
    cases.push(Case {
        // What the platform costs before any module code: Envoy's Wasm filter with a module
        // it never enters, and with three empty callbacks, against an empty Lua script.
        name: "floor by hand (no SDK)".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua, empty envoy_on_response",
                filters: vec![envoy::lua_filter_at(
                    &moonshift_envoy::paths::workspace_root().join("bench/floor/empty.lua"),
                )],
                patch: None,
            },
            hand_written_variant("D Wasm, no callbacks", "no-callbacks", "floor"),
            hand_written_variant("F Wasm, three empty callbacks", "empty-callbacks", "floor"),
        ],
        direct_only: true,
    });
    // Each filter that has a native way to the same effect.
    cases.extend(filters.filter_map(facts).filter_map(|f| filter_case(&f)));
    if let Some(case) = seed_case() {
        cases.push(case);
    }
    cases.push(Case {
        name: "every filter chained".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua",
                filters: all_lua,
                patch: None,
            },
            Variant {
                label: "D Wasm",
                filters: all_wasm,
                patch: None,
            },
            Variant {
                label: "E Wasm, one shared module",
                filters: all_bundle,
                patch: None,
            },
        ],
        direct_only: false,
    });
    cases
}

/// The seed's script (`lua-reference/pipeline.lua`) against what `moonshift migrate` makes of
/// it (`examples/istio/seed-pipeline.json`): its three filters as three plugins, and as one
/// pipeline plugin.
fn seed_case() -> Option<Case> {
    let root = moonshift_envoy::paths::workspace_root();
    let text = std::fs::read_to_string(root.join("examples/istio/seed-pipeline.json")).ok()?;
    let pipeline: Value = serde_json::from_str(&text).ok()?;
    let members: Vec<Value> = pipeline
        .get("filters")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|m| Some(wasm(m["filter"].as_str()?, Some(m["config"].clone()))))
        .collect();
    Some(Case {
        name: "the seed's script".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua, the script",
                filters: vec![envoy::lua_filter_at(
                    &root.join("lua-reference/pipeline.lua"),
                )],
                patch: None,
            },
            Variant {
                label: "D Wasm, its filters as three plugins",
                filters: members,
                patch: None,
            },
            Variant {
                label: "E Wasm, one pipeline plugin",
                filters: vec![envoy::try_bundle_filter(
                    "pipeline",
                    "moonshift",
                    Some(&pipeline.to_string()),
                )
                .unwrap_or_else(|e| panic!("{e}"))],
                patch: None,
            },
        ],
        direct_only: false,
    })
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

fn rss_mib(pid: u32) -> f64 {
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
    let every: Vec<Value> = moonshift_envoy::paths::FILTERS
        .iter()
        .map(|filter| json!({"filter": filter, "config": bench_config(filter).unwrap_or_else(|| json!({}))}))
        .collect();
    rows.push(costs::measure(
        &format!("pipeline (all {} filters)", every.len()),
        "pipeline",
        "pipeline",
        Some(&json!({ "filters": every })),
    ));
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
fn arg_value(flag: &str) -> Option<String> {
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
    std::fs::write(&md_path, markdown).expect("write the report");
    std::fs::write(&svg_path, svg).expect("write the chart");
    println!(
        "wrote {} and {} in {:.0} s",
        md_path.display(),
        svg_path.display(),
        started.elapsed().as_secs_f64()
    );
}
