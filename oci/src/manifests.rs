//! The manifests that deploy a plugin: a `WasmPlugin` and its Istio 1.30 `TrafficExtension`
//! twin (and, for `migrate`, the stay-on-Lua `TrafficExtension`), each validated by the tests
//! against Istio's own CRD schemas. `moonshift migrate`, `moonshift deploy` and `make deploy`
//! (`crate::deploy`) all build them here and write them with the one YAML writer (`crate::yaml`).

use serde_json::{json, Value};

/// The image prefix when none is given: `.invalid` is reserved (RFC 2606), so no cluster pulls
/// it and no one takes it for a published registry.
pub const PLACEHOLDER_PREFIX: &str = "registry.invalid/push-the-images-first";

/// Where the plugin goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub name: String,
    pub namespace: String,
    /// `spec.selector.matchLabels` (an EnvoyFilter's `workloadSelector.labels`).
    pub labels: Option<Value>,
    /// `spec.targetRefs`.
    pub target_refs: Option<Value>,
    /// `match[].mode`; `None`: every direction.
    pub mode: Option<String>,
}

/// What the plugin is.
#[derive(Debug, Clone)]
pub struct Plugin<'a> {
    /// `registry/repo/name:tag`, without the scheme.
    pub image: String,
    /// The image's manifest digest (`sha256:<hex>`), when known.
    pub digest: Option<String>,
    /// The root id of a plugin in the bundle's image (`pipeline`); `None` for a filter's own.
    pub plugin_name: Option<&'a str>,
    /// WasmPlugin's spelling (`UNSPECIFIED_PHASE`, `AUTHN`, `AUTHZ`, `STATS`).
    pub phase: &'a str,
    pub fail_strategy: &'a str,
    pub config: &'a Value,
}

/// `value` as YAML that Kubernetes (YAML 1.1) reads back as written (`crate::yaml`).
pub fn yaml(value: &Value) -> String {
    crate::yaml::document(value)
}

/// Sets `key` of the object `value` (a manifest's parts are objects).
fn put(value: &mut Value, key: &str, field: Value) {
    if let Some(map) = value.as_object_mut() {
        map.insert(key.to_string(), field);
    }
}

fn place(target: &Target, spec: &mut Value) {
    if let Some(labels) = &target.labels {
        put(spec, "selector", json!({"matchLabels": labels}));
    }
    if let Some(refs) = &target.target_refs {
        put(spec, "targetRefs", refs.clone());
    }
    if let Some(mode) = &target.mode {
        put(spec, "match", json!([{"mode": mode}]));
    }
}

fn metadata(target: &Target) -> Value {
    json!({"name": target.name, "namespace": target.namespace})
}

/// The `wasm` part both kinds share.
fn wasm(plugin: &Plugin) -> Value {
    let mut wasm = json!({
        "url": format!("oci://{}", plugin.image),
        "imagePullPolicy": "IfNotPresent",
        "failStrategy": plugin.fail_strategy,
        "pluginConfig": plugin.config,
    });
    if let Some(name) = plugin.plugin_name {
        put(&mut wasm, "pluginName", json!(name));
    }
    if let Some(digest) = &plugin.digest {
        // The CRD takes the bare hex.
        put(
            &mut wasm,
            "sha256",
            json!(digest.trim_start_matches("sha256:")),
        );
    }
    wasm
}

pub fn wasm_plugin(target: &Target, plugin: &Plugin) -> Value {
    let mut spec = wasm(plugin);
    put(&mut spec, "phase", json!(plugin.phase));
    place(target, &mut spec);
    json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "metadata": metadata(target), "spec": spec})
}

/// TrafficExtension spells WasmPlugin's `UNSPECIFIED_PHASE` as `UNSPECIFIED`.
pub fn traffic_extension(target: &Target, plugin: &Plugin) -> Value {
    let phase = match plugin.phase {
        "UNSPECIFIED_PHASE" => "UNSPECIFIED",
        other => other,
    };
    let mut spec = json!({"phase": phase, "wasm": wasm(plugin)});
    place(target, &mut spec);
    json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension", "metadata": metadata(target), "spec": spec})
}

/// The stay-on-Lua option: the script itself, managed by a `TrafficExtension`.
pub fn lua_traffic_extension(target: &Target, name: &str, lua: &str) -> Value {
    let mut spec = json!({"phase": "UNSPECIFIED", "lua": {"inlineCode": lua}});
    place(target, &mut spec);
    let metadata = json!({"name": name, "namespace": target.namespace});
    json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "TrafficExtension", "metadata": metadata, "spec": spec})
}
