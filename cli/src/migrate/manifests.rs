//! The manifests that deploy the pipeline where the EnvoyFilter was: a `WasmPlugin` and its Istio
//! 1.30 `TrafficExtension` twin, each validated by the tests against Istio's own CRD schemas.

use super::source::Target;
use serde_json::{json, Value};

fn yaml(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// `(file name, text)` of each manifest. `image` is `registry/repo/name:tag`, `digest` the
/// image's manifest digest (`sha256:<hex>`) when it could be computed.
pub fn all(
    target: &Target,
    image: &str,
    digest: Option<&str>,
    config: &Value,
    lua: &str,
) -> Vec<(String, String)> {
    let name = format!("{}-moonshift", target.name);
    let metadata = json!({"name": name, "namespace": target.namespace});
    let place = |spec: &mut Value| {
        if let Some(labels) = &target.labels {
            spec["selector"] = json!({"matchLabels": labels});
        }
        if let Some(refs) = &target.target_refs {
            spec["targetRefs"] = refs.clone();
        }
        if let Some(mode) = target.mode {
            spec["match"] = json!([{"mode": mode}]);
        }
    };
    let mut wasm = json!({
        "url": format!("oci://{image}"),
        "pluginName": "pipeline",
        "imagePullPolicy": "IfNotPresent",
        // As the Lua: a script error lets the request through.
        "failStrategy": "FAIL_OPEN",
        "pluginConfig": config,
    });
    if let Some(digest) = digest {
        wasm["sha256"] = json!(digest.trim_start_matches("sha256:"));
    }
    let mut plugin = wasm.clone();
    plugin["phase"] = json!("UNSPECIFIED_PHASE");
    place(&mut plugin);
    let mut extension = json!({"phase": "UNSPECIFIED", "wasm": wasm});
    place(&mut extension);
    let mut lua_extension = json!({"phase": "UNSPECIFIED", "lua": {"inlineCode": lua}});
    place(&mut lua_extension);
    let header = "# Written by `moonshift migrate`. Apply it and delete the EnvoyFilter in one step\n# (kubectl apply -f wasmplugin.yaml && kubectl delete envoyfilter ...), or headers are doubled.\n";
    vec![
        ("wasmplugin.yaml".into(), format!("{header}{}", yaml(&json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "metadata": metadata, "spec": plugin})))),
        ("trafficextension.yaml".into(), format!("{header}{}", yaml(&json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension", "metadata": metadata, "spec": extension})))),
        (
            "trafficextension-lua.yaml".into(),
            format!("# The stay-on-Lua option: the same script, managed by Istio 1.30's TrafficExtension.\n{}", yaml(&json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension", "metadata": {"name": format!("{}-lua", target.name), "namespace": target.namespace}, "spec": lua_extension}))),
        ),
    ]
}
