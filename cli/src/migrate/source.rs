//! Where the Lua is, and where it was deployed: an EnvoyFilter's namespace, workload selector
//! (or target references) and direction, or an Envoy config's Lua filter.

use serde_json::Value;
use std::path::Path;

/// Where the plugin goes, from the EnvoyFilter.
pub use crate::manifests::Target;

#[derive(Debug, Clone)]
pub struct Found {
    /// The scripts, in filter-chain order: one Lua filter each.
    pub scripts: Vec<String>,
    pub target: Target,
}

/// Why several Lua filters of one EnvoyFilter are, or are not, in a known order: every patch
/// that carries one inserts it `INSERT_BEFORE` the same filter, so each lands after the ones
/// before it, in the order of `configPatches`. Anything else (`INSERT_FIRST`, which reverses
/// them; `INSERT_AFTER`; different anchors or contexts) depends on more than this file.
fn chain_order(spec: &Value) -> Result<(), String> {
    let mut anchors = Vec::new();
    for patch in spec
        .get("configPatches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut lua = Vec::new();
        scripts(patch, &mut lua, &mut false);
        if lua.is_empty() {
            continue;
        }
        let operation = patch
            .get("patch")
            .and_then(|p| p.get("operation"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if operation != "INSERT_BEFORE" {
            return Err(format!(
                "a patch inserts its Lua with `{operation}`, not INSERT_BEFORE"
            ));
        }
        anchors.push(patch.get("match").cloned().unwrap_or(Value::Null));
    }
    match anchors.windows(2).all(|pair| pair.first() == pair.get(1)) {
        true => Ok(()),
        false => {
            Err("the patches insert their Lua at different places (their `match` differs)".into())
        }
    }
}

/// Every Lua filter's source in `value`: `inline_code`, or `default_source_code.inline_string`.
fn scripts(value: &Value, out: &mut Vec<String>, per_route: &mut bool) {
    match value {
        Value::Object(map) => {
            let is_lua = map
                .get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("filters.http.lua.v3.Lua"));
            if is_lua {
                if let Some(code) = map
                    .get("inline_code")
                    .or_else(|| map.get("inlineCode"))
                    .and_then(Value::as_str)
                {
                    out.push(code.to_string());
                }
                if let Some(code) = map
                    .get("default_source_code")
                    .and_then(|d| d.get("inline_string"))
                    .and_then(Value::as_str)
                {
                    out.push(code.to_string());
                }
                *per_route |= map.contains_key("source_codes");
            }
            map.values().for_each(|v| scripts(v, out, per_route));
        }
        Value::Array(items) => items.iter().for_each(|v| scripts(v, out, per_route)),
        _ => {}
    }
}

/// The direction of the patches: SIDECAR_INBOUND is the server side, SIDECAR_OUTBOUND the client
/// side; a gateway, or patches for both, apply everywhere.
fn mode(spec: &Value) -> Option<&'static str> {
    let contexts: Vec<&str> = spec
        .get("configPatches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("match")?.get("context")?.as_str())
        .collect();
    match (
        contexts.iter().all(|c| *c == "SIDECAR_INBOUND"),
        contexts.iter().all(|c| *c == "SIDECAR_OUTBOUND"),
    ) {
        _ if contexts.is_empty() => None,
        (true, _) => Some("SERVER"),
        (_, true) => Some("CLIENT"),
        _ if contexts.iter().all(|c| c.starts_with("SIDECAR")) => Some("CLIENT_AND_SERVER"),
        _ => None,
    }
}

/// Finds the Lua in `text` (`path` tells a `.lua` file): one script, or several Lua filters of
/// one EnvoyFilter in a known order ([`chain_order`]).
pub fn find(text: &str, path: &Path) -> Result<Found, String> {
    if path.extension().is_some_and(|e| e == "lua") {
        return Ok(Found {
            scripts: vec![text.to_string()],
            target: Target {
                name: "lua".into(),
                namespace: "default".into(),
                ..Target::default()
            },
        });
    }
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    let mut found = Vec::new();
    for document in &documents {
        let mut lua = Vec::new();
        let mut per_route = false;
        scripts(document, &mut lua, &mut per_route);
        if per_route {
            return Err("per-route Lua (`source_codes`, LuaPerRoute) is not converted: migrate the default script, and move per-route choices into conditions on path".into());
        }
        let metadata = document.get("metadata");
        let spec = document.get("spec").cloned().unwrap_or(Value::Null);
        let target = Target {
            name: metadata
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("lua")
                .to_string(),
            namespace: metadata
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
            labels: spec
                .get("workloadSelector")
                .and_then(|w| w.get("labels"))
                .cloned(),
            target_refs: spec.get("targetRefs").cloned(),
            mode: mode(&spec).map(str::to_string),
        };
        if lua.len() > 1 {
            let envoy_filter = document.get("kind").and_then(Value::as_str) == Some("EnvoyFilter");
            let ordered = match envoy_filter {
                true => chain_order(&spec),
                false => Err("only an EnvoyFilter's patches say their order here".into()),
            };
            if let Err(why) = ordered {
                return Err(format!("{}: {} Lua scripts, and their order in the filter chain is not known: {why}; migrate one script at a time (split the file)", path.display(), lua.len()));
            }
        }
        if !lua.is_empty() {
            found.push(Found {
                scripts: lua,
                target,
            });
        }
    }
    match found.len() {
        0 => Err(format!("{}: no Lua filter found (inline_code or default_source_code.inline_string of an envoy.filters.http.lua)", path.display())),
        1 => Ok(found.remove(0)),
        n => Err(format!("{}: Lua in {n} documents, whose order in the filter chain depends on their priority and age; migrate one document at a time (split the file)", path.display())),
    }
}
