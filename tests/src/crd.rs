//! Manifests checked against Istio's own CRD schemas (`tests/istio-crds/`, vendored from
//! istio/api): what the API server would refuse under `kubectl apply`, as sentences.

use serde_json::Value;
use std::path::Path;

/// The vendored schema of `kind`.
pub fn schema(kind: &str) -> Result<Value, String> {
    let path = crate::paths::workspace_root()
        .join("tests/istio-crds")
        .join(format!("{kind}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    }
}

/// Every way `value` at `at` breaks `schema`.
fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            errors.push(format!("{at}: must be an integer or a string"));
        }
        return;
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        if !type_matches(kind, value) {
            errors.push(format!("{at}: must be {kind}, got {value}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!(
                "{at}: {value} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = one_of
            .iter()
            .filter(|branch| {
                let mut e = Vec::new();
                check_required_only(branch, value, &mut e);
                e.is_empty()
            })
            .count();
        if passing != 1 {
            errors.push(format!(
                "{at}: must match exactly one of its oneOf branches, matches {passing}"
            ));
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            if value.get(field).is_none() {
                errors.push(format!("{at}: {field} is required"));
            }
        }
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            for (key, item) in map {
                let at = format!("{at}.{key}");
                if let Some(sub) = properties.and_then(|p| p.get(key)) {
                    check(sub, item, &at, errors);
                } else if let Some(additional) = schema.get("additionalProperties") {
                    if additional.is_object() {
                        check(additional, item, &at, errors);
                    } else if additional == &Value::Bool(false) {
                        errors.push(format!("{at}: unknown field"));
                    }
                } else if properties.is_some() && !preserve {
                    errors.push(format!("{at}: unknown field"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{at}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

/// A `oneOf` branch as these CRDs write them: `required`, or `not: {anyOf: [required...]}`.
fn check_required_only(branch: &Value, value: &Value, errors: &mut Vec<String>) {
    if let Some(required) = branch.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            if value.get(field).is_none() {
                errors.push(field.to_string());
            }
        }
    }
    if let Some(any) = branch
        .get("not")
        .and_then(|n| n.get("anyOf"))
        .and_then(Value::as_array)
    {
        let some = any.iter().any(|b| {
            let mut e = Vec::new();
            check_required_only(b, value, &mut e);
            e.is_empty()
        });
        if some {
            errors.push("not".into());
        }
    }
}

/// Every way `manifest` (one parsed document) breaks its kind's CRD; empty when it is valid.
pub fn validate(manifest: &Value) -> Result<Vec<String>, String> {
    let kind = manifest
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("no kind")?;
    let crd = schema(kind)?;
    let mut errors = Vec::new();
    let group = crd.get("group").and_then(Value::as_str).unwrap_or_default();
    let versions: Vec<String> = crd
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(|v| format!("{group}/{v}"))
        .collect();
    let api_version = manifest
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !versions.iter().any(|v| v == api_version) {
        errors.push(format!(
            "apiVersion {api_version:?} is not one of {versions:?}"
        ));
    }
    if manifest
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        errors.push("metadata.name is required".into());
    }
    let spec = manifest.get("spec").cloned().unwrap_or(Value::Null);
    if let Some(spec_schema) = crd.pointer("/schema/properties/spec") {
        check(spec_schema, &spec, "spec", &mut errors);
    }
    // The CEL rules these CRDs carry.
    let has = |k: &str| spec.get(k).is_some();
    if [has("selector"), has("targetRef"), has("targetRefs")]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        errors.push("spec: only one of targetRefs or selector can be set".into());
    }
    if kind == "TrafficExtension" && has("wasm") == has("lua") {
        errors.push("spec: exactly one of wasm or lua must be set".into());
    }
    Ok(errors)
}

/// Every document of a YAML file, each validated: `(document index, errors)`.
pub fn validate_file(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !value.is_null() {
            out.push((i, validate(&value)?));
        }
    }
    Ok(out)
}
