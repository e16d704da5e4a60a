//! `moonshift migrate FILE`: an EnvoyFilter's Lua, converted, deployed and compared.
//!
//! 1. The Lua is found in the file: an Istio `EnvoyFilter` (YAML, several documents allowed), an
//!    Envoy config (YAML or JSON), or a `.lua` file. Lua filter configs carry it as
//!    `inline_code` or `default_source_code.inline_string`.
//! 2. [`lua::read`] reads it with a real Lua parser into header operations, log lines and local
//!    replies; anything else is reported (line, column, why, what instead) and the command exits
//!    1 without writing a configuration: a partial conversion is never presented as complete.
//! 3. The steps become one `pipeline` plugin (response-decorator first, so that the script's
//!    local replies pass through it as they pass through `envoy_on_response`; then the request
//!    steps in order), checked by the module's own validation.
//! 4. `WasmPlugin` and `TrafficExtension` manifests keep the EnvoyFilter's namespace, workload
//!    selector and direction; the report lists what was converted and how.
//! 5. The Lua and the plugin are compared on requests derived from what the Lua reads (every
//!    header present with the values its conditions name, and absent; its paths; its methods),
//!    plus the user's own; the exit status is 0 only when every request behaves the same.

pub mod lua;
mod output;
mod raises;
mod report;
mod requests;
mod rollout;
mod samples;
mod source;

use crate::{compare, validate};
use lua::{Reading, Reads, Step};
use output::{fail_strategy, route_variants, write, write_manifests};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The EnvoyFilter (YAML), Envoy config, or .lua file.
    pub file: PathBuf,
    /// Where to write the plugin config, the manifests and the report.
    #[arg(long, default_value = "moonshift-out")]
    pub out: PathBuf,
    /// The registry and repository you pushed the images to (`make push REGISTRY=...`); the
    /// default is a placeholder that no cluster can pull.
    #[arg(long, default_value = crate::manifests::PLACEHOLDER_PREFIX)]
    pub image_prefix: String,
    /// What to deploy: a WasmPlugin, Istio 1.30's TrafficExtension, or the script itself as a
    /// managed Lua TrafficExtension. One set is written, with the rollout that replaces the
    /// EnvoyFilter (`rollout.sh`).
    #[arg(long, value_enum, default_value_t = output::Kind::Wasmplugin)]
    pub kind: output::Kind,
    /// The image tag.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub version: String,
    /// Requests to compare on as well (a scenario file, or one JSON request per line).
    #[arg(long)]
    pub requests: Option<PathBuf>,
    /// Where `make build` wrote the modules (pipeline.wasm, moonshift-bundle.wasm).
    #[arg(long)]
    pub modules: Option<PathBuf>,
    /// Only convert and write; do not compare.
    #[arg(long, conflicts_with = "envoy")]
    pub no_compare: bool,
    /// Print the result as JSON (verdict, constructs not converted, every request's verdict), for CI.
    #[arg(long)]
    pub json: bool,
    /// The WasmPlugin's failStrategy; default: FAIL_CLOSE when the script gates requests (a 4xx
    /// reply), else FAIL_OPEN as the Lua.
    #[arg(long, value_parser = ["FAIL_OPEN", "FAIL_CLOSE"])]
    pub fail_strategy: Option<String>,
    /// Compare in two real Envoys as well: the script as Envoy's Lua filter runs it (written to
    /// `<out>/original.lua`) and the plugin (Envoy from ENVOY_BIN, else `.venv/bin/envoy`).
    #[arg(long)]
    pub envoy: bool,
}

/// The pipeline configuration the steps make.
pub fn pipeline_config(reading: &Reading) -> Value {
    let mut filters = Vec::new();
    let response: Vec<&Value> = reading
        .response
        .iter()
        .filter_map(|s| match s {
            Step::Header(op) => Some(op),
            _ => None,
        })
        .collect();
    if !response.is_empty() {
        filters.push(json!({"filter": "response-decorator", "config": {"operations": response}}));
    }
    let mut pending: Vec<Value> = Vec::new();
    let flush = |pending: &mut Vec<Value>, filters: &mut Vec<Value>| {
        if !pending.is_empty() {
            filters.push(json!({"filter": "request-decorator", "config": {"operations": std::mem::take(pending)}}));
        }
    };
    for step in &reading.request {
        match step {
            Step::Header(op) => pending.push(op.clone()),
            Step::Log(config) => {
                flush(&mut pending, &mut filters);
                filters.push(json!({"filter": "path-logger", "config": config}));
            }
            Step::ResponseLog(_) => {}
            Step::Reply(rule) => {
                flush(&mut pending, &mut filters);
                // Consecutive replies are one local-reply's rules, tried in order.
                match filters.last_mut() {
                    Some(last) if last["filter"] == "local-reply" => {
                        if let Some(rules) = last["config"]["rules"].as_array_mut() {
                            rules.push(rule.clone());
                        }
                    }
                    _ => {
                        filters.push(json!({"filter": "local-reply", "config": {"rules": [rule]}}))
                    }
                }
            }
        }
    }
    flush(&mut pending, &mut filters);
    // The response's log line goes with the last request line (lua::read allows one), or in a
    // path-logger of its own, whose empty message logs no request line.
    for step in &reading.response {
        if let Step::ResponseLog(line) = step {
            match filters
                .iter_mut()
                .rev()
                .find(|f| f["filter"] == "path-logger")
            {
                Some(logger) => logger["config"]["response"] = line.clone(),
                None => filters.push(
                    json!({"filter": "path-logger", "config": {"message": "", "response": line}}),
                ),
            }
        }
    }
    json!({"filters": filters})
}

/// The plugin for several Lua filters in chain order. In Envoy, the scripts' request functions
/// run in order, and their response functions in reverse, on every response: also on a local
/// reply one of them sends, which goes through every Lua filter's `envoy_on_response`, the
/// later ones' too (observed in Envoy 1.40). The pipeline passes a local reply back only
/// through the members before the one that sent it, so every script's response steps come
/// first, in script order (the pipeline runs them in reverse), then every script's request
/// steps in order: as [`pipeline_config`] does for one script.
pub fn chain_config(readings: &[&Reading]) -> Value {
    let members = |reading: &Reading| match pipeline_config(reading) {
        Value::Object(mut config) => match config.remove("filters") {
            Some(Value::Array(filters)) => filters,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let (mut response, mut request) = (Vec::new(), Vec::new());
    for reading in readings {
        for member in members(reading) {
            match member["filter"] == "response-decorator" {
                true => response.push(member),
                false => request.push(member),
            }
        }
    }
    response.extend(request);
    json!({"filters": response})
}

/// Writes the report and prints it (or its JSON); true for exit status 0.
fn finish(args: &Args, outcome: &report::Outcome) -> Result<bool, String> {
    let text = report::markdown(outcome);
    write(&args.out, "report.md", &text, args.json)?;
    match args.json {
        true => println!("{}", report::json(outcome)),
        false => print!("{text}"),
    }
    Ok(matches!(
        outcome.verdict,
        report::Kind::Converted | report::Kind::Unverified
    ))
}

pub fn run(args: &Args) -> Result<bool, String> {
    let result = migrate(args);
    if let (true, Err(error)) = (args.json, &result) {
        println!(
            "{}",
            json!({"file": args.file.display().to_string(), "verdict": "error", "error": error})
        );
    }
    result
}

fn migrate(args: &Args) -> Result<bool, String> {
    let text = crate::input::read(&args.file)?;
    let found = source::find(&text, &args.file)?;
    let origin = args.file.display().to_string();
    let mut readings = Vec::new();
    for (i, script) in found.scripts.iter().enumerate() {
        let name = match found.scripts.len() {
            1 => origin.clone(),
            n => format!("{origin}, Lua filter {} of {n}", i + 1),
        };
        readings.push((name, lua::read(script)?));
    }
    let refused: Vec<lua::Unconverted> = found
        .refused
        .iter()
        .map(|why| lua::Unconverted {
            line: 0,
            column: 0,
            code: String::new(),
            why: why.clone(),
            instead: "migrate each script on its own, or keep the Lua (TrafficExtension `lua:`)"
                .into(),
        })
        .collect();
    let mut outcome = report::Outcome {
        origin: &origin,
        verdict: report::Kind::Refused,
        readings: &readings,
        refused,
        config: None,
        fail_strategy: None,
        verdicts: &[],
        branches: (0, 0),
    };
    if !outcome.refused.is_empty() || readings.iter().any(|(_, r)| !r.unconverted.is_empty()) {
        return finish(args, &outcome);
    }
    let mut config = chain_config_of(&readings);
    let modules = args
        .modules
        .clone()
        .unwrap_or_else(|| moonshift_harness::artifacts::workspace_root().join("target/filters"));
    let pipeline = compare::Plugin {
        wasm: modules.join("pipeline.wasm"),
        root_id: "pipeline".into(),
        config: None,
    };
    // The requests the compare plays: derived from what the scripts test, and the user's; and
    // the routes.
    let scripts: Vec<&Reading> = readings.iter().map(|(_, r)| r).collect();
    let generated = requests::derive_all(&scripts);
    let mut specs: Vec<_> = generated.iter().filter_map(requests::spec).collect();
    if let Some(path) = &args.requests {
        specs.extend(crate::input::requests(path)?);
    }
    let routes = route_variants(&Reads::of(&scripts));
    // The module's own checks first (a configuration it refuses is not played), then the lines
    // a raising script logs, learned on the same requests (each line literal text, checked
    // again with the rest).
    let mut checked = module_refusal(&config);
    if checked.is_none() && raises::marked(&config) {
        if let Err(why) = raises::learn(&mut config, &found.scripts, &pipeline, &specs, &routes)? {
            outcome.refused.push(lua::Unconverted {
                line: 0,
                column: 0,
                code: String::new(),
                why,
                instead: "test that the header is there before using it (`if v then ... end`), or keep the Lua".into(),
            });
            return finish(args, &outcome);
        }
        checked = module_refusal(&config);
    }
    if let Some(refused) = checked {
        outcome.refused.push(refused);
        return finish(args, &outcome);
    }
    let (strategy, why) = fail_strategy(&readings, args.fail_strategy.as_deref());
    outcome.config = Some(&config);
    outcome.fail_strategy = Some((strategy.clone(), why));
    let mut verdicts = Vec::new();
    if !args.no_compare {
        let plugins = [compare::Plugin {
            config: Some(config.clone()),
            ..pipeline.clone()
        }];
        let lua_files = match args.envoy {
            false => Vec::new(),
            true => match found.scripts.as_slice() {
                [one] => vec![write(&args.out, "original.lua", one, args.json)?],
                several => several
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        write(&args.out, &format!("original-{}.lua", i + 1), s, args.json)
                    })
                    .collect::<Result<_, _>>()?,
            },
        };
        for (suffix, metadata) in routes {
            let mut round =
                compare::compare(&found.scripts, &plugins, specs.clone(), metadata.clone())?;
            if args.envoy {
                round.extend(compare::compare_in_envoy(
                    &lua_files, &plugins, &specs, &metadata,
                )?);
            }
            verdicts.extend(round.into_iter().map(|mut v| {
                v.request.push_str(&suffix);
                v
            }));
        }
        if !args.json {
            println!(
                "\n## Compare: the Lua and the plugin on {} requests\n",
                verdicts.len()
            );
            compare::print(&verdicts, false);
        }
    }
    let same = verdicts.iter().all(|v| v.difference.is_none());
    outcome.verdict = match (args.no_compare, same) {
        (true, _) => report::Kind::Unverified,
        (false, true) => report::Kind::Converted,
        (false, false) => report::Kind::Differs,
    };
    outcome.verdicts = &verdicts;
    let played = match args.no_compare {
        true => &[][..],
        false => &generated[..],
    };
    outcome.branches = requests::branches_taken_all(&scripts, played);
    let folder = match outcome.verdict {
        report::Kind::Differs => args.out.join("rejected"),
        _ => args.out.clone(),
    };
    write_manifests(args, &found, &config, &strategy, &modules, &folder)?;
    finish(args, &outcome)
}

/// Why the pipeline module refuses `config`, as a refusal of the script; `None`: it takes it.
fn module_refusal(config: &Value) -> Option<lua::Unconverted> {
    validate::check("pipeline", config).map(|refused| lua::Unconverted {
        line: 0,
        column: 0,
        code: String::new(),
        why: format!("the pipeline module refuses the configuration this script makes: {refused}"),
        instead: "split the script (fewer operations or rules per plugin), or keep it in Lua"
            .into(),
    })
}

/// The configuration of every script's steps, in chain order.
fn chain_config_of(readings: &[(String, Reading)]) -> Value {
    let list: Vec<&Reading> = readings.iter().map(|(_, r)| r).collect();
    chain_config(&list)
}
