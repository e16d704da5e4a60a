//! The cases `moonshift-bench` measures (timed by `make bench`, counted by
//! `make bench-instructions`): which configurations of Envoy each compares. A for none, B the
//! native way to the same effect, C the Lua, D and on the Wasm.

use crate::{Case, Variant};
use moonshift_envoy::envoy;
use moonshift_envoy::runner::{filter_entry, Flavour};
use serde_json::{json, Value};

fn lua(filter: &str, config: Option<Value>) -> Value {
    let dir = moonshift_envoy::paths::workspace_root().join("target/bench/lua");
    filter_entry(filter, config.as_ref(), Flavour::Lua, &dir).unwrap_or_else(|e| panic!("{e}"))
}

fn wasm(filter: &str, config: Option<Value>) -> Value {
    envoy::try_wasm_filter(filter, config.map(|c| c.to_string()).as_deref())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `bench/floor/<name>.wat`, assembled with binaryen's `wasm-as` into target/bench/floor/.
fn hand_written(name: &str) -> std::path::PathBuf {
    let source = moonshift_envoy::paths::workspace_root()
        .join("bench/floor")
        .join(format!("{name}.wat"));
    assemble(&source, name)
}

/// `source` (WebAssembly text) assembled with binaryen's `wasm-as` into
/// `target/bench/floor/<name>.wasm`.
pub fn assemble(source: &std::path::Path, name: &str) -> std::path::PathBuf {
    let out_dir = moonshift_envoy::paths::workspace_root().join("target/bench/floor");
    let _ = std::fs::create_dir_all(&out_dir);
    let out = out_dir.join(format!("{name}.wasm"));
    let status = std::process::Command::new("wasm-as")
        .arg(source)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("wasm-as (binaryen, `make setup`): {e}"));
    assert!(status.success(), "wasm-as failed on {}", source.display());
    out
}

/// A hand-written module as the plugin `root_id`, without configuration.
fn hand_written_variant(label: &'static str, name: &str, root_id: &str) -> Variant {
    Variant {
        label,
        filters: vec![envoy::wasm_filter_at(root_id, &hand_written(name), None)],
        patch: None,
    }
}

/// A filter's facts (its crate's `[package.metadata.moonshift]`).
fn facts(filter: &str) -> Option<moonshift_oci::facts::Facts> {
    moonshift_oci::facts::of(&moonshift_envoy::paths::workspace_root(), filter).ok()
}

/// The configuration a filter is measured with: its own `bench_config` (its Cargo.toml), else
/// the one it is deployed with (`plugin_config`, in `deploy/`).
pub fn bench_config(filter: &str) -> Option<Value> {
    facts(filter).map(|facts| facts.bench_config)
}

/// The floor: the first filter (by name) whose crate names a configuration under which it does
/// nothing (`bench_floor_config`), with that configuration.
pub fn floor() -> Option<(&'static str, Value)> {
    moonshift_envoy::paths::FILTERS
        .iter()
        .copied()
        .find_map(|filter| Some((filter, facts(filter)?.bench_floor_config?)))
}

/// C and D: the filter as its Lua reference and as its Wasm module, with the same configuration.
fn lua_and_wasm(filter: &str, config: Option<Value>) -> [Variant; 2] {
    [
        Variant {
            label: "C Lua",
            filters: vec![lua(filter, config.clone())],
            patch: None,
        },
        Variant {
            label: "D Wasm",
            filters: vec![wasm(filter, config)],
            patch: None,
        },
    ]
}

/// B for a filter: its crate's `bench_native` (bootstrap fields), else its native equivalent
/// with its benchmark configuration (`moonshift_bundle::native`); `None` if it has neither.
fn native(facts: &moonshift_oci::facts::Facts) -> Option<Variant> {
    let (filters, patch) = match &facts.bench_native {
        Some(patch) => (vec![], Some(patch.clone())),
        None => (
            vec![moonshift_bundle::native(&facts.filter, Some(&facts.bench_config), 1).ok()?],
            None,
        ),
    };
    Some(Variant {
        label: "B native",
        filters,
        patch,
    })
}

/// A filter's case: A none, B native where it has a native way to the same effect, C Lua and
/// D Wasm with its `bench_config`, and G the same effect by a hand-written module where its
/// crate names one (`bench_by_hand`: the SDK's share of D's cost).
fn filter_case(facts: &moonshift_oci::facts::Facts) -> Option<Case> {
    let name = facts.filter.as_str();
    let mut variants = with(
        [Some(none()), native(facts)]
            .into_iter()
            .flatten()
            .collect(),
        lua_and_wasm(name, Some(facts.bench_config.clone())),
    );
    if let Some(config) = &facts.bench_as_lua {
        variants.push(Variant {
            label: "E Wasm, its state per worker as the Lua keeps it",
            filters: vec![wasm(name, Some(config.clone()))],
            patch: None,
        });
    }
    if let Some(by_hand) = &facts.bench_by_hand {
        variants.push(hand_written_variant(
            "G Wasm by hand, no SDK",
            by_hand,
            name,
        ));
    }
    Some(Case {
        name: name.to_string(),
        variants,
        direct_only: false,
    })
}

/// `fixed` variants, then C and D.
fn with(fixed: Vec<Variant>, pair: [Variant; 2]) -> Vec<Variant> {
    fixed.into_iter().chain(pair).collect()
}

fn none() -> Variant {
    Variant {
        label: "A none",
        filters: vec![],
        patch: None,
    }
}

/// Every filter in one pipeline plugin's configuration, each with its benchmark configuration,
/// in the order the filters are enumerated (the order of the case "every filter chained").
pub fn every_filter_pipeline() -> Value {
    let members: Vec<Value> = moonshift_envoy::paths::FILTERS
        .iter()
        .map(|filter| json!({"filter": filter, "config": bench_config(filter).unwrap_or_else(|| json!({}))}))
        .collect();
    json!({ "filters": members })
}

pub fn cases() -> Vec<Case> {
    let filters = moonshift_envoy::paths::FILTERS.iter().copied();
    let all_lua: Vec<_> = filters.clone().map(|f| lua(f, bench_config(f))).collect();
    let all_wasm: Vec<_> = filters.clone().map(|f| wasm(f, bench_config(f))).collect();
    let all_bundle: Vec<_> = filters
        .clone()
        .map(|f| {
            let config = bench_config(f).map(|c| c.to_string());
            envoy::try_bundle_filter(f, "moonshift", config.as_deref())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut cases = Vec::new();
    if let Some((filter, config)) = floor() {
        // The floor: a filter doing nothing, to tell the platform's cost of a filter from the
        // cost of its work.
        cases.push(Case {
            name: "floor (a filter doing nothing)".into(),
            variants: with(vec![none()], lua_and_wasm(filter, Some(config))),
            direct_only: false,
        });
    }
    cases.push(Case {
        // What the platform costs before any module code: Envoy's Wasm filter with a module
        // it never enters, and with three empty callbacks, against an empty Lua script.
        name: "floor by hand (no SDK)".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua, empty envoy_on_response",
                filters: vec![envoy::lua_filter_at(
                    &moonshift_envoy::paths::workspace_root().join("bench/floor/empty.lua"),
                )],
                patch: None,
            },
            hand_written_variant("D Wasm, no callbacks", "no-callbacks", "floor"),
            hand_written_variant("F Wasm, three empty callbacks", "empty-callbacks", "floor"),
        ],
        direct_only: true,
    });
    // Each filter.
    cases.extend(filters.filter_map(facts).filter_map(|f| filter_case(&f)));
    if let Some(case) = seed_case() {
        cases.push(case);
    }
    if let Some(case) = string_work_case() {
        cases.push(case);
    }
    cases.push(Case {
        name: "every filter chained".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua",
                filters: all_lua,
                patch: None,
            },
            Variant {
                label: "D Wasm",
                filters: all_wasm,
                patch: None,
            },
            Variant {
                label: "E Wasm, one shared module",
                filters: all_bundle,
                patch: None,
            },
            Variant {
                label: "F Wasm, one pipeline plugin",
                filters: vec![envoy::try_bundle_filter(
                    "pipeline",
                    "moonshift",
                    Some(&every_filter_pipeline().to_string()),
                )
                .unwrap_or_else(|e| panic!("{e}"))],
                patch: None,
            },
        ],
        direct_only: false,
    });
    cases
}

/// The seed's script (`lua-reference/pipeline.lua`) against what `moonshift migrate` makes of
/// it (`examples/istio/seed-pipeline.json`): its three filters as three plugins, and as one
/// pipeline plugin.
fn seed_case() -> Option<Case> {
    let root = moonshift_envoy::paths::workspace_root();
    let text = std::fs::read_to_string(root.join("examples/istio/seed-pipeline.json")).ok()?;
    let pipeline: Value = serde_json::from_str(&text).ok()?;
    let members: Vec<Value> = pipeline
        .get("filters")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|m| Some(wasm(m["filter"].as_str()?, Some(m["config"].clone()))))
        .collect();
    Some(Case {
        name: "the seed's script".into(),
        variants: vec![
            none(),
            Variant {
                label: "C Lua, the script",
                filters: vec![envoy::lua_filter_at(
                    &root.join("lua-reference/pipeline.lua"),
                )],
                patch: None,
            },
            Variant {
                label: "D Wasm, its filters as three plugins",
                filters: members,
                patch: None,
            },
            Variant {
                label: "E Wasm, one pipeline plugin",
                filters: vec![envoy::try_bundle_filter(
                    "pipeline",
                    "moonshift",
                    Some(&pipeline.to_string()),
                )
                .unwrap_or_else(|e| panic!("{e}"))],
                patch: None,
            },
            hand_written_variant(SEED_BY_HAND, "seed-by-hand", "pipeline"),
        ],
        direct_only: false,
    })
}

/// The seed's effects written by hand with the fewest host calls (`bench/floor/seed-by-hand.wat`):
/// the floor its pipeline is held to.
pub const SEED_BY_HAND: &str = "F Wasm by hand, the same effects, no logic";

/// The script of the case "string work" and what `moonshift migrate` makes of it (held to that
/// by cli/tests/migrate.rs).
pub const STRING_WORK_LUA: &str = "bench/string-work.lua";
pub const STRING_WORK_PIPELINE: &str = "bench/string-work.json";

/// String work on every request, as the corpus's scripts do it: a capture (`:match`), a
/// substitution (`:gsub`) and a test of the route's metadata, on a route whose metadata holds.
/// C the script; D its one pipeline plugin; E, F, G each of its three operations alone in a
/// request-decorator (what each costs the Wasm).
/// What `moonshift migrate` made of the string-work script (`STRING_WORK_PIPELINE`).
pub fn string_work_pipeline() -> Result<Value, String> {
    let path = moonshift_envoy::paths::workspace_root().join(STRING_WORK_PIPELINE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn string_work_case() -> Option<Case> {
    let root = moonshift_envoy::paths::workspace_root();
    let pipeline = string_work_pipeline().ok()?;
    let operations = pipeline
        .pointer("/filters/0/config/operations")?
        .as_array()?;
    // The route the requests take carries the metadata the script tests, for every variant.
    let on_route = json!({"route": {"metadata": {"filter_metadata": {
        moonshift_harness::lua::FILTER_NAME: {"tier": "gold"}
    }}}});
    let variant = |label, filters| Variant {
        label,
        filters,
        patch: Some(on_route.clone()),
    };
    let alone = |label, i: usize| {
        let operation = operations.get(i)?.clone();
        Some(variant(
            label,
            vec![wasm(
                "request-decorator",
                Some(json!({"operations": [operation]})),
            )],
        ))
    };
    Some(Case {
        name: "string work (:match, :gsub, a metadata test)".into(),
        variants: vec![
            variant("A none", vec![]),
            variant(
                "C Lua, the script",
                vec![envoy::lua_filter_at(&root.join(STRING_WORK_LUA))],
            ),
            variant(
                "D Wasm, one pipeline plugin",
                vec![envoy::try_bundle_filter(
                    "pipeline",
                    "moonshift",
                    Some(&pipeline.to_string()),
                )
                .unwrap_or_else(|e| panic!("{e}"))],
            ),
            alone("E Wasm, the :match alone", 0)?,
            alone("F Wasm, the :gsub alone", 1)?,
            alone("G Wasm, the metadata test alone", 2)?,
        ],
        direct_only: false,
    })
}
