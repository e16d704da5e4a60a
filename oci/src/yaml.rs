//! The one YAML writer of every manifest Moonshift writes (`moonshift deploy`, `migrate`,
//! `make deploy`).
//!
//! Kubernetes reads YAML as YAML 1.1, where plain `on`, `off`, `yes`, `no`, `y`, `n` are
//! booleans, `2024-01-01` a timestamp, `1_000` the number 1000, `0o17` or `012` octal, `.inf`
//! a float and `~` null: a header value `on` written plain would reach the plugin as `true`.
//! So a string, key or value, is written plain only when it is a word no YAML version resolves
//! to anything but itself (a letter, then letters, digits, `_`, `.`, `/`, `-`, and not one of
//! YAML 1.1's boolean or null words); else quoted (JSON's double quotes, which YAML reads as
//! they are), or, when it spans lines, as a literal block, which YAML never resolves to another
//! type. Numbers, booleans and null are written as JSON writes them.

use serde_json::Value;

/// `value` as a YAML document.
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

/// `value`'s entries at `indent` spaces, each on its own lines (an object's keys, an array's
/// items), appended to `out`.
pub fn write(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}:", key_text(key)));
                nested(item, indent + 2, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        // `- key: value`, the rest of the object below it.
                        let mut inner = String::new();
                        write(item, indent + 2, &mut inner);
                        out.push(' ');
                        out.push_str(inner.trim_start());
                    }
                    _ => nested(item, indent + 2, indent + 2, out),
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{}\n", inline(scalar, indent))),
    }
}

/// What follows `key:` or `-`: a nested block, or ` scalar`.
fn nested(item: &Value, child_indent: usize, block_indent: usize, out: &mut String) {
    match item {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write(item, child_indent, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            // A list under a key sits at the key's own indent, as kubectl writes it.
            write(item, child_indent - 2, out);
        }
        scalar => out.push_str(&format!(" {}\n", inline(scalar, block_indent))),
    }
}

/// A scalar (or an empty object or array) on one line, or a literal block starting on it.
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(text) => string(text, indent),
        other => other.to_string(),
    }
}

/// A string: plain when safe, a literal block when it spans lines of printable text, else
/// JSON-quoted.
fn string(text: &str, indent: usize) -> String {
    if plain_safe(text) {
        return text.to_string();
    }
    let printable = text
        .chars()
        .all(|c| c == '\n' || c == '\t' || !c.is_control());
    if !text.contains('\n') || !printable || text.starts_with([' ', '\t', '\n']) {
        return Value::String(text.to_string()).to_string();
    }
    let body = text.trim_end_matches('\n');
    let trailing = text.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let pad = " ".repeat(indent + 2);
    let mut out = format!("|{chomp}");
    for line in text
        .split('\n')
        .take(body.split('\n').count() + trailing.saturating_sub(1))
    {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// A key, plain when it is safe in every YAML version, else JSON-quoted.
fn key_text(key: &str) -> String {
    match plain_safe(key) {
        true => key.to_string(),
        false => Value::String(key.to_string()).to_string(),
    }
}

/// Whether `word` reads as itself, a string, written plain, in YAML 1.1 and 1.2 alike.
fn plain_safe(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !resolves_in_yaml_1_1(word)
}

/// The plain words YAML 1.1 reads as booleans or null.
fn resolves_in_yaml_1_1(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "y" | "yes" | "n" | "no" | "true" | "false" | "on" | "off" | "null"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_quoted_and_keys_plain_only_when_safe() {
        let cases: &[(Value, &str)] = &[
            (json!({"a": "on"}), "a: \"on\"\n"),
            (json!({"on": 1}), "\"on\": 1\n"),
            (json!({"Yes": true}), "\"Yes\": true\n"),
            (json!({"x-b": "2024-01-01"}), "x-b: \"2024-01-01\"\n"),
            (json!({"1_000": "1_000"}), "\"1_000\": \"1_000\"\n"),
            (
                json!({"k": null, "num": 5, "e": [], "o": {}}),
                "k: null\nnum: 5\ne: []\no: {}\n",
            ),
            (
                json!({"l": ["a", 1, {"b": "c", "d": "on"}]}),
                "l:\n- a\n- 1\n- b: c\n  d: \"on\"\n",
            ),
            (json!({"m": {"k": ["x y"]}}), "m:\n  k:\n  - \"x y\"\n"),
            (
                json!({"v": "extensions.istio.io/v1alpha1", "u": "oci://r/x:1"}),
                "v: extensions.istio.io/v1alpha1\nu: \"oci://r/x:1\"\n",
            ),
            (
                json!({"v": "12", "w": "1.5", "x": "-1", "y": ".inf", "z": "~", "t": "Null"}),
                "v: \"12\"\nw: \"1.5\"\nx: \"-1\"\n\"y\": \".inf\"\nz: \"~\"\nt: \"Null\"\n",
            ),
            (json!({"s": "a\nb\n"}), "s: |\n  a\n  b\n"),
            (json!({"s": "a\nb"}), "s: |-\n  a\n  b\n"),
            (json!({"s": "a\n\nb\n\n"}), "s: |+\n  a\n\n  b\n\n"),
            (json!({"s": " lead\nx"}), "s: \" lead\\nx\"\n"),
            (json!({"s": "bell\u{7}\nx"}), "s: \"bell\\u0007\\nx\"\n"),
        ];
        for (value, want) in cases {
            assert_eq!(document(value), *want, "{value}");
        }
    }
}
