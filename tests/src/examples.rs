//! The Envoy configs in `examples/envoy/`: for each filter, the same listener with the filter as
//! its Lua reference and as its Wasm module (and Envoy's native filter, where the filter's crate
//! has one), so
//! a reader sees the before and after side by side and can run either. Generated from the same
//! bootstrap the tests run (`make examples`); a test keeps the committed files equal to it and
//! has Envoy validate each.

use crate::envoy;
use crate::paths::FILTERS;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Ports of the example configs: listener, admin, upstream.
pub const PORTS: (u16, u16, u16) = (10_000, 9_901, 8_080);

/// The filter's Wasm entry with its defaults written out (so the example shows where
/// configuration goes) and its failure policy: both from its crate's facts, as the Istio
/// manifests have them (`deploy/`). `failure_policy` replaces the deprecated `fail_open`.
fn wasm_facts(filter: &str) -> moonshift_oci::facts::Facts {
    moonshift_oci::facts::of(&crate::paths::workspace_root(), filter)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn wasm_entry(filter: &str) -> Value {
    let facts = wasm_facts(filter);
    let mut entry = envoy::wasm_filter_at(
        filter,
        Path::new(&format!("target/filters/{filter}.wasm")),
        Some(&facts.plugin_config.to_string()),
    );
    if let Some(config) = entry
        .pointer_mut("/typed_config/config")
        .and_then(Value::as_object_mut)
    {
        config.insert("failure_policy".into(), json!(facts.envoy_failure_policy()));
    }
    entry
}

fn lua_entry(filter: &str) -> Value {
    envoy::lua_filter_at(Path::new(&format!("lua-reference/{filter}.lua")))
}

/// Every example: its path under the workspace and its text.
pub fn render_all() -> Vec<(PathBuf, String)> {
    let (listener, admin, upstream) = PORTS;
    let mut out = Vec::new();
    for filter in FILTERS.iter().copied() {
        let mut flavours = vec![("lua", lua_entry(filter)), ("wasm", wasm_entry(filter))];
        // Envoy's own filter doing the same as the defaults, where the filter's crate has one.
        if let Ok(native) =
            moonshift_bundle::native(filter, Some(&wasm_facts(filter).plugin_config), 1)
        {
            flavours.push(("native", native));
        }
        for (flavour, entry) in flavours {
            let config = envoy::bootstrap(listener, admin, upstream, &[entry]);
            let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
            text.push('\n');
            out.push((
                PathBuf::from(format!("examples/envoy/{filter}.{flavour}.json")),
                text,
            ));
        }
    }
    out
}
