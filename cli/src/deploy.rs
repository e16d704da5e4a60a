//! `moonshift deploy FILTER|pipeline`: the `WasmPlugin` and `TrafficExtension` that deploy one
//! filter (its own image) or a pipeline (the bundle's image, `pluginName: pipeline`) where the
//! user says, with a configuration checked by the module's own code first.
//!
//! The phase comes from the filter's crate (`[package.metadata.moonshift]`, the facts `make
//! deploy` uses too); a pipeline takes its members' phase when they all share one (else
//! `UNSPECIFIED_PHASE`). The fail strategy is chosen from what the configuration can do
//! (`crate::fail_strategy`): a plugin that can deny a request fails closed, whatever else it
//! does. A filter whose configuration holds credentials (api-key-auth's keys) is never deployed
//! without a `--config` that gives them.

use crate::fail_strategy::{self, FailStrategy};
use crate::manifests::{self, Plugin, Target};
use crate::{input, output, validate};
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
    /// The registry and repository you pushed the images to (`make push REGISTRY=...`); the
    /// default is a placeholder that no cluster can pull.
    #[arg(long, default_value = crate::manifests::PLACEHOLDER_PREFIX)]
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
    /// Overrides the fail strategy Moonshift chooses (FAIL_CLOSE when the plugin can deny a
    /// request, else FAIL_OPEN).
    #[arg(long, value_enum)]
    pub fail_strategy: Option<FailStrategy>,
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

/// A pipeline's phase, from its members'.
fn pipeline_phase(members: &[Facts]) -> &str {
    match members.split_first() {
        Some((first, rest)) if rest.iter().all(|m| m.phase == first.phase) => &first.phase,
        _ => "UNSPECIFIED_PHASE",
    }
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
        (None, Some(facts)) => match &facts.credentials {
            Some(fields) => {
                return Err(format!(
                    "{}'s {fields} are credentials: give yours with --config (Moonshift never writes example keys into a manifest)",
                    args.filter
                ))
            }
            None => facts.plugin_config.clone(),
        },
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
    let phase = match pipeline {
        true => pipeline_phase(&member_facts),
        false => member_facts
            .first()
            .map(|f| f.phase.as_str())
            .ok_or("no facts")?,
    };
    let fail = fail_strategy::choose(&args.filter, &config, &member_facts, args.fail_strategy);
    let fail_strategy = fail.strategy.as_str();
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
        "# Written by `moonshift deploy {}`: phase from the filter's crate.\n# failStrategy {fail_strategy}: {}\n",
        args.filter, fail.why
    );
    for (name, manifest) in [
        ("wasmplugin.yaml", manifests::wasm_plugin(&target, &plugin)),
        (
            "trafficextension.yaml",
            manifests::traffic_extension(&target, &plugin),
        ),
    ] {
        let path = args.out.join(name);
        output::write(&path, &format!("{header}{}", manifests::yaml(&manifest)))?;
        println!("wrote {}", path.display());
    }
    println!(
        "image {}, spec.sha256: {}",
        plugin.image,
        digest.trim_start_matches("sha256:")
    );
    println!("phase {phase}, failStrategy {fail_strategy}: {}", fail.why);
    if args.image_prefix == manifests::PLACEHOLDER_PREFIX {
        eprintln!(
            "moonshift: the manifests name the image {}: push the images first (make push REGISTRY=...) and give --image-prefix",
            plugin.image
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(phase: &str) -> Facts {
        crate::fail_strategy::test_facts("f", phase, "FAIL_OPEN")
    }

    #[test]
    fn a_pipeline_shares_its_members_phase_when_they_all_have_one() {
        let cases = [
            (vec![facts("STATS")], "STATS"),
            (vec![facts("STATS"), facts("AUTHZ")], "UNSPECIFIED_PHASE"),
            (vec![facts("AUTHN"), facts("AUTHN")], "AUTHN"),
        ];
        for (members, want) in cases {
            assert_eq!(pipeline_phase(&members), want);
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
