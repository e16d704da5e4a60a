//! Renders a filter configuration (JSON) into a Lua reference's `local config = { ... }` table.
//!
//! Each Lua reference opens with one `local config = {` table, closed by a line holding only `}`,
//! whose values are the defaults and whose shape is the Wasm filter's JSON configuration. A
//! configuration is merged over those defaults (objects field by field, anything else replaced,
//! `null` removes) and written back as a plain Lua table: the result is a real file Envoy loads.

use mlua::{Lua, Table, Value};
use serde_json::{Map, Value as Json};

const OPEN: &str = "local config = {";

/// The byte range of the config table's constructor (`{ ... }`) in `source`.
fn table_span(source: &str) -> Result<(usize, usize), String> {
    let line_start = source
        .match_indices(OPEN)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || source.as_bytes().get(i - 1) == Some(&b'\n'))
        .ok_or("the Lua reference has no `local config = {` line")?;
    let open = line_start + OPEN.len() - 1;
    let close = source[open..]
        .find("\n}\n")
        .map(|i| open + i + 1)
        .ok_or("the Lua reference's config table is not closed by a line holding only `}`")?;
    Ok((open, close + 1))
}

fn to_json(value: Value) -> Result<Json, String> {
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(i) => Json::from(i),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Json::from(n as i64),
        Value::Number(n) => serde_json::Number::from_f64(n)
            .map(Json::Number)
            .ok_or("NaN in config")?,
        Value::String(s) => Json::String(s.to_str().map_err(|e| e.to_string())?.to_string()),
        Value::Table(t) => table_to_json(t)?,
        other => return Err(format!("unsupported value in config: {other:?}")),
    })
}

fn table_to_json(table: Table) -> Result<Json, String> {
    let length = table.raw_len();
    let pairs: Vec<(Value, Value)> = table
        .pairs()
        .collect::<mlua::Result<_>>()
        .map_err(|e| e.to_string())?;
    if length > 0 && pairs.len() == length {
        let items = (1..=length)
            .map(|i| {
                table
                    .raw_get::<Value>(i)
                    .map_err(|e| e.to_string())
                    .and_then(to_json)
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Json::Array(items));
    }
    let mut map = Map::new();
    for (key, value) in pairs {
        let Value::String(key) = key else {
            return Err("config table keys must be strings".into());
        };
        map.insert(
            key.to_str().map_err(|e| e.to_string())?.to_string(),
            to_json(value)?,
        );
    }
    Ok(Json::Object(map))
}

/// The defaults: the Lua reference's config table, as JSON.
pub fn defaults(source: &str) -> Result<Json, String> {
    let (open, close) = table_span(source)?;
    let lua = Lua::new();
    let table: Value = lua
        .load(format!("return {}", &source[open..close]))
        .eval()
        .map_err(|e| format!("config table does not evaluate: {e}"))?;
    to_json(table)
}

/// `given` over `base`: objects merge field by field, `null` removes, anything else replaces.
pub fn merge(base: &mut Json, given: &Json) {
    match (base, given) {
        (Json::Object(base), Json::Object(given)) => {
            for (key, value) in given {
                if value.is_null() {
                    base.remove(key);
                } else if let Some(slot) = base.get_mut(key) {
                    merge(slot, value);
                } else {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

fn lua_string(text: &str) -> String {
    let mut out = String::from("\"");
    for b in text.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b}")),
        }
    }
    out.push('"');
    out
}

fn render_value(value: &Json, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    match value {
        Json::Null => out.push_str("nil"),
        Json::Bool(b) => out.push_str(&b.to_string()),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => out.push_str(&lua_string(s)),
        Json::Array(items) if items.is_empty() => out.push_str("{}"),
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Array(items) => {
            out.push_str("{\n");
            for item in items {
                out.push_str(&pad);
                render_value(item, indent + 1, out);
                out.push_str(",\n");
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        Json::Object(map) => {
            out.push_str("{\n");
            for (key, item) in map {
                out.push_str(&format!("{pad}[{}] = ", lua_string(key)));
                render_value(item, indent + 1, out);
                out.push_str(",\n");
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
    }
}

/// Whether `source` has a `local config = { ... }` table to render configurations into. A script
/// without one (a user's own, or the seed's) runs as it is written, whatever the configuration.
pub fn takes_config(source: &str) -> bool {
    table_span(source).is_ok()
}

/// The Lua reference with `config` (JSON, merged over its defaults) as its config table;
/// `None` leaves the file as it is.
pub fn render(source: &str, config: Option<&Json>) -> Result<String, String> {
    let Some(config) = config else {
        return Ok(source.to_string());
    };
    let mut merged = defaults(source)?;
    merge(&mut merged, config);
    let (open, close) = table_span(source)?;
    let mut table = String::new();
    render_value(&merged, 0, &mut table);
    Ok(format!("{}{}{}", &source[..open], table, &source[close..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SOURCE: &str = "-- a filter\nlocal config = {\n  name = \"x\",\n  nested = { a = 1, b = \"two\" },\n  list = { \"p\", \"q\" },\n  empty = {},\n}\n\nfunction envoy_on_request(h) end\n";

    #[test]
    fn defaults_read_back_as_json() {
        assert_eq!(
            defaults(SOURCE).unwrap(),
            json!({"name": "x", "nested": {"a": 1, "b": "two"}, "list": ["p", "q"], "empty": {}})
        );
    }

    #[test]
    fn merge_table() {
        let cases = [
            (
                json!({}),
                json!({"name": "x", "nested": {"a": 1, "b": "two"}, "list": ["p", "q"], "empty": {}}),
            ),
            (
                json!({"nested": {"a": 2}}),
                json!({"name": "x", "nested": {"a": 2, "b": "two"}, "list": ["p", "q"], "empty": {}}),
            ),
            (
                json!({"list": ["r"], "name": null, "extra": true}),
                json!({"nested": {"a": 1, "b": "two"}, "list": ["r"], "empty": {}, "extra": true}),
            ),
        ];
        for (given, want) in cases {
            let mut base = defaults(SOURCE).unwrap();
            merge(&mut base, &given);
            assert_eq!(base, want, "{given}");
        }
    }

    #[test]
    fn rendered_file_loads_and_holds_the_config() {
        let rendered = render(
            SOURCE,
            Some(&json!({"name": "quote\" and \\ and é", "list": []})),
        )
        .unwrap();
        assert!(rendered.starts_with("-- a filter\nlocal config = {\n"));
        assert!(rendered.ends_with("}\n\nfunction envoy_on_request(h) end\n"));
        assert_eq!(
            defaults(&rendered).unwrap(),
            json!({"name": "quote\" and \\ and é", "nested": {"a": 1, "b": "two"}, "list": {}, "empty": {}})
        );
        assert_eq!(render(SOURCE, None).unwrap(), SOURCE);
    }

    #[test]
    fn a_file_without_the_table_is_an_error() {
        assert_eq!(
            render("print(1)\n", Some(&json!({}))),
            Err("the Lua reference has no `local config = {` line".to_string())
        );
    }
}
