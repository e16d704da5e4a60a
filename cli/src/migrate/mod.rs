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
mod source;

use crate::manifests::{self, Plugin};
use crate::{compare, validate};
use lua::{Reading, Reads, Step};
use moonshift_harness::exchange::RouteMetadata;
use moonshift_harness::scenario::ExchangeSpec;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The EnvoyFilter (YAML), Envoy config, or .lua file.
    pub file: PathBuf,
    /// Where to write the plugin config, the manifests and the report.
    #[arg(long, default_value = "moonshift-out")]
    pub out: PathBuf,
    /// The registry and repository the images are pushed to.
    #[arg(long, default_value = "ghcr.io/moonshift")]
    pub image_prefix: String,
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
    json!({"filters": filters})
}

/// The plugin for several Lua filters in chain order. In Envoy, the scripts' request functions
/// run in order, and their response functions in reverse, on every response: also on a local
/// reply one of them sends, which goes through every Lua filter's `envoy_on_response`, the
/// later ones' too (observed in Envoy 1.40). The pipeline passes a local reply back only
/// through the members before the one that sent it, so every script's response steps come
/// first, in script order (the pipeline runs them in reverse), then every script's request
/// steps in order: as [`pipeline_config`] does for one script.
pub fn chain_config(readings: &[Reading]) -> Value {
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

/// The stay-on-Lua option: a TrafficExtension per script, named `name` (`name-1`, `name-2`, ...
/// with several, each with a priority that keeps their order: higher runs first).
fn lua_traffic_extensions(target: &manifests::Target, name: &str, scripts: &[String]) -> String {
    match scripts {
        [one] => manifests::yaml(&manifests::lua_traffic_extension(target, name, one)),
        several => several
            .iter()
            .enumerate()
            .map(|(i, script)| {
                let mut manifest =
                    manifests::lua_traffic_extension(target, &format!("{name}-{}", i + 1), script);
                manifest["spec"]["priority"] = json!(several.len() - i);
                manifests::yaml(&manifest)
            })
            .collect::<Vec<_>>()
            .join("---\n"),
    }
}

/// Requests that exercise what the Lua reads: a plain GET, then each header present (with every
/// value a condition names, or a placeholder) and all of them at once, each path, each method.
/// The headers read (pseudo-headers aside), each with the value a condition compares it to, or
/// one of its own.
fn valued(reads: &BTreeSet<(String, Option<String>)>) -> Vec<(String, String)> {
    reads
        .iter()
        .filter(|(name, _)| !name.starts_with(':'))
        .map(|(name, value)| {
            (
                name.clone(),
                value.clone().unwrap_or_else(|| "moonshift".into()),
            )
        })
        .collect()
}

pub fn derived_requests(reads: &Reads) -> Vec<ExchangeSpec> {
    let mut specs = Vec::new();
    // A request line as `--requests` takes them; the shape is fixed, so it always parses.
    let spec = |path: &str, method: &str, headers: Vec<(String, String)>| -> Option<ExchangeSpec> {
        serde_json::from_value(json!({"path": path, "method": method, "headers": headers})).ok()
    };
    specs.extend(spec("/", "GET", vec![]));
    specs.extend(spec("/orders/42?page=2", "POST", vec![]));
    let headers = valued(&reads.headers);
    for header in &headers {
        specs.extend(spec("/", "GET", vec![header.clone()]));
    }
    if headers.len() > 1 {
        let mut all = headers.clone();
        all.dedup_by(|a, b| a.0 == b.0);
        specs.extend(spec("/", "GET", all));
    }
    for path in &reads.paths {
        let path = if path.starts_with('/') {
            path.clone()
        } else {
            format!("/{path}")
        };
        specs.extend(spec(&path, "GET", vec![]));
        specs.extend(spec(&path, "GET", headers.clone()));
        specs.extend(spec(&format!("{path}x?q=1"), "GET", vec![]));
    }
    for method in &reads.methods {
        specs.extend(spec("/", method, headers.clone()));
    }
    // The upstream's reply with each response header the script reads, then with all of them.
    let replied = |headers: Vec<(String, String)>| -> Option<ExchangeSpec> {
        serde_json::from_value(json!({"path": "/", "upstream": {"headers": headers}})).ok()
    };
    let response_headers = valued(&reads.response_headers);
    for header in &response_headers {
        specs.extend(replied(vec![header.clone()]));
    }
    if response_headers.len() > 1 {
        let mut all = response_headers.clone();
        all.dedup_by(|a, b| a.0 == b.0);
        specs.extend(replied(all));
    }
    specs.truncate(64);
    specs
}

/// A route that has every metadata key the Lua reads, each with a value of its own, under the
/// name the compared Lua filter has (`envoy.filters.http.lua`).
pub fn derived_route_metadata(reads: &Reads) -> RouteMetadata {
    let fields: serde_json::Map<String, Value> = reads
        .metadata
        .iter()
        .map(|key| (key.clone(), json!(format!("moonshift-{key}"))))
        .collect();
    if fields.is_empty() {
        return RouteMetadata::new();
    }
    RouteMetadata::from([(moonshift_harness::lua::FILTER_NAME.to_string(), fields)])
}

fn report(origin: &str, reading: &Reading, config: Option<&Value>) -> String {
    let mut out = format!("# moonshift migrate: {origin}\n\n");
    if reading.unconverted.is_empty() {
        out.push_str("Every statement converted: one `pipeline` plugin replaces the script.\n\n");
    } else {
        let _ = writeln!(out, "**Not converted: {} statement(s).** No configuration was written; the script stays as it is until each one below is dealt with.\n", reading.unconverted.len());
        out.push_str("| line:column | code | why | instead |\n|---|---|---|---|\n");
        for u in &reading.unconverted {
            let _ = writeln!(
                out,
                "| {}:{} | `{}` | {} | {} |",
                u.line,
                u.column,
                u.code.replace('|', "\\|"),
                u.why,
                u.instead
            );
        }
        out.push('\n');
    }
    if !reading.converted.is_empty() {
        out.push_str("## Converted\n\n| line | code | became |\n|---|---|---|\n");
        for c in &reading.converted {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                c.line,
                c.code.replace('|', "\\|"),
                c.became.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    if !reading.notes.is_empty() {
        out.push_str("## Behaviour that differs in a corner\n\n");
        for note in &reading.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    if let Some(config) = config {
        let _ = writeln!(out, "## The plugin\n\n`pluginName: pipeline`, module `moonshift-bundle`:\n\n```json\n{}\n```", serde_json::to_string_pretty(config).unwrap_or_default());
    }
    out
}

/// Writes `dir/name`; its path.
fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(path)
}

pub fn run(args: &Args) -> Result<bool, String> {
    let text = crate::input::read(&args.file)?;
    let found = source::find(&text, &args.file)?;
    let origin = args.file.display().to_string();
    let readings = found
        .scripts
        .iter()
        .map(|script| lua::read(script))
        .collect::<Result<Vec<_>, _>>()?;
    // Each script's origin in the report: the file, and with several, the Lua filter's place.
    let origins: Vec<String> = (0..readings.len())
        .map(|i| match readings.len() {
            1 => origin.clone(),
            n => format!("{origin}, Lua filter {} of {n}", i + 1),
        })
        .collect();
    if readings.iter().any(|r| !r.unconverted.is_empty()) {
        let report: String = readings
            .iter()
            .zip(&origins)
            .map(|(reading, origin)| report(origin, reading, None))
            .collect();
        write(&args.out, "report.md", &report)?;
        print!("{report}");
        return Ok(false);
    }
    let config = chain_config(&readings);
    if let Some(refused) = validate::check("pipeline", &config) {
        return Err(format!(
            "the generated configuration is refused, which is a Moonshift bug: {refused}"
        ));
    }
    let modules = args
        .modules
        .clone()
        .unwrap_or_else(|| moonshift_harness::artifacts::workspace_root().join("target/filters"));
    let bundle = modules.join(format!("{}.wasm", moonshift_oci::BUNDLE));
    let digest = moonshift_oci::image_of(&bundle, moonshift_oci::BUNDLE, &args.version)
        .map(|image| image.digest())
        .ok();
    let last = readings.len().saturating_sub(1);
    let report: String = readings
        .iter()
        .zip(&origins)
        .enumerate()
        .map(|(i, (reading, origin))| report(origin, reading, (i == last).then_some(&config)))
        .collect();
    write(&args.out, "report.md", &report)?;
    write(
        &args.out,
        "pipeline-config.json",
        &format!(
            "{}\n",
            serde_json::to_string_pretty(&config).unwrap_or_default()
        ),
    )?;
    let image = format!(
        "{}/{}:{}",
        args.image_prefix,
        moonshift_oci::BUNDLE,
        args.version
    );
    let plugin = Plugin {
        image,
        digest,
        plugin_name: Some("pipeline"),
        phase: "UNSPECIFIED_PHASE",
        // As the Lua: a script error lets the request through.
        fail_strategy: "FAIL_OPEN",
        config: &config,
    };
    let mut target = found.target.clone();
    let lua_name = format!("{}-lua", target.name);
    target.name = format!("{}-moonshift", target.name);
    let header = "# Written by `moonshift migrate`. Apply it and delete the EnvoyFilter in one step\n# (kubectl apply -f wasmplugin.yaml && kubectl delete envoyfilter ...), or headers are doubled.\n";
    for (name, manifest) in [
        ("wasmplugin.yaml", format!("{header}{}", manifests::yaml(&manifests::wasm_plugin(&target, &plugin)))),
        ("trafficextension.yaml", format!("{header}{}", manifests::yaml(&manifests::traffic_extension(&target, &plugin)))),
        (
            "trafficextension-lua.yaml",
            format!(
                "# The stay-on-Lua option: the same script, managed by Istio 1.30's TrafficExtension.\n{}",
                lua_traffic_extensions(&found.target, &lua_name, &found.scripts)
            ),
        ),
    ] {
        write(&args.out, name, &manifest)?;
    }
    print!("{report}");
    if args.no_compare {
        return Ok(true);
    }
    let mut reads = Reads::default();
    for reading in &readings {
        reads.extend(&reading.reads);
    }
    let mut requests = derived_requests(&reads);
    if let Some(path) = &args.requests {
        requests.extend(crate::input::requests(path)?);
    }
    let plugin = compare::Plugin {
        wasm: modules.join("pipeline.wasm"),
        root_id: "pipeline".into(),
        config: Some(config),
    };
    println!(
        "\n## Compare: the Lua and the plugin on {} requests\n",
        requests.len()
    );
    let route_metadata = derived_route_metadata(&reads);
    let plugins = [plugin];
    let mut verdicts = compare::compare(
        &found.scripts,
        &plugins,
        requests.clone(),
        route_metadata.clone(),
    )?;
    if args.envoy {
        let lua = match found.scripts.as_slice() {
            [one] => vec![write(&args.out, "original.lua", one)?],
            several => several
                .iter()
                .enumerate()
                .map(|(i, script)| write(&args.out, &format!("original-{}.lua", i + 1), script))
                .collect::<Result<_, _>>()?,
        };
        verdicts.extend(compare::compare_in_envoy(
            &lua,
            &plugins,
            &requests,
            &route_metadata,
        )?);
    }
    Ok(compare::print(&verdicts, false))
}
