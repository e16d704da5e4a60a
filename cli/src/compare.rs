//! `moonshift compare`: the harness as a command. Any Lua script against any proxy-wasm module,
//! on the same requests and the same clock; a verdict per request, and every observable
//! (upstream headers in order, status, response headers, body, log lines) side by side; with
//! `--envoy`, the same requests in two real Envoys as well.

use crate::input;
use moonshift_envoy::envoy;
use moonshift_envoy::runner::{self, Protocol};
use moonshift_harness::diff;
use moonshift_harness::exchange::{reply_headers_by_name, Outcome, RouteMetadata};
use moonshift_harness::scenario::{self, ExchangeSpec, Scenario};
use moonshift_harness::wasm::{self, WasmModule};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Lua script, run as Envoy's Lua filter runs it (as written; no config table needed).
    /// Given several times, several Lua filters in one filter chain, in order.
    #[arg(long, required = true)]
    pub lua: Vec<PathBuf>,
    /// The proxy-wasm module (any: Moonshift's or not).
    #[arg(long, required_unless_present = "chain")]
    pub wasm: Option<PathBuf>,
    /// The module's root_id (Moonshift's bundle: a filter name or `pipeline`); default: empty.
    #[arg(long, default_value = "", conflicts_with = "chain")]
    pub root_id: String,
    /// The module's configuration, JSON or YAML; default: none.
    #[arg(long, conflicts_with = "chain")]
    pub config: Option<PathBuf>,
    /// Several modules as several plugins in one filter chain, in order, instead of `--wasm`: a
    /// JSON or YAML list of `{wasm, root_id, config}` (`wasm` relative to the file's folder).
    #[arg(long, conflicts_with = "wasm")]
    pub chain: Option<PathBuf>,
    /// The route's metadata, JSON or YAML `{namespace: {key: value}}`, for a script that reads
    /// `metadata():get(key)` (Envoy's Lua reads its own filter's name, then
    /// `envoy.filters.http.lua`); default: none.
    #[arg(long)]
    pub route_metadata: Option<PathBuf>,
    /// Requests: a scenario file (tests/scenarios/*.json), or one JSON request per line:
    /// {"method": "POST", "path": "/api", "headers": [["x-a", "1"]]}.
    #[arg(long)]
    pub requests: PathBuf,
    /// Print the verdicts as JSON, for CI.
    #[arg(long)]
    pub json: bool,
    /// Also play the requests in a real Envoy: the Lua in one, the module in another (Envoy from
    /// ENVOY_BIN, else the project's `.venv/bin/envoy`, which `make setup` installs).
    #[arg(long)]
    pub envoy: bool,
}

/// One plugin of the chain the Lua is compared with.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub wasm: PathBuf,
    pub root_id: String,
    pub config: Option<Value>,
}

/// One request's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub request: String,
    /// The side-by-side difference; `None`: the same.
    pub difference: Option<String>,
}

/// A short label for a request: method, path and the headers it adds.
fn label(spec: &ExchangeSpec) -> String {
    let exchange = spec.exchange();
    let get = |name: &str| {
        exchange
            .request_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let mut out = format!("{} {}", get(":method"), get(":path"));
    for (name, value) in &exchange.request_headers {
        if !name.starts_with(':') {
            out.push_str(&format!(" {name}: {}", String::from_utf8_lossy(value)));
        }
    }
    // The upstream's reply, when a request gives it headers of its own.
    if !spec.upstream.headers.is_empty()
        && spec.upstream.headers != scenario::Upstream::default().headers
    {
        out.push_str(" (upstream replies");
        for (name, value) in &exchange.upstream_headers {
            out.push_str(&format!(" {name}: {}", String::from_utf8_lossy(value)));
        }
        out.push(')');
    }
    out
}

/// The name of the `i`th plugin of a compared chain, in-process and in Envoy alike (a module may
/// log it or key shared data by it). Plugins of one chain need distinct names, as Istio's
/// `<namespace>.<name>` are.
fn plugin_name(i: usize, root_id: &str) -> String {
    format!("chain-{i}.{root_id}")
}

/// Plays `requests` through `lua_sources` (one Lua filter each, one filter chain) and through
/// `plugins` (one filter chain), on a route with `route_metadata`.
pub fn compare(
    lua_sources: &[String],
    plugins: &[Plugin],
    requests: Vec<ExchangeSpec>,
    route_metadata: RouteMetadata,
) -> Result<Vec<Verdict>, String> {
    let labels: Vec<String> = requests.iter().map(label).collect();
    let played = play(lua_sources, plugins, requests, route_metadata)?;
    Ok(played
        .iter()
        .zip(labels)
        .map(|((lua, wasm), request)| Verdict {
            request,
            difference: diff::side_by_side(
                "Lua",
                &reply_headers_by_name(lua),
                "Wasm",
                &reply_headers_by_name(wasm),
            ),
        })
        .collect())
}

/// What the Lua and the plugins did with each of `requests`, in-process.
pub fn play(
    lua_sources: &[String],
    plugins: &[Plugin],
    requests: Vec<ExchangeSpec>,
    route_metadata: RouteMetadata,
) -> Result<Vec<(Outcome, Outcome)>, String> {
    let modules = plugins
        .iter()
        .map(|p| WasmModule::load(&p.wasm))
        .collect::<Result<Vec<_>, _>>()?;
    let chain: Vec<(&WasmModule, wasm::Plugin)> = modules
        .iter()
        .zip(plugins)
        .enumerate()
        .map(|(i, (module, p))| {
            let plugin = wasm::Plugin {
                plugin_name: plugin_name(i, &p.root_id),
                ..wasm::Plugin::named(&p.root_id, p.config.as_ref())
            };
            (module, plugin)
        })
        .collect();
    let scenario = Scenario {
        name: "compare".into(),
        config: None,
        workers: 1,
        differs: None,
        not_in_envoy: None,
        exchanges: requests,
        metrics: Default::default(),
        route_metadata,
        lua_as_written: true,
        module: None,
        demo: false,
    };
    let sources: Vec<&str> = lua_sources.iter().map(String::as_str).collect();
    let report = scenario::run_chain(&sources, &chain, &scenario)?;
    Ok(report
        .exchanges
        .into_iter()
        .map(|result| (result.lua, result.wasm))
        .collect())
}

/// Plays `requests` in two real Envoys, one with the Lua files at `lua` as Envoy loads them (one
/// Lua filter each, in order), one with the modules; compares what clients and the upstream observed (Envoy's own headers left out, a
/// timestamp the plugin writes counted equal when it is a second the request was in flight).
pub fn compare_in_envoy(
    lua: &[PathBuf],
    plugins: &[Plugin],
    requests: &[ExchangeSpec],
    route_metadata: &RouteMetadata,
) -> Result<Vec<Verdict>, String> {
    let envoy_bin = moonshift_harness::artifacts::envoy_bin_path();
    if !envoy_bin.exists() {
        return Err(format!(
            "--envoy: no Envoy at {} (set ENVOY_BIN, or run `make setup`)",
            envoy_bin.display()
        ));
    }
    let absolute = |p: &Path| std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()));
    let lua_entries = lua
        .iter()
        .map(|path| absolute(path).map(|path| envoy::lua_filter_at(&path)))
        .collect::<Result<Vec<_>, String>>()?;
    let wasm_entries = plugins
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let configuration = p.config.as_ref().map(Value::to_string);
            let mut entry =
                envoy::wasm_filter_at(&p.root_id, &absolute(&p.wasm)?, configuration.as_deref());
            entry["typed_config"]["config"]["name"] = json!(plugin_name(i, &p.root_id));
            Ok(entry)
        })
        .collect::<Result<Vec<_>, String>>()?;
    // Envoy's clock is real: clock moves are slept through when they are short, else left out
    // (for both sides alike), as the scenario runner does.
    let sleep: u64 = requests.iter().map(|r| r.advance_ms).sum();
    let mut played = requests.to_vec();
    if sleep > runner::MAX_SLEEP_MS {
        eprintln!(
            "compare --envoy: the requests move the clock {sleep} ms; Envoy's clock is real, so they are sent without waiting"
        );
        for request in &mut played {
            request.advance_ms = 0;
        }
    }
    let with_lua = runner::play_entries(
        "compare-lua",
        lua_entries,
        &played,
        route_metadata,
        Protocol::Http1,
    )?;
    let with_wasm = runner::play_entries(
        "compare-wasm",
        wasm_entries,
        &played,
        route_metadata,
        Protocol::Http1,
    )?;
    // A timestamp any plugin writes may be any second the request was in flight; a fresh UUID
    // any plugin renders is compared by its form.
    let rules: Vec<runner::ClockRule> = plugins
        .iter()
        .map(|p| runner::ClockRule::for_config(&p.root_id, p.config.as_ref()))
        .collect();
    let rule = runner::ClockRule {
        unique_ids: rules.iter().any(|r| r.unique_ids),
        timestamps: rules.into_iter().flat_map(|r| r.timestamps).collect(),
    };
    let verdicts = requests
        .iter()
        .zip(with_lua.outcomes.iter().zip(&with_wasm.outcomes))
        .map(|(spec, played)| {
            let difference = match played {
                (Some((a, a_window)), Some((b, b_window))) => {
                    let seen = |o, w| {
                        runner::lua_reply_unordered(&runner::canonical_in_envoy(
                            o,
                            &rule,
                            w,
                            Protocol::Http1,
                        ))
                    };
                    let (a, mut b) = (seen(a, *a_window), seen(b, *b_window));
                    runner::reconcile_reset(&a, &mut b);
                    diff::side_by_side("Envoy + Lua", &a, "Envoy + Wasm", &b)
                }
                _ => Some("not sent: a request without :path cannot be sent to Envoy".into()),
            };
            Verdict {
                request: format!("{} (in Envoy)", label(spec)),
                difference,
            }
        })
        .collect();
    Ok(verdicts)
}

/// Prints the verdicts; true when every request behaved the same.
pub fn print(verdicts: &[Verdict], as_json: bool) -> bool {
    let same = verdicts.iter().filter(|v| v.difference.is_none()).count();
    if as_json {
        let list: Vec<Value> = verdicts
            .iter()
            .map(|v| json!({"request": v.request, "same": v.difference.is_none(), "difference": v.difference}))
            .collect();
        println!(
            "{}",
            json!({"same": same, "requests": verdicts.len(), "verdicts": list})
        );
    } else {
        for v in verdicts {
            match &v.difference {
                None => println!("  same     {}", v.request),
                Some(d) => println!("  DIFFERS  {}\n{d}", v.request),
            }
        }
        println!("{same} of {} requests behave the same", verdicts.len());
    }
    same == verdicts.len()
}

/// A plugin as a `--chain` file lists it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainEntry {
    wasm: PathBuf,
    #[serde(default)]
    root_id: String,
    #[serde(default)]
    config: Option<Value>,
}

/// The plugins `args` name: `--wasm` with its root_id and config, or the `--chain` file's.
fn plugins(args: &Args) -> Result<Vec<Plugin>, String> {
    if let Some(path) = &args.chain {
        let what = path.display().to_string();
        let list: Vec<ChainEntry> =
            serde_json::from_value(input::config(&input::read(path)?, &what)?)
                .map_err(|e| format!("{what}: a list of {{wasm, root_id, config}}: {e}"))?;
        if list.is_empty() {
            return Err(format!("{what}: the chain has no plugin"));
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        return Ok(list
            .into_iter()
            .map(|entry| Plugin {
                wasm: folder.join(entry.wasm),
                root_id: entry.root_id,
                config: entry.config,
            })
            .collect());
    }
    let wasm = args.wasm.clone().ok_or("--wasm or --chain is required")?;
    let config = match &args.config {
        Some(path) => Some(input::config(
            &input::read(path)?,
            &path.display().to_string(),
        )?),
        None => None,
    };
    Ok(vec![Plugin {
        wasm,
        root_id: args.root_id.clone(),
        config,
    }])
}

pub fn run(args: &Args) -> Result<bool, String> {
    let lua = args
        .lua
        .iter()
        .map(|path| input::read(path))
        .collect::<Result<Vec<_>, _>>()?;
    let plugins = plugins(args)?;
    let route_metadata: RouteMetadata = match &args.route_metadata {
        Some(path) => {
            let what = path.display().to_string();
            serde_json::from_value(input::config(&input::read(path)?, &what)?)
                .map_err(|e| format!("{what}: {{namespace: {{key: value}}}}: {e}"))?
        }
        None => RouteMetadata::new(),
    };
    let requests = input::requests(&args.requests)?;
    if requests.is_empty() {
        return Err(format!("{}: no requests", args.requests.display()));
    }
    let mut verdicts = compare(&lua, &plugins, requests.clone(), route_metadata.clone())?;
    if args.envoy {
        verdicts.extend(compare_in_envoy(
            &args.lua,
            &plugins,
            &requests,
            &route_metadata,
        )?);
    }
    Ok(print(&verdicts, args.json))
}
