//! What `migrate` writes and decides around the comparison: the compared routes (with and
//! without each metadata key), the fail strategy, the manifests.

use super::lua::{Reading, Reads, Step};
use super::{source, Args};
use crate::manifests::{self, Plugin};
use moonshift_harness::exchange::RouteMetadata;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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

/// The routes compared: one with every metadata key the scripts read (each with a value of
/// its own, under the name the compared Lua filter has, `envoy.filters.http.lua`), and, when
/// they read any, one without any and one without each key; for each key a condition tests,
/// one where it is `false` (present, but false to Lua's `if`) and one where it is a number (a
/// value no string test holds for); for each string a key is compared to, one where the key
/// holds it. (A number used as a value renders empty in the plugin, where Lua writes it: a
/// difference the report lists.)
pub fn route_variants(reads: &Reads) -> Vec<(String, RouteMetadata)> {
    let with = |keys: &[&String]| -> RouteMetadata {
        let fields: serde_json::Map<String, Value> = keys
            .iter()
            .map(|key| ((*key).clone(), json!(format!("moonshift-{key}"))))
            .collect();
        match fields.is_empty() {
            true => RouteMetadata::new(),
            false => {
                RouteMetadata::from([(moonshift_harness::lua::FILTER_NAME.to_string(), fields)])
            }
        }
    };
    let all: Vec<&String> = reads.metadata.iter().collect();
    let mut out = vec![(String::new(), with(&all))];
    if !all.is_empty() {
        out.push((" (route without metadata)".into(), RouteMetadata::new()));
    }
    if all.len() > 1 {
        for key in &all {
            let rest: Vec<&String> = all.iter().copied().filter(|k| k != key).collect();
            out.push((format!(" (route without {key})"), with(&rest)));
        }
    }
    let with_value = |key: &String, value: Value| {
        let mut route = with(&all);
        for fields in route.values_mut() {
            fields.insert(key.clone(), value.clone());
        }
        route
    };
    for key in &reads.metadata_tested {
        out.push((
            format!(" (route with {key}: false)"),
            with_value(key, json!(false)),
        ));
        out.push((format!(" (route with {key}: 2)"), with_value(key, json!(2))));
    }
    // A number where a key is only written into a value: Lua writes it as `tostring` does,
    // and so must the plugin.
    for key in reads.metadata.difference(&reads.metadata_tested) {
        out.push((format!(" (route with {key}: 2)"), with_value(key, json!(2))));
    }
    for (key, value) in &reads.metadata_values {
        out.push((
            format!(" (route with {key}: {value:?})"),
            with_value(key, json!(value)),
        ));
    }
    out
}

/// FAIL_CLOSE when the script gates requests (a 4xx reply), else FAIL_OPEN as the Lua fails
/// open; `--fail-strategy` overrides. The strategy and why.
pub fn fail_strategy(readings: &[(String, Reading)], flag: Option<&str>) -> (String, String) {
    let statuses: Vec<u64> = readings
        .iter()
        .flat_map(|(_, r)| &r.request)
        .filter_map(|s| match s {
            Step::Reply(rule) => rule["status"].as_u64().filter(|s| (400..500).contains(s)),
            _ => None,
        })
        .collect();
    let gate = statuses
        .iter()
        .find(|s| matches!(s, 401 | 403))
        .or(statuses.first())
        .copied();
    match (flag, gate) {
        (Some(f), _) => (f.to_string(), format!("Set by `--fail-strategy {f}`.")),
        (None, Some(status)) => ("FAIL_CLOSE".into(), format!("The script answers {status}: it gates requests (access control). If the plugin cannot run (a module that does not load, a broken VM), FAIL_CLOSE refuses requests instead of letting them through unchecked. The Lua filter failed open on a script error; `--fail-strategy FAIL_OPEN` keeps that.")),
        (None, None) => ("FAIL_OPEN".into(), "The script does not gate requests: as the Lua, a plugin that cannot run lets the request through (`--fail-strategy FAIL_CLOSE` to refuse instead).".into()),
    }
}

/// The bundle's filter `migrate` configures: the manifests' `pluginName`, and the name its
/// counters carry (`wasmcustom.moonshift.pipeline.config_accepted`).
const PLUGIN_NAME: &str = "pipeline";

/// Writes `dir/name`; its path.
pub fn write(dir: &Path, name: &str, text: &str, quiet: bool) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    crate::output::write(&path, text)?;
    if !quiet {
        println!("wrote {}", path.display());
    }
    Ok(path)
}

pub fn write_manifests(
    args: &Args,
    found: &source::Found,
    config: &Value,
    strategy: &str,
    modules: &Path,
    folder: &Path,
) -> Result<(), String> {
    let bundle = modules.join(format!("{}.wasm", moonshift_oci::BUNDLE));
    let digest = moonshift_oci::image_of(&bundle, moonshift_oci::BUNDLE, &args.version)
        .map(|image| image.digest())
        .ok();
    write(
        folder,
        "pipeline-config.json",
        &format!(
            "{}\n",
            serde_json::to_string_pretty(config).unwrap_or_default()
        ),
        args.json,
    )?;
    let image = plugin_image(args);
    let plugin = Plugin {
        image,
        digest,
        plugin_name: Some(PLUGIN_NAME),
        phase: "UNSPECIFIED_PHASE",
        fail_strategy: strategy,
        config,
    };
    let mut target = found.target.clone();
    let lua_name = format!("{}-lua", target.name);
    target.name = format!("{}-moonshift", target.name);
    let header = "# Written by `moonshift migrate`. Roll it out with rollout.sh beside it: it applies this,\n# waits until the proxies loaded it, and only then deletes the EnvoyFilter.\n";
    let (name, manifest) = match args.kind {
        Kind::Wasmplugin => (
            "wasmplugin.yaml",
            format!("{header}{}", manifests::yaml(&manifests::wasm_plugin(&target, &plugin))),
        ),
        Kind::Trafficextension => (
            "trafficextension.yaml",
            format!("{header}{}", manifests::yaml(&manifests::traffic_extension(&target, &plugin))),
        ),
        Kind::Lua => (
            "trafficextension-lua.yaml",
            format!(
                "# The stay-on-Lua option: the same script, managed by Istio 1.30's TrafficExtension.\n{}",
                lua_traffic_extensions(&found.target, &lua_name, &found.scripts)
            ),
        ),
    };
    write(folder, name, &manifest, args.json)?;
    let rollout = write(
        folder,
        "rollout.sh",
        &super::rollout::script(
            &found.target,
            name,
            (args.kind != Kind::Lua).then_some(PLUGIN_NAME),
            found.envoy_filter.as_deref(),
        ),
        args.json,
    )?;
    make_executable(&rollout);
    if args.kind != Kind::Lua && args.image_prefix == manifests::PLACEHOLDER_PREFIX && !args.json {
        eprintln!(
            "moonshift: {name} names the image {}: push the images first (make push REGISTRY=...) and give --image-prefix",
            plugin_image(args)
        );
    }
    Ok(())
}

/// What `migrate --kind` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Istio's WasmPlugin (wasmplugin.yaml).
    Wasmplugin,
    /// Istio 1.30's TrafficExtension with the plugin (trafficextension.yaml).
    Trafficextension,
    /// The script itself, as a managed Lua TrafficExtension (trafficextension-lua.yaml).
    Lua,
}

fn plugin_image(args: &Args) -> String {
    format!(
        "{}/{}:{}",
        args.image_prefix,
        moonshift_oci::BUNDLE,
        args.version
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
}

#[cfg(not(unix))]
fn make_executable(_: &Path) {}
