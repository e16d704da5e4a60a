//! `moonshift deploy FILTER|pipeline`: the `WasmPlugin` and `TrafficExtension` that deploy one
//! filter (its own image) or a pipeline (the bundle's image, `pluginName: pipeline`) where the
//! user says, with a configuration checked by the module's own code first.
//!
//! Phase and fail strategy come from the filter's crate (`[package.metadata.moonshift]`, the
//! facts `make deploy` uses too). A pipeline takes its members' phase when they all share one
//! (else `UNSPECIFIED_PHASE`) and fails closed when any member does: a pipeline holding a rate
//! limiter or an auth check must not start open because it also decorates headers.

use crate::manifests::{self, Plugin, Target};
use crate::{input, validate};
use moonshift_oci::facts::{self, Facts};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A filter name (`request-decorator`, ...) or `pipeline`.
    pub filter: String,
    /// The pluginConfig, JSON or YAML; a filter's default is its crate's; a pipeline needs one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// metadata.name (default: the filter's name).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// A workload label, KEY=VALUE; repeat for several (spec.selector.matchLabels).
    #[arg(long = "selector", value_name = "KEY=VALUE")]
    pub selector: Vec<String>,
    /// A target reference, KIND/NAME (Gateway, Service, ...); repeat for several. Not with
    /// --selector (Istio refuses both).
    #[arg(long = "target-ref", value_name = "KIND/NAME")]
    pub target_refs: Vec<String>,
    /// match[].mode: SERVER (inbound), CLIENT (outbound) or CLIENT_AND_SERVER; none: every
    /// direction.
    #[arg(long)]
    pub mode: Option<String>,
    /// The registry and repository the images are pushed to.
    #[arg(long, default_value = "ghcr.io/moonshift")]
    pub image_prefix: String,
    /// The image tag.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub version: String,
    /// Where `make build` wrote the modules (their images' digests are computed from them).
    #[arg(long)]
    pub modules: Option<PathBuf>,
    /// Where to write wasmplugin.yaml and trafficextension.yaml.
    #[arg(long, default_value = "moonshift-deploy")]
    pub out: PathBuf,
}

/// Gateway API kinds `targetRefs` may name, and their group (Istio's CRD).
fn target_ref(text: &str) -> Result<Value, String> {
    let (kind, name) = text
        .split_once('/')
        .filter(|(k, n)| !k.is_empty() && !n.is_empty())
        .ok_or_else(|| format!("--target-ref must be KIND/NAME, got {text:?}"))?;
    let group = match kind {
        "Gateway" | "GatewayClass" => "gateway.networking.k8s.io",
        "Service" => "",
        "ServiceEntry" => "networking.istio.io",
        other => {
            return Err(format!(
                "--target-ref kind must be Gateway, GatewayClass, Service or ServiceEntry, got {other:?}"
            ))
        }
    };
    Ok(json!({"group": group, "kind": kind, "name": name}))
}

fn target(args: &Args) -> Result<Target, String> {
    if !args.selector.is_empty() && !args.target_refs.is_empty() {
        return Err("--selector and --target-ref exclude each other (Istio refuses both)".into());
    }
    let mut labels = serde_json::Map::new();
    for pair in &args.selector {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("--selector must be KEY=VALUE, got {pair:?}"))?;
        labels.insert(key.to_string(), json!(value));
    }
    let refs = args
        .target_refs
        .iter()
        .map(|t| target_ref(t))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(mode) = &args.mode {
        if !["SERVER", "CLIENT", "CLIENT_AND_SERVER"].contains(&mode.as_str()) {
            return Err(format!(
                "--mode must be SERVER, CLIENT or CLIENT_AND_SERVER, got {mode:?}"
            ));
        }
    }
    Ok(Target {
        name: args.name.clone().unwrap_or_else(|| args.filter.clone()),
        namespace: args.namespace.clone(),
        labels: (!labels.is_empty()).then_some(Value::Object(labels)),
        target_refs: (!refs.is_empty()).then_some(Value::Array(refs)),
        mode: args.mode.clone(),
    })
}

/// The members' facts of a pipeline configuration.
fn members(root: &Path, config: &Value) -> Result<Vec<Facts>, String> {
    let names = config["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|member| member["filter"].as_str());
    names.map(|name| facts::of(root, name)).collect()
}

/// A pipeline's phase and fail strategy, from its members'.
fn pipeline_facts(members: &[Facts]) -> (&str, &str) {
    let phase = match members.split_first() {
        Some((first, rest)) if rest.iter().all(|m| m.phase == first.phase) => &first.phase,
        _ => "UNSPECIFIED_PHASE",
    };
    let fail = match members.iter().any(|m| m.fail_strategy == "FAIL_CLOSE") {
        true => "FAIL_CLOSE",
        false => "FAIL_OPEN",
    };
    (phase, fail)
}

pub fn run(args: &Args) -> Result<bool, String> {
    validate::known(&args.filter)?;
    let pipeline = args.filter == "pipeline";
    let root = moonshift_harness::artifacts::workspace_root();
    let target = target(args)?;
    let own = (!pipeline)
        .then(|| facts::of(&root, &args.filter))
        .transpose()?;
    let config = match (&args.config, &own) {
        (Some(path), _) => input::config(&input::read(path)?, &path.display().to_string())?,
        (None, Some(facts)) => facts.plugin_config.clone(),
        (None, None) => {
            return Err("a pipeline needs --config: {filters: [{filter, config}, ...]}".into())
        }
    };
    if let Some(line) = validate::check(&args.filter, &config) {
        println!("{line}");
        return Ok(false);
    }
    let member_facts = match pipeline {
        true => members(&root, &config)?,
        false => own.into_iter().collect(),
    };
    let (phase, fail_strategy) = match pipeline {
        true => pipeline_facts(&member_facts),
        false => member_facts
            .first()
            .map(|f| (f.phase.as_str(), f.fail_strategy.as_str()))
            .ok_or("no facts")?,
    };
    let image_name = match pipeline {
        true => moonshift_oci::BUNDLE,
        false => args.filter.as_str(),
    };
    let modules = args
        .modules
        .clone()
        .unwrap_or_else(|| root.join("target/filters"));
    let module = modules.join(format!("{image_name}.wasm"));
    let digest = moonshift_oci::image_of(&module, image_name, &args.version)?.digest();
    let plugin = Plugin {
        image: format!("{}/{image_name}:{}", args.image_prefix, args.version),
        digest: Some(digest.clone()),
        plugin_name: pipeline.then_some("pipeline"),
        phase,
        fail_strategy,
        config: &config,
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let header = format!(
        "# Written by `moonshift deploy {}`: phase and failStrategy from the filter's crate.\n",
        args.filter
    );
    for (name, manifest) in [
        ("wasmplugin.yaml", manifests::wasm_plugin(&target, &plugin)),
        (
            "trafficextension.yaml",
            manifests::traffic_extension(&target, &plugin),
        ),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, format!("{header}{}", manifests::yaml(&manifest)))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "image {}, spec.sha256: {}",
        plugin.image,
        digest.trim_start_matches("sha256:")
    );
    println!("phase {phase}, failStrategy {fail_strategy}");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(phase: &str, fail: &str) -> Facts {
        Facts {
            filter: "f".into(),
            phase: phase.into(),
            phase_why: String::new(),
            fail_strategy: fail.into(),
            fail_why: String::new(),
            plugin_config: Value::Null,
            bench_config: Value::Null,
            bench_native: None,
            bench_floor_config: None,
            bench_by_hand: None,
        }
    }

    #[test]
    fn a_pipeline_fails_closed_when_any_member_does_and_shares_a_common_phase() {
        let cases = [
            (vec![facts("STATS", "FAIL_OPEN")], ("STATS", "FAIL_OPEN")),
            (
                vec![facts("STATS", "FAIL_OPEN"), facts("AUTHZ", "FAIL_CLOSE")],
                ("UNSPECIFIED_PHASE", "FAIL_CLOSE"),
            ),
            (
                vec![facts("AUTHN", "FAIL_CLOSE"), facts("AUTHN", "FAIL_OPEN")],
                ("AUTHN", "FAIL_CLOSE"),
            ),
        ];
        for (members, want) in cases {
            assert_eq!(pipeline_facts(&members), want);
        }
    }

    #[test]
    fn target_refs_and_selectors() {
        assert_eq!(
            target_ref("Gateway/edge"),
            Ok(json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}))
        );
        assert_eq!(
            target_ref("Service/api"),
            Ok(json!({"group": "", "kind": "Service", "name": "api"}))
        );
        assert!(target_ref("Pod/x").is_err());
        assert!(target_ref("Gateway/").is_err());
    }
}
