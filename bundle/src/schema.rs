//! The configurations' JSON Schemas (`moonshift schema`): each filter's, derived from its
//! config type, and the pipeline's, which holds every filter's under its name.

use crate::pipeline::{Pipeline, MAX_FILTERS};
use crate::FILTERS;
use alloc::format;
use alloc::vec::Vec;
use moonshift_kit::Filter;
use serde_json::{json, Map, Value};

/// The JSON Schema of `root_id`'s configuration, a filter's or the pipeline's; `None` for a
/// name the bundle does not hold.
pub fn of(root_id: &str) -> Option<Value> {
    if root_id == Pipeline::NAME {
        return Some(pipeline());
    }
    let member = FILTERS.iter().find(|member| member.name == root_id)?;
    let Value::Object(derived) = (member.schema)() else {
        return None;
    };
    // `$schema` and the filter's name first, as a reader expects them.
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        derived.get("$schema").cloned().unwrap_or(Value::Null),
    );
    schema.insert("title".into(), json!(member.name));
    schema.extend(
        derived
            .into_iter()
            .filter(|(key, _)| key != "$schema" && key != "title"),
    );
    Some(Value::Object(schema))
}

/// `{"filters": [{"filter": NAME, "config": ...}]}`: each item is one filter with its own
/// configuration's schema. A filter's definitions move to the root under `NAME.DEFINITION`
/// (references are relative to the root), and the filter's own schema is `$defs/NAME`.
fn pipeline() -> Value {
    let mut defs = Map::new();
    let mut items = Vec::new();
    for member in FILTERS {
        let mut schema = (member.schema)();
        rename_refs(&mut schema, member.name);
        if let Some(fields) = schema.as_object_mut() {
            fields.remove("$schema");
            fields.remove("title");
            if let Some(Value::Object(own)) = fields.remove("$defs") {
                for (name, def) in own {
                    defs.insert(format!("{}.{name}", member.name), def);
                }
            }
        }
        defs.insert(member.name.into(), schema);
        items.push(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["filter"],
            "properties": {
                "filter": {"const": member.name},
                "config": {"$ref": format!("#/$defs/{}", member.name)},
            },
        }));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": Pipeline::NAME,
        "description": "Filters run in one plugin: the request phase in order, the response phase in reverse order.",
        "type": "object",
        "additionalProperties": false,
        "required": ["filters"],
        "properties": {
            "filters": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_FILTERS,
                "items": {"oneOf": items},
            },
        },
        "$defs": defs,
    })
}

/// Points every `#/$defs/X` reference in `schema` at `#/$defs/PREFIX.X`.
fn rename_refs(schema: &mut Value, prefix: &str) {
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/$defs/{prefix}.{name}");
                        }
                    }
                    (_, value) => rename_refs(value, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename_refs(item, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reference in the pipeline's schema names a definition it holds.
    #[test]
    fn pipeline_references_resolve() {
        fn refs(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(fields) => fields.iter().for_each(|(key, value)| match value {
                    Value::String(target) if key == "$ref" => out.push(target.clone()),
                    value => refs(value, out),
                }),
                Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
                _ => {}
            }
        }
        let schema = pipeline();
        let mut found = Vec::new();
        refs(&schema, &mut found);
        assert!(found.len() > FILTERS.len(), "{found:?}");
        for target in found {
            let name = target.strip_prefix("#/$defs/").unwrap_or(&target);
            assert!(schema["$defs"].get(name).is_some(), "{target} is defined");
        }
    }

    #[test]
    fn every_filter_and_the_pipeline_have_one() {
        for name in crate::filter_names().chain([Pipeline::NAME]) {
            let schema = of(name).unwrap_or_default();
            assert_eq!(schema["title"], json!(name));
            assert_eq!(schema["type"], json!("object"), "{name}");
        }
        assert_eq!(of("lua"), None);
    }
}
