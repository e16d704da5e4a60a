//! Every shipped module exports exactly the callbacks its crate lists, plus the ones every filter
//! needs: Envoy enters the VM once per request for every `proxy_on_*` a module exports, so a
//! callback the SDK exports by default but the filter does not use is a cost for nothing.

use moonshift_harness::artifacts::{wasm_module, workspace_root};
use std::collections::BTreeSet;

const ALWAYS: [&str; 8] = [
    "memory",
    "_initialize",
    "proxy_abi_version_0_2_1",
    "proxy_on_memory_allocate",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_delete",
];

/// `callbacks = ["a", "b"]` of the crate's `[package.metadata.moonshift]`.
fn listed_callbacks(manifest: &str) -> Vec<String> {
    let line = manifest
        .lines()
        .find(|l| l.starts_with("callbacks = ["))
        .unwrap_or_else(|| panic!("no `callbacks = [...]` in\n{manifest}"));
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
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
        let manifest =
            std::fs::read_to_string(workspace_root().join(dir).join("Cargo.toml")).unwrap();
        let callbacks = listed_callbacks(&manifest);
        assert!(!callbacks.is_empty(), "{module}: lists no callback");
        let expected: BTreeSet<String> = ALWAYS
            .iter()
            .map(|s| s.to_string())
            .chain(callbacks)
            .collect();
        let bytes = std::fs::read(wasm_module(module)).unwrap();
        let mut exported = BTreeSet::new();
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::ExportSection(section) = payload.unwrap() {
                for export in section {
                    exported.insert(export.unwrap().name.to_string());
                }
            }
        }
        assert_eq!(exported, expected, "{module}");
    }
}
