#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

//! The decoding transforms (`:base64url`, `:jwt_payload`, `:json(path)`) against the Lua
//! engine's own (`lua-reference/engine/engine.lua`), under LuaJIT, on generated input: valid
//! documents, documents with a byte changed, dropped or added, tokens and base64 text with
//! bytes from any alphabet. The two must render the same bytes, or both nothing.

use mlua::{Function, Lua, Value};
use moonshift_shared::template::decode::{base64url, json_field, jwt_payload};
use proptest::prelude::*;
use std::sync::OnceLock;

/// The engine's decoders, from its one source.
fn engine(lua: &Lua) -> (Function, Function, Function) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../lua-reference/engine/engine.lua"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let chunk = format!("{source}\nreturn base64url, jwt_payload, json_field");
    lua.load(chunk).eval().unwrap()
}

fn bytes_of(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::Nil => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        other => panic!("the engine returned {other:?}"),
    }
}

thread_local! {
    static LUA: (Lua, Function, Function, Function) = {
        let lua = Lua::new();
        let (a, b, c) = engine(&lua);
        (lua, a, b, c)
    };
}

const KEYS: [&str; 4] = ["sub", "a", "roles", "é"];

/// A JSON value as text, nested up to `depth`.
fn json_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(KEYS.to_vec()).prop_map(|k| format!("{k:?}"));
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-999i32..999).prop_map(|n| n.to_string()),
        Just("1.5".to_string()),
        Just("-0".to_string()),
        Just("2e3".to_string()),
        "[ -~]{0,8}".prop_map(|s| format!("{:?}", s)),
        Just(r#""\u00e9\ud83d\ude00\n\t\/""#.to_string()),
    ];
    leaf.prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|members| {
                let body: Vec<String> = members.iter().map(|(k, v)| format!("{k} : {v}")).collect();
                format!("{{ {} }}", body.join(","))
            }),
        ]
    })
}

/// A document: an object of generated members, then perhaps one byte changed.
fn document() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((prop::sample::select(KEYS.to_vec()), json_text()), 0..5),
        prop::option::of((any::<prop::sample::Index>(), any::<u8>(), 0u8..3)),
    )
        .prop_map(|(members, edit)| {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            let mut doc = format!("{{{}}}", body.join(",")).into_bytes();
            if let Some((at, byte, how)) = edit {
                let i = at.index(doc.len());
                match how {
                    0 => doc[i] = byte,
                    1 => {
                        doc.remove(i);
                    }
                    _ => doc.insert(i, byte),
                }
            }
            doc
        })
}

fn path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(KEYS.to_vec()).prop_map(String::from),
        1..3,
    )
}

fn config() -> ProptestConfig {
    static CASES: OnceLock<u32> = OnceLock::new();
    ProptestConfig::with_cases(*CASES.get_or_init(|| {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(2_000)
    }))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn json_field_matches_the_engine(doc in document(), path in path()) {
        let want = json_field(&doc, &path);
        let got = LUA.with(|(lua, _, _, json)| {
            let keys = lua.create_sequence_from(path.iter().map(String::as_str)).unwrap();
            bytes_of(json.call((lua.create_string(&doc).unwrap(), keys)).unwrap())
        });
        prop_assert_eq!(&got, &want, "{:?} at {:?}", String::from_utf8_lossy(&doc), path);
    }

    #[test]
    fn base64url_and_jwt_payload_match_the_engine(
        text in "(Bearer +|bearer |BEARER)?[A-Za-z0-9_+/=. -]{0,24}",
    ) {
        let (b64, jwt) = LUA.with(|(lua, b64, jwt, _)| {
            let s = lua.create_string(&text).unwrap();
            (
                bytes_of(b64.call(s.clone()).unwrap()),
                bytes_of(jwt.call(s).unwrap()),
            )
        });
        prop_assert_eq!(b64, base64url(text.as_bytes()), "base64url {:?}", text);
        prop_assert_eq!(jwt, jwt_payload(text.as_bytes()), "jwt_payload {:?}", text);
    }
}

/// Tokens cut by hand: the edge cases a generator hits rarely.
#[test]
fn hand_written_cases_match_the_engine() {
    let docs: &[&[u8]] = &[
        br#"{"a":{"b":1},"a":2}"#,
        br#"{"a":[1,"x",12345678901234]}"#,
        br#"{"a":[123456789012345]}"#,
        br#"{"a":"\ud83d"}"#,
        br#"{"a":"\ud83dx"}"#,
        br#"{"a":"x"}   "#,
        b"{\"a\":\"\xff\xfe\"}",
        br#"{"a":-}"#,
        br#"{"a":-01}"#,
        br#"{"a":0}"#,
        br#"{"a":1E+2}"#,
    ];
    let paths = [
        vec!["a".to_string()],
        vec!["a".to_string(), "b".to_string()],
    ];
    LUA.with(|(lua, _, _, json)| {
        for doc in docs {
            for path in &paths {
                let keys = lua
                    .create_sequence_from(path.iter().map(String::as_str))
                    .unwrap();
                let got = bytes_of(json.call((lua.create_string(doc).unwrap(), keys)).unwrap());
                assert_eq!(
                    got,
                    json_field(doc, path),
                    "{:?} {path:?}",
                    String::from_utf8_lossy(doc)
                );
            }
        }
    });
}
