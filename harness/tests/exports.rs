//! Every shipped module exports exactly what `tools/export-graph.py` keeps for its crate (the
//! callbacks the crate lists, plus what every filter needs): Envoy enters the VM once per request
//! for every `proxy_on_*` a module exports, so a callback the SDK exports by default but the
//! filter does not use is a cost for nothing.

use moonshift_harness::artifacts::{wasm_module, workspace_root};
use std::collections::BTreeSet;
use std::process::Command;

/// The exports the build keeps for the crate in `dir`, from the graph it hands wasm-metadce.
fn kept_exports(dir: &str) -> BTreeSet<String> {
    let root = workspace_root();
    let output = Command::new("python3")
        .arg(root.join("tools/export-graph.py"))
        .arg(root.join(dir).join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let graph: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    graph
        .iter()
        .filter_map(|node| node["export"].as_str().map(str::to_string))
        .collect()
}

fn module_exports(module: &str) -> BTreeSet<String> {
    let bytes = std::fs::read(wasm_module(module)).unwrap();
    let mut exported = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::ExportSection(section) = payload.unwrap() {
            for export in section {
                exported.insert(export.unwrap().name.to_string());
            }
        }
    }
    exported
}

#[test]
fn each_module_exports_only_what_its_filter_uses() {
    for (module, dir) in [
        ("timestamp-header", "filters/timestamp-header"),
        ("path-logger", "filters/path-logger"),
        ("local-ratelimit", "filters/local-ratelimit"),
        ("response-decorator", "filters/response-decorator"),
        ("moonshift-bundle", "bundle"),
    ] {
        assert_eq!(module_exports(module), kept_exports(dir), "{module}");
    }
}
