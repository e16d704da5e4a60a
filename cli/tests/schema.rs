//! `moonshift schema FILTER` against the validator (the module's own `proxy_on_configure`
//! code): every scenario configuration the module accepts, the schema accepts; and every
//! configuration made wrong in shape from them (a field of the wrong type, an unknown field,
//! anywhere in the tree), both refuse.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::{moonshift, root};

fn names() -> impl Iterator<Item = &'static str> {
    moonshift_bundle::filter_names().chain(["pipeline"])
}

fn validator(filter: &str) -> jsonschema::Validator {
    let schema = moonshift_bundle::schema::of(filter).expect("a schema");
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{filter}: the schema is valid JSON Schema"
    );
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// The module's verdict on `config`: its refusal, or `None`.
fn refusal(filter: &str, config: &Value) -> Option<String> {
    moonshift_bundle::build_filter(filter, Some(config.to_string().as_bytes())).err()
}

/// Every (filter, configuration) the scenario files hold.
fn scenario_configs() -> Vec<(String, Value)> {
    let dir = root().join("tests/scenarios");
    let mut configs = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/scenarios") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let file: Value = serde_json::from_str(&text).expect("JSON");
        let filter = file["filter"].as_str().expect("filter").to_string();
        for scenario in file["scenarios"].as_array().expect("scenarios") {
            if let Some(config) = scenario.get("config") {
                configs.push((filter.clone(), config.clone()));
            }
        }
    }
    configs
}

/// A value of another JSON type than `value`'s (none for null: `null` is how an optional
/// field is left unset).
fn wrong_type(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => json!("yes"),
        Value::Number(_) => json!("7"),
        Value::String(_) => json!(7),
        Value::Array(_) => json!({}),
        Value::Object(_) => json!([]),
    })
}

/// Every configuration one shape mistake away from `config`: each value in the tree replaced by
/// one of another type, and each object given an unknown field.
fn mistakes(config: &Value) -> Vec<(String, Value)> {
    fn walk(at: &str, value: &Value, set: &dyn Fn(Value) -> Value, out: &mut Vec<(String, Value)>) {
        if let Some(wrong) = wrong_type(value) {
            out.push((format!("{at} of another type"), set(wrong)));
        }
        match value {
            Value::Object(fields) => {
                let mut with_unknown = fields.clone();
                with_unknown.insert("x_unknown".into(), json!(1));
                out.push((
                    format!("{at} with an unknown field"),
                    set(Value::Object(with_unknown)),
                ));
                for (key, field) in fields {
                    let inner = |new: Value| {
                        let mut fields = fields.clone();
                        fields.insert(key.clone(), new);
                        set(Value::Object(fields))
                    };
                    walk(&format!("{at}.{key}"), field, &inner, out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let inner = |new: Value| {
                        let mut items = items.clone();
                        items[i] = new;
                        set(Value::Array(items))
                    };
                    walk(&format!("{at}[{i}]"), item, &inner, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("config", config, &|v| v, &mut out);
    out
}

#[test]
fn every_schema_is_valid_json_schema_and_the_command_prints_it() {
    for filter in names() {
        validator(filter);
        let (code, out) = moonshift(&["schema", filter]);
        assert_eq!(code, 0, "{out}");
        let printed: Value = serde_json::from_str(&out).expect("the output is JSON");
        assert_eq!(
            Some(printed),
            moonshift_bundle::schema::of(filter),
            "{filter}"
        );
    }
    let (code, out) = moonshift(&["schema", "lua"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no filter is named \"lua\""), "{out}");
}

#[test]
fn the_schema_accepts_every_scenario_configuration_the_module_accepts() {
    let mut accepted = 0;
    let mut wrong = Vec::new();
    for (filter, config) in scenario_configs() {
        if refusal(&filter, &config).is_some() {
            continue;
        }
        accepted += 1;
        let errors: Vec<String> = validator(&filter)
            .iter_errors(&config)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if !errors.is_empty() {
            wrong.push(format!("{filter} {config}: {errors:?}"));
        }
    }
    assert!(accepted >= 50, "only {accepted} accepted configurations");
    assert!(
        wrong.is_empty(),
        "the schema refuses:\n{}",
        wrong.join("\n")
    );
}

/// A shape mistake anywhere in a working configuration: both the schema and the module refuse
/// it. Where the module accepts what the schema refuses, the schema is stricter than the filter
/// (a user's editor would flag a configuration Envoy takes); the reverse is a shape the schema
/// does not describe.
#[test]
fn both_refuse_every_shape_mistake() {
    let mut checked = 0;
    let mut disagree = Vec::new();
    for (filter, config) in scenario_configs() {
        if refusal(&filter, &config).is_some() {
            continue;
        }
        let validator = validator(&filter);
        for (what, bad) in mistakes(&config) {
            checked += 1;
            let schema_refuses = !validator.is_valid(&bad);
            let module = refusal(&filter, &bad);
            if schema_refuses != module.is_some() {
                disagree.push(format!(
                    "{filter}: {what}: schema refuses: {schema_refuses}, module: {module:?}\n  {bad}"
                ));
            }
        }
    }
    assert!(checked >= 500, "only {checked} mistakes checked");
    eprintln!("{checked} shape mistakes, each refused by both");
    assert!(
        disagree.is_empty(),
        "{} disagreements:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
}
