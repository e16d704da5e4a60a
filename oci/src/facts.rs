//! A filter's own facts, from its crate: `[package.metadata.moonshift]` in
//! `filters/<name>/Cargo.toml` is the one place that says how the filter is deployed (phase,
//! fail strategy, and why) and what its defaults look like as `pluginConfig`. The manifests
//! (`deploy`) and the example Envoy configs (`tests/src/examples.rs`) are generated from it.

use serde_json::Value;
use std::path::Path;

/// How one filter is deployed, as its crate declares it.
#[derive(Debug, Clone)]
pub struct Facts {
    pub filter: String,
    /// WasmPlugin `phase` (`UNSPECIFIED_PHASE`, `AUTHN`, `AUTHZ`, `STATS`), and why.
    pub phase: String,
    pub phase_why: String,
    /// WasmPlugin / TrafficExtension `failStrategy` (`FAIL_CLOSE`, `FAIL_OPEN`), and why.
    pub fail_strategy: String,
    pub fail_why: String,
    /// The filter's defaults, written out as `pluginConfig`.
    pub plugin_config: Value,
    /// The fields of its configuration that hold credentials, if any: no manifest is written
    /// with a configuration the user did not give for them.
    pub credentials: Option<String>,
    /// The configuration `make deploy` writes into deploy/'s manifests: `plugin_config`, or, for
    /// a filter with credentials, a placeholder its module refuses.
    pub deploy_config: Value,
    /// The configuration benchmarks measure it with; `plugin_config` when not given.
    pub bench_config: Value,
    /// How Envoy gets the same effect natively, for `moonshift-bench`'s B: fields merged into
    /// the bootstrap's `route` and `http_connection_manager` (route headers, an access log).
    /// Absent: the filter's native equivalent (`moonshift_bundle::native`), if it has one.
    pub bench_native: Option<Value>,
    /// A configuration under which the filter does nothing: the benchmarks' floor.
    pub bench_floor_config: Option<Value>,
    /// A hand-written module with the same effect, `bench/floor/<name>.wat`: the share of the
    /// filter's cost that is not the platform's.
    pub bench_by_hand: Option<String>,
    /// The configuration under which the filter keeps its state as its Lua does (per worker),
    /// when its default does not: the like-for-like figure beside the default's.
    pub bench_as_lua: Option<Value>,
}

impl Facts {
    /// TrafficExtension spells WasmPlugin's `UNSPECIFIED_PHASE` as `UNSPECIFIED` (Istio's CRD:
    /// `UNSPECIFIED|AUTHN|AUTHZ|STATS`).
    pub fn traffic_extension_phase(&self) -> &str {
        match self.phase.as_str() {
            "UNSPECIFIED_PHASE" => "UNSPECIFIED",
            other => other,
        }
    }

    /// Envoy's own `failure_policy` for the same choice (`fail_open` is deprecated in 1.40).
    pub fn envoy_failure_policy(&self) -> &str {
        match self.fail_strategy.as_str() {
            "FAIL_OPEN" => "FAIL_OPEN",
            "FAIL_RELOAD" => "FAIL_RELOAD",
            _ => "FAIL_CLOSED",
        }
    }
}

/// Reads the facts of the crate whose manifest is `cargo_toml`.
pub fn read(cargo_toml: &Path) -> Result<Facts, String> {
    let text = std::fs::read_to_string(cargo_toml)
        .map_err(|e| format!("{}: {e}", cargo_toml.display()))?;
    let manifest: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", cargo_toml.display()))?;
    let package = manifest.get("package").and_then(toml::Value::as_table);
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| format!("{}: no package.name", cargo_toml.display()))?;
    let meta = package
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("moonshift"))
        .and_then(toml::Value::as_table)
        .ok_or_else(|| format!("{}: no [package.metadata.moonshift]", cargo_toml.display()))?;
    let field = |key: &str| -> Result<String, String> {
        meta.get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{}: package.metadata.moonshift.{key} is required",
                    cargo_toml.display()
                )
            })
    };
    let plugin_config: Value = serde_json::from_str(&field("plugin_config")?).map_err(|e| {
        format!(
            "{}: package.metadata.moonshift.plugin_config: {e}",
            cargo_toml.display()
        )
    })?;
    let bench_config = match meta.get("bench_config").and_then(toml::Value::as_str) {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            format!(
                "{}: package.metadata.moonshift.bench_config: {e}",
                cargo_toml.display()
            )
        })?,
        None => plugin_config.clone(),
    };
    let json = |key: &str| -> Result<Option<Value>, String> {
        meta.get(key)
            .and_then(toml::Value::as_str)
            .map(|text| {
                serde_json::from_str(text).map_err(|e| {
                    format!(
                        "{}: package.metadata.moonshift.{key}: {e}",
                        cargo_toml.display()
                    )
                })
            })
            .transpose()
    };
    Ok(Facts {
        filter: name.to_string(),
        bench_config,
        bench_native: json("bench_native")?,
        bench_floor_config: json("bench_floor_config")?,
        bench_as_lua: json("bench_as_lua")?,
        bench_by_hand: meta
            .get("bench_by_hand")
            .and_then(toml::Value::as_str)
            .map(str::to_string),
        phase: field("phase")?,
        phase_why: field("phase_why")?,
        fail_strategy: field("fail_strategy")?,
        fail_why: field("fail_why")?,
        credentials: meta
            .get("credentials")
            .and_then(toml::Value::as_str)
            .map(str::to_string),
        deploy_config: json("deploy_config")?.unwrap_or_else(|| plugin_config.clone()),
        plugin_config,
    })
}

/// The facts of filter `filter` in the workspace at `root`.
pub fn of(root: &Path, filter: &str) -> Result<Facts, String> {
    read(&root.join("filters").join(filter).join("Cargo.toml"))
}

/// Every filter of the workspace at `root`: each folder of `filters/`, by name.
pub fn all(root: &Path) -> Result<Vec<Facts>, String> {
    let dir = root.join("filters");
    let mut manifests: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path().join("Cargo.toml"))
        .filter(|path| path.is_file())
        .collect();
    manifests.sort();
    manifests.iter().map(|path| read(path)).collect()
}
