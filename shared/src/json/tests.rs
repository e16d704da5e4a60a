//! Long because: one table per thing the reader must do as `serde_json` does (values, escapes,
//! numbers, depth, errors with their paths, serde's derive features), each case checked against
//! `serde_json` itself; split, the tables would share their fixtures across files.

use super::*;
use serde::Deserialize;

/// Converts serde_json's tree into ours, for documents with integer numbers only.
fn from_serde_json(value: &serde_json::Value) -> Json {
    match value {
        serde_json::Value::Null => Json::Null,
        serde_json::Value::Bool(b) => Json::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Json::UInt(u),
            (None, Some(i)) => Json::Int(i),
            // `-0` is an integer in JSON's grammar, read here as 0; serde_json reads it as the
            // float -0.0 (CI drew it: `-` then `0`).
            _ if n.as_f64() == Some(0.0) => Json::Int(0),
            _ => panic!("float in the corpus"),
        },
        serde_json::Value::String(s) => Json::Str(s.clone()),
        serde_json::Value::Array(items) => Json::Array(items.iter().map(from_serde_json).collect()),
        serde_json::Value::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_serde_json(v)))
                .collect(),
        ),
    }
}

#[test]
fn parses_what_serde_json_parses() {
    let corpus = [
        "null",
        " true ",
        "false",
        "0",
        "18446744073709551615",
        "-9223372036854775808",
        r#""""#,
        r#""a\"b\\c\/d\b\f\n\r\t""#,
        r#""\u00e9\u20ac\ud83d\ude00 é""#,
        "[]",
        "[1, [2, []], {}]",
        r#"{"a":1,"b":{"c":[true,null,"x"]},"d":-5}"#,
        "\n{ \"k\" : \"v\" }\n",
    ];
    for text in corpus {
        let ours = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, from_serde_json(&theirs), "{text}");
    }
}

#[test]
fn rejects_bad_json_and_floats() {
    // (text, error, valid JSON that this reader refuses on purpose)
    let cases = [
        (
            "",
            "configuration: EOF while parsing a value at line 1 column 1",
            false,
        ),
        (
            "{",
            "configuration: EOF while parsing an object at line 1 column 2",
            false,
        ),
        (
            "[1,",
            "[1]: EOF while parsing a value at line 1 column 4",
            false,
        ),
        (
            "[1 2]",
            "configuration: expected `,` or `]` at line 1 column 4",
            false,
        ),
        (
            r#"{"a" 1}"#,
            "configuration: expected `:` at line 1 column 6",
            false,
        ),
        (
            r#"{"a":1 "b":2}"#,
            "configuration: expected `,` or `}` at line 1 column 8",
            false,
        ),
        (
            "{a:1}",
            "configuration: key must be a string at line 1 column 2",
            false,
        ),
        (
            "{}\n x",
            "configuration: trailing characters at line 2 column 2",
            false,
        ),
        (
            "01",
            "configuration: invalid number at line 1 column 3",
            false,
        ),
        (
            "-",
            "configuration: invalid number at line 1 column 2",
            false,
        ),
        (
            r#""\x""#,
            "configuration: invalid escape at line 1 column 4",
            false,
        ),
        (
            r#""\ud800""#,
            "configuration: lone leading surrogate in hex escape at line 1 column 8",
            false,
        ),
        (
            "\"a\nb\"",
            "configuration: control character in a string at line 2 column 1",
            false,
        ),
        (
            "\"abc",
            "configuration: EOF while parsing a string at line 1 column 5",
            false,
        ),
        (
            "nul",
            "configuration: expected a value at line 1 column 1",
            false,
        ),
        (
            "1.5",
            "configuration: numbers must be integers at line 1 column 1",
            true,
        ),
        (
            "1e3",
            "configuration: numbers must be integers at line 1 column 1",
            true,
        ),
        (
            "18446744073709551616",
            "configuration: number out of range at line 1 column 21",
            true,
        ),
        (
            &format!("{}{}", "[".repeat(33), "]".repeat(33)),
            "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting too deep at line 1 column 33",
            true,
        ),
    ];
    for (text, want, valid_json) in cases {
        let serde_json_accepts = serde_json::from_str::<serde_json::Value>(text).is_ok();
        assert_eq!(serde_json_accepts, valid_json, "serde_json on {text:?}");
        assert_eq!(
            parse(text.as_bytes()).map_err(|e| e.to_string()),
            Err(want.to_string()),
            "{text:?}"
        );
    }
    assert_eq!(
        parse(b"\"\xff\"").map_err(|e| e.to_string()),
        Err("configuration: invalid UTF-8 in a string at line 1 column 4".to_string())
    );
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Outer {
    name: String,
    count: u32,
    items: Vec<Item>,
    mode: Mode,
    key: Option<Key>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    id: u8,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    #[default]
    Fast,
    Slow,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Key {
    Header(String),
    Address {},
}

#[test]
fn deserializes_like_serde_json() {
    let documents = [
        "{}",
        r#"{"name":"a","count":4294967295,"mode":"slow"}"#,
        r#"{"items":[{"id":1},{"id":2,"note":"x"},{"id":3,"note":null}]}"#,
        r#"{"key":{"header":"x-id"}}"#,
        r#"{"key":{"address":{}}}"#,
        r#"{"key":null}"#,
    ];
    for text in documents {
        let ours: Outer = from_slice(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        let theirs: Outer = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs, "{text}");
    }
}

#[test]
fn errors_name_the_path() {
    let cases = [
        (
            r#"{"nmae":"a"}"#,
            "nmae: unknown field `nmae`, expected one of `name`, `count`, `items`, `mode`, `key`",
        ),
        (
            r#"{"count":"3"}"#,
            r#"count: invalid type: string "3", expected u32"#,
        ),
        (
            r#"{"count":-1}"#,
            "count: invalid value: integer `-1`, expected u32",
        ),
        (
            r#"{"count":4294967296}"#,
            "count: invalid value: integer `4294967296`, expected u32",
        ),
        (
            r#"{"items":[{"id":1},{"id":300}]}"#,
            "items[1].id: invalid value: integer `300`, expected u8",
        ),
        (
            r#"{"items":[{"note":"x"}]}"#,
            "items[0]: missing field `id`",
        ),
        (
            r#"{"items":[{"id":1,"x":2}]}"#,
            "items[0].x: unknown field `x`, expected `id` or `note`",
        ),
        (
            r#"{"mode":"medium"}"#,
            "mode: unknown variant `medium`, expected `fast` or `slow`",
        ),
        (
            r#"{"mode":1}"#,
            "mode: invalid type: integer `1`, expected enum Mode",
        ),
        (
            r#"{"key":{"cookie":"a"}}"#,
            "key.cookie: unknown variant `cookie`, expected `header` or `address`",
        ),
        (
            r#"{"key":{"header":1}}"#,
            "key.header: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"key":{"header":"a","address":{}}}"#,
            "key: expected an object with exactly one key for an enum",
        ),
        (
            r#"{"key":{"address":[]}}"#,
            "key.address: invalid type: an array, expected struct variant Key::Address",
        ),
        (
            r#"{"name":"a","name":"b"}"#,
            "configuration: duplicate field `name`",
        ),
        (
            r#"[]"#,
            "configuration: invalid type: an array, expected struct Outer",
        ),
    ];
    for (text, want) in cases {
        let got = from_slice::<Outer>(text.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(got, Err(want.to_string()), "{text}");
    }
}

#[test]
fn quote_table() {
    let cases = [
        ("10ms", r#""10ms""#),
        ("a\"b\\c", r#""a\"b\\c""#),
        ("a\r\nb\t\0", r#""a\r\nb\t\u0000""#),
        ("é", r#""é""#),
    ];
    for (text, want) in cases {
        assert_eq!(quote(text), want);
    }
}

#[test]
fn to_text_round_trips_through_serde_json() {
    let cases = [
        r#"{}"#,
        r#"{"a":[1,-2,true,false,null],"b":{"c":"x\"y\\z\n\u0001é"}}"#,
        r#"[{"filter":"path-logger","config":{"template":"%REQ(:path)%"}}]"#,
    ];
    for text in cases {
        let ours = parse(text.as_bytes()).unwrap().to_text();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        let back: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(back, theirs, "{text} -> {ours}");
    }
}

/// Pieces of JSON text, valid and not, for documents neither reader has seen.
const TOKENS: [&str; 30] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "\"a\"",
    "\"\"",
    "\"\\u0041\"",
    "\"\\u+041\"",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\x\"",
    "\"\\n\"",
    "\"a\tb\"",
    "0",
    "01",
    "-2",
    "-",
    "18446744073709551616",
    "1.5",
    "1e3",
    "true",
    "tru",
    "null",
    "\"k\":1",
    "{\"k\":[]}",
];

fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

proptest::proptest! {
    /// On generated documents the reader accepts exactly what serde_json accepts, but for
    /// floats, which configurations never hold and it refuses on purpose; and reads the same tree.
    #[test]
    fn agrees_with_serde_json_on_generated_documents(
        picks in proptest::collection::vec(0..TOKENS.len(), 1..24)
    ) {
        let text: String = picks.iter().map(|&i| TOKENS[i]).collect();
        let ours = parse(text.as_bytes());
        let theirs = serde_json::from_str::<serde_json::Value>(&text);
        match (&ours, &theirs) {
            (Ok(ours), Ok(theirs)) => {
                // serde_json keeps the last of duplicate keys; this reader keeps them all.
                let mut keys = std::collections::BTreeSet::new();
                let duplicates = matches!(ours, Json::Object(e) if !e.iter().all(|(k, _)| keys.insert(k.clone())));
                if !duplicates {
                    proptest::prop_assert_eq!(ours, &from_serde_json(theirs), "{}", text);
                }
            }
            (Err(_), Ok(theirs)) => proptest::prop_assert!(has_float(theirs), "refused {:?}, which serde_json reads", text),
            (Ok(_), Err(e)) => proptest::prop_assert!(false, "accepted {:?}, which serde_json refuses: {}", text, e),
            (Err(_), Err(_)) => {}
        }
    }
}

#[test]
fn minus_zero_is_the_integer_zero() {
    assert_eq!(parse(b"-0").unwrap(), Json::Int(0));
    let theirs = serde_json::from_str::<serde_json::Value>("-0").unwrap();
    assert!(theirs.is_f64(), "serde_json reads -0 as a float: {theirs}");
    assert_eq!(from_serde_json(&theirs), Json::Int(0));
}

#[test]
fn a_plus_in_a_unicode_escape_is_refused() {
    assert!(parse(br#""\u+041""#).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(r#""\u+041""#).is_err());
}

#[test]
fn a_float_names_its_field() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Bucket {
        max_tokens: u32,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Config {
        token_bucket: Bucket,
    }
    let error = from_slice::<Config>(br#"{"token_bucket":{"max_tokens":1.5}}"#).unwrap_err();
    assert!(error.to_string().contains("max_tokens"), "{error}");
}
