//! `moonshift compare`: the harness as a command. Any Lua script against any proxy-wasm module,
//! on the same requests and the same clock; a verdict per request, and every observable
//! (upstream headers in order, status, response headers, body, log lines) side by side.

use crate::input;
use moonshift_harness::diff;
use moonshift_harness::exchange::reply_headers_by_name;
use moonshift_harness::scenario::{self, ExchangeSpec, Scenario, Subject};
use moonshift_harness::wasm::WasmModule;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Lua script, run as Envoy's Lua filter runs it (as written; no config table needed).
    #[arg(long)]
    pub lua: PathBuf,
    /// The proxy-wasm module (any: Moonshift's or not).
    #[arg(long)]
    pub wasm: PathBuf,
    /// The module's root_id (Moonshift's bundle: a filter name or `pipeline`); default: empty.
    #[arg(long, default_value = "")]
    pub root_id: String,
    /// The module's configuration, JSON or YAML; default: none.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Requests: a scenario file or one JSON request per line (see `input::requests`).
    #[arg(long)]
    pub requests: PathBuf,
    /// Print the verdicts as JSON, for CI.
    #[arg(long)]
    pub json: bool,
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
    out
}

/// Plays `requests` through `lua_source` and `module` (with `config` for the module).
pub fn compare(
    lua_source: &str,
    module: WasmModule,
    root_id: &str,
    config: Option<Value>,
    requests: Vec<ExchangeSpec>,
) -> Result<Vec<Verdict>, String> {
    let labels: Vec<String> = requests.iter().map(label).collect();
    let scenario = Scenario {
        name: "compare".into(),
        config,
        workers: 1,
        differs: None,
        not_in_envoy: None,
        exchanges: requests,
        metrics: Default::default(),
        lua_as_written: true,
    };
    let subject = Subject {
        name: root_id.to_string(),
        lua_source: lua_source.to_string(),
        module,
    };
    let report = scenario::run(&subject, &scenario)?;
    Ok(report
        .exchanges
        .iter()
        .zip(labels)
        .map(|(result, request)| Verdict {
            request,
            difference: diff::side_by_side(
                "Lua",
                &reply_headers_by_name(&result.lua),
                "Wasm",
                &reply_headers_by_name(&result.wasm),
            ),
        })
        .collect())
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

pub fn run(args: &Args) -> Result<bool, String> {
    let lua = input::read(&args.lua)?;
    let module = WasmModule::load(&args.wasm)?;
    let config = match &args.config {
        Some(path) => Some(input::config(
            &input::read(path)?,
            &path.display().to_string(),
        )?),
        None => None,
    };
    let requests = input::requests(&args.requests)?;
    if requests.is_empty() {
        return Err(format!("{}: no requests", args.requests.display()));
    }
    let verdicts = compare(&lua, module, &args.root_id, config, requests)?;
    Ok(print(&verdicts, args.json))
}
