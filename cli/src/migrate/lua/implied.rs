//! `when` entries, and what a path's condition implies of them: that a header is present, that a
//! route-metadata key is set, that a test holds in every case. The evaluation asks before it
//! uses a value Lua would raise on.

use super::values::{terms, Cond};
use serde_json::{json, Value};

/// A route-metadata condition on `key`, under the name Envoy's Lua filter reads it by
/// default (`test`: `{"present": true}` or one string test).
pub fn metadata_test(key: &str, test: Value) -> Value {
    let mut metadata = json!({"namespace": moonshift_harness::lua::FILTER_NAME, "key": key});
    if let (Some(m), Some(t)) = (metadata.as_object_mut(), test.as_object()) {
        m.extend(t.clone());
    }
    json!({ "metadata": metadata })
}

/// The route-metadata key of `metadata():get(key) or ""` (a value the plugin renders with
/// `%METADATA(ROUTE:ns:key)%`, missing as empty), or of `metadata():get(key)` itself.
pub fn metadata_key(r: &super::values::Read) -> Option<String> {
    if r.header.is_some() || r.transform != super::values::Transform::None {
        return None;
    }
    if let Some(key) = &r.metadata {
        return Some(key.clone());
    }
    let argument = r
        .template
        .as_deref()?
        .strip_prefix("%METADATA(ROUTE:")?
        .strip_suffix(")%")?;
    argument.split_once(':').map(|(_, key)| key.to_string())
}

/// Whether every case of `pc` has route metadata `key` set and not the empty string: what a
/// header name from it needs (Lua raises on a nil name and writes an empty one).
pub fn implies_named(pc: &Cond, key: &str) -> bool {
    let empty = metadata_test(key, json!({"exact": ""}));
    let Ok(cases) = terms(pc) else {
        return false;
    };
    implies_metadata(pc, key)
        && cases
            .iter()
            .all(|t| t.iter().any(|(positive, a)| !*positive && *a == empty))
}

/// Whether every case of `pc` holds `atom` (a `when` entry).
pub fn implies_atom(pc: &Cond, atom: &Value) -> bool {
    terms(pc).is_ok_and(|cases| {
        cases
            .iter()
            .all(|t| t.iter().any(|(positive, a)| *positive && a == atom))
    })
}

/// Whether every case of `pc` has route metadata `key` set to a value Lua takes as true (a
/// `present` test, or a string test, which holds only for a string).
pub fn implies_metadata(pc: &Cond, key: &str) -> bool {
    let Ok(cases) = terms(pc) else {
        return false;
    };
    cases.iter().all(|t| {
        t.iter().any(|(positive, atom)| {
            *positive
                && atom.get("metadata").is_some_and(|m| {
                    m.get("key").and_then(Value::as_str) == Some(key)
                        && m.get("present") != Some(&json!(false))
                })
        })
    })
}

/// A literal as a `when` entry: a header's (or a metadata key's) absence reads as
/// `present: false`.
pub fn entry((positive, atom): &(bool, Value)) -> Value {
    if !positive {
        if let Some(m) = atom
            .get("metadata")
            .filter(|m| m.get("present") == Some(&json!(true)))
        {
            let mut m = m.clone();
            m["present"] = json!(false);
            return json!({ "metadata": m });
        }
        if let Some(name) = atom
            .get("header")
            .filter(|h| h.get("present") == Some(&json!(true)))
            .and_then(|h| h.get("name"))
        {
            return json!({"header": {"name": name, "present": false}});
        }
        return json!({"not": atom});
    }
    atom.clone()
}

/// The header a `when` entry tests, with whether it holds only when the header is present.
pub fn tested(atom: &Value) -> Option<(String, bool)> {
    if let Some(h) = atom.get("header") {
        let name = h.get("name")?.as_str()?.to_string();
        let present_only = h.get("present") != Some(&json!(false));
        return Some((name, present_only));
    }
    if atom.get("path").is_some() {
        return Some((":path".into(), true));
    }
    if atom.get("method").is_some() {
        return Some((":method".into(), true));
    }
    if atom.get("status").is_some() {
        return Some((":status".into(), true));
    }
    None
}

/// Whether every case of `pc` has `header` present.
pub fn implies_present(pc: &Cond, header: &str) -> bool {
    let Ok(cases) = terms(pc) else {
        return false;
    };
    cases.iter().all(|t| {
        t.iter().any(|(positive, atom)| match tested(atom) {
            Some((name, present_only)) if name == header => {
                // The negation of an absence test (present: false) is a presence test; the
                // negation of any other test holds for an absent header too.
                let absence_test = atom
                    .get("header")
                    .is_some_and(|h| h.get("present") == Some(&json!(false)));
                match positive {
                    true => present_only,
                    false => absence_test,
                }
            }
            _ => false,
        })
    })
}
