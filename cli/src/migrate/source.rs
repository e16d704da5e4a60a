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
    /// What the file does that migrate refuses, each named (per-route Lua).
    pub refused: Vec<String>,
    /// The EnvoyFilter's name, when the input is one (what the rollout deletes).
    pub envoy_filter: Option<String>,
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
        let mut lua = Lua::default();
        scripts(patch, &mut lua, None);
        if lua.scripts.is_empty() {
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

/// The first string at any of `keys` under `map` (each key a path of fields).
fn text_at(map: &serde_json::Map<String, Value>, keys: &[&[&str]]) -> Option<String> {
    keys.iter().find_map(|path| {
        let (first, rest) = path.split_first()?;
        let mut v = map.get(*first)?;
        for k in rest {
            v = v.get(*k)?;
        }
        v.as_str().map(str::to_string)
    })
}

/// What the file says about Lua: the filters' scripts, and per-route choices found.
#[derive(Debug, Default)]
struct Lua {
    scripts: Vec<String>,
    /// Named `source_codes` of a Lua filter.
    named: Vec<String>,
    /// Each route a `LuaPerRoute` applies to, described.
    per_route: Vec<String>,
    /// How many `http_filters` lists hold a Lua filter (one: their order is that list's).
    lists: usize,
    /// The type of each Lua filter written against Envoy's retired v2 API.
    retired: Vec<String>,
}

/// A route, as the report names it: its `name` and its match.
fn route_label(route: &serde_json::Map<String, Value>) -> String {
    let name = route
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!("`{n}` "));
    let matched = route.get("match").and_then(Value::as_object).and_then(|m| {
        ["prefix", "path", "path_separated_prefix", "safe_regex"]
            .iter()
            .find_map(|k| {
                m.get(*k)
                    .map(|v| format!("{k} {}", v.as_str().map_or(v.to_string(), str::to_string)))
            })
    });
    format!(
        "{}(match {})",
        name.unwrap_or_default(),
        matched.unwrap_or_else(|| "other".into())
    )
}

/// Every Lua filter's source in `value`: typed (`inline_code`, `default_source_code`), the
/// untyped pre-1.5 `config:`, or the EnvoyFilter `filters:` form's `filterConfig`.
fn scripts(value: &Value, out: &mut Lua, route: Option<&serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            let kind = map.get("@type").and_then(Value::as_str).unwrap_or("");
            let named = map
                .get("name")
                .or_else(|| map.get("filterName"))
                .and_then(Value::as_str);
            let lua_name = matches!(named, Some("envoy.lua" | "envoy.filters.http.lua"));
            if kind.ends_with("filters.http.lua.v3.Lua") {
                if let Some(code) = text_at(
                    map,
                    &[
                        &["inline_code"],
                        &["inlineCode"],
                        &["default_source_code", "inline_string"],
                        &["defaultSourceCode", "inlineString"],
                    ],
                ) {
                    out.scripts.push(code);
                }
                if let Some(codes) = map
                    .get("source_codes")
                    .or_else(|| map.get("sourceCodes"))
                    .and_then(Value::as_object)
                {
                    out.named.extend(codes.keys().cloned());
                }
            } else if kind.contains("filter.http.lua.v2.") {
                out.retired.push(kind.to_string());
            } else if kind.ends_with("LuaPerRoute") {
                let what = if map.get("disabled") == Some(&Value::Bool(true)) {
                    "disables the Lua filter".to_string()
                } else if let Some(name) = map.get("name").and_then(Value::as_str) {
                    format!("runs the named script `{name}` in place of the default")
                } else {
                    "runs its own inline `source_code` in place of the default".to_string()
                };
                let at = route.map_or("a route or virtual host".to_string(), route_label);
                out.per_route.push(format!("{at} {what}"));
            } else if lua_name
                && !map.contains_key("typed_config")
                && !map.contains_key("typedConfig")
            {
                if let Some(code) = text_at(
                    map,
                    &[
                        &["config", "inlineCode"],
                        &["config", "inline_code"],
                        &["filterConfig", "inlineCode"],
                        &["filterConfig", "inline_code"],
                    ],
                ) {
                    out.scripts.push(code);
                }
            }
            let here = if map.contains_key("match")
                && (map.contains_key("route")
                    || map.contains_key("typed_per_filter_config")
                    || map.contains_key("direct_response")
                    || map.contains_key("redirect"))
            {
                Some(map)
            } else {
                route
            };
            for (key, v) in map {
                if key == "http_filters" {
                    let before = out.scripts.len();
                    scripts(v, out, here);
                    if out.scripts.len() > before {
                        out.lists += 1;
                    }
                } else {
                    scripts(v, out, here);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scripts(v, out, route)),
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
            refused: Vec::new(),
            envoy_filter: None,
        });
    }
    crate::input::shallow_enough(text, &path.display().to_string())?;
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // `kubectl get -o yaml` prints a `kind: List` whose items are the objects.
        match (
            value.get("kind").and_then(Value::as_str),
            value.get("items").and_then(Value::as_array),
        ) {
            (Some("List" | "EnvoyFilterList"), Some(items)) => {
                documents.extend(items.iter().cloned())
            }
            _ if !value.is_null() => documents.push(value),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for document in &documents {
        let mut lua = Lua::default();
        scripts(document, &mut lua, None);
        let mut refused: Vec<String> = lua
            .per_route
            .iter()
            .map(|r| format!("LuaPerRoute: route {r}. Per-route Lua is not converted: migrate each script on its own (one file per script) and attach each plugin where its routes are (Istio WasmPlugin `targetRefs`, or a VirtualService per route), or keep the Lua"))
            .collect();
        // Envoy refuses a v2 type (1.40 and 1.36 observed: "could not find @type"), so a
        // listener carrying one is rejected: such a filter cannot be what runs today.
        refused.extend(lua.retired.iter().map(|kind| format!(
            "the Lua filter's type `{kind}` is Envoy's retired v2 API: Envoy refuses a configuration that holds it (`could not find @type`, observed in 1.40 and 1.36), so this filter, as written, is not running in any current mesh. Change the type to `type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua`, check that the proxies take it, then migrate that"
        )));
        if lua.scripts.is_empty() && !lua.named.is_empty() && refused.is_empty() {
            refused.push(format!(
                "named `source_codes` ({}) and no default script: no route selects one here",
                lua.named.join(", ")
            ));
        }
        if lua.scripts.is_empty() && refused.is_empty() {
            continue;
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
        if lua.scripts.len() > 1 {
            let envoy_filter = document.get("kind").and_then(Value::as_str) == Some("EnvoyFilter");
            let ordered = match (envoy_filter, lua.lists) {
                (true, _) => chain_order(&spec),
                (false, 1) => Ok(()),
                (false, _) => Err("they are not in one `http_filters` list".into()),
            };
            if let Err(why) = ordered {
                return Err(format!("{}: {} Lua scripts, and their order in the filter chain is not known: {why}; migrate one script at a time (split the file)", path.display(), lua.scripts.len()));
            }
        }
        let envoy_filter = (document.get("kind").and_then(Value::as_str) == Some("EnvoyFilter"))
            .then(|| target.name.clone());
        found.push(Found {
            scripts: lua.scripts,
            target,
            refused,
            envoy_filter,
        });
    }
    match found.len() {
        0 => Err(format!("{}: no Lua filter found (inline_code or default_source_code.inline_string of an envoy.filters.http.lua)", path.display())),
        1 => Ok(found.remove(0)),
        n => Err(format!("{}: Lua in {n} documents, whose order in the filter chain depends on their priority and age; migrate one document at a time (split the file)", path.display())),
    }
}
