//! Every manifest the repository ships validates against Istio's own CRD schemas (vendored in
//! `tests/istio-crds/`), and the validator refuses what Istio refuses.

use moonshift_tests::crd;
use moonshift_tests::paths;
use serde_json::json;

#[test]
fn every_committed_manifest_validates_against_istios_crds() {
    let deploy = paths::workspace_root().join("deploy");
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in std::fs::read_dir(&deploy).unwrap().flatten() {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            for (document, errors) in crd::validate_file(&path).unwrap() {
                checked += 1;
                if !errors.is_empty() {
                    failures.push(format!(
                        "{} (document {document}): {errors:?}",
                        path.display()
                    ));
                }
            }
        }
    }
    println!("{checked} manifests validated");
    assert!(
        checked >= 3 * paths::FILTERS.len(),
        "only {checked} manifests found"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What Istio refuses, the validator refuses: round 1's TrafficExtension phase (issue 11), an
/// unknown field, a wrong type, both wasm and lua, a selector and targetRefs together.
#[test]
fn the_validator_refuses_what_istio_refuses() {
    let te = |spec: serde_json::Value| json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension", "metadata": {"name": "x"}, "spec": spec});
    let wasm = json!({"url": "oci://r/x:1"});
    let cases = [
        (
            te(json!({"phase": "UNSPECIFIED_PHASE", "wasm": wasm})),
            "spec.phase: \"UNSPECIFIED_PHASE\" is not one of",
        ),
        (
            te(json!({"wasm": {"url": "oci://r/x:1", "root_id": "x"}})),
            "spec.wasm.root_id: unknown field",
        ),
        (
            te(json!({"wasm": wasm, "priority": "high"})),
            "spec.priority: must be integer",
        ),
        (
            te(json!({"wasm": wasm, "lua": {"inlineCode": "x"}})),
            "exactly one of wasm or lua",
        ),
        (te(json!({"lua": {}})), "spec.lua: inlineCode is required"),
        (
            te(
                json!({"wasm": wasm, "selector": {"matchLabels": {"a": "b"}}, "targetRefs": [{"kind": "Gateway", "name": "g"}]}),
            ),
            "only one of targetRefs or selector",
        ),
        (
            json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "metadata": {"name": "x"}, "spec": {"url": "oci://r/x:1", "match": [{"mode": "INBOUND"}]}}),
            "spec.match[0].mode: \"INBOUND\" is not one of",
        ),
        (
            json!({"apiVersion": "extensions.istio.io/v1beta1", "kind": "WasmPlugin", "metadata": {"name": "x"}, "spec": {}}),
            "apiVersion \"extensions.istio.io/v1beta1\" is not one of",
        ),
    ];
    for (manifest, want) in cases {
        let errors = crd::validate(&manifest).unwrap();
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{manifest}: expected {want:?}, got {errors:?}"
        );
    }
    let good = te(
        json!({"phase": "UNSPECIFIED", "wasm": {"url": "oci://r/x:1", "pluginName": "pipeline", "pluginConfig": {"filters": [{"filter": "path-logger"}]}}}),
    );
    assert_eq!(crd::validate(&good).unwrap(), Vec::<String>::new());
}
