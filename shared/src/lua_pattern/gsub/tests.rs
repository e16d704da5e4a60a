//! `Gsub` against LuaJIT's own `string.gsub`: generated patterns, replacements and subjects,
//! the substitutions real scripts make, and what is refused where Lua raises.

use super::{Gsub, MAX_GSUB_STEPS};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use mlua::Lua;
use proptest::prelude::*;

/// LuaJIT's `(string.gsub(subject, pattern, replacement))`; `Err` when Lua raises.
fn lua_gsub(
    lua: &Lua,
    pattern: &[u8],
    replacement: &[u8],
    subject: &[u8],
) -> Result<Vec<u8>, String> {
    let gsub: mlua::Function = lua
        .load("return function(s, p, r) return (string.gsub(s, p, r)) end")
        .eval()
        .unwrap();
    gsub.call::<mlua::String>((
        lua.create_string(subject).unwrap(),
        lua.create_string(pattern).unwrap(),
        lua.create_string(replacement).unwrap(),
    ))
    .map(|s| s.as_bytes().to_vec())
    .map_err(|e| e.to_string())
}

fn pattern_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", ",", ".", "^", "$", "*", "+", "?", "-", "%a", "%d", "%s", "[ab]", "[^,]", "(",
        ")", "(.-)", "(a*)", "(%d+)", "(b?)", "%f[%a]", "&", "=",
    ])
}

fn replacement_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "x", "%0", "%1", "%2", "%%", "%&", "-", "yy"])
}

fn subject_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(b"ab,1 &=x".to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Every pattern and replacement `Gsub` accepts substitutes as LuaJIT does; each it
    /// refuses makes LuaJIT raise (or ends in a lone `%`) on a subject it matches.
    #[test]
    fn substitutes_like_luajit(
        pieces in prop::collection::vec(pattern_piece(), 0..6),
        replacement in prop::collection::vec(replacement_piece(), 0..4),
        subjects in prop::collection::vec(prop::collection::vec(subject_byte(), 0..12), 1..5),
    ) {
        let lua = Lua::new();
        let pattern = pieces.concat().into_bytes();
        let replacement = replacement.concat().into_bytes();
        if let Ok(gsub) = Gsub::parse(&pattern, &replacement) {
            for subject in &subjects {
                prop_assert_eq!(
                    lua_gsub(&lua, &pattern, &replacement, subject),
                    Ok(gsub.apply(subject, usize::MAX).unwrap()),
                    "pattern {:?} replacement {:?} subject {:?}",
                    String::from_utf8_lossy(&pattern), String::from_utf8_lossy(&replacement),
                    String::from_utf8_lossy(subject)
                );
            }
        }
    }
}

/// The substitutions of real scripts (Supabase's apikey strip, an XFF cleanup, Keycloak's
/// logout rename, a trim), and edge cases of empty matches and anchors.
#[test]
fn substitutes_what_real_scripts_do() {
    let lua = Lua::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "([&?])apikey=[^&]+&?",
            "%1",
            "/rest/v1/t?apikey=abc&select=*",
        ),
        (
            "([&?])apikey=[^&]+&?",
            "%1",
            "/rest/v1/t?select=*&apikey=abc",
        ),
        ("&$", "", "/rest/v1/t?select=*&"),
        (",", "", "10.0.0.1,"),
        (
            "post_logout_redirect_uri=",
            "uds_post_logout_redirect_uri=",
            "a=1&post_logout_redirect_uri=x",
        ),
        ("^http", "https", "http://example.com/http"),
        ("^%s+", "", "   padded  "),
        ("%s+$", "", "   padded  "),
        ("x*", "-", "abc"),
        ("a*", "<%0>", "baaac"),
        ("", "-", "abc"),
        ("$", "!", "abc"),
        ("%f[%w]%w+", "[%0]", "hello, big world"),
        ("(%w+)=(%w+)", "%2=%1", "a=1&b=2"),
        ("%%", "%%%%", "100% done"),
    ];
    for (pattern, replacement, subject) in cases {
        let gsub = Gsub::parse(pattern.as_bytes(), replacement.as_bytes()).unwrap();
        assert_eq!(
            lua_gsub(
                &lua,
                pattern.as_bytes(),
                replacement.as_bytes(),
                subject.as_bytes()
            ),
            Ok(gsub.apply(subject.as_bytes(), usize::MAX).unwrap()),
            "{pattern} -> {replacement} on {subject}"
        );
    }
}

/// Refused where LuaJIT raises, or reads past the replacement.
#[test]
fn refuses_what_lua_raises_on() {
    let lua = Lua::new();
    for (pattern, replacement, why) in [
        ("a", "%2", "names a capture"),
        ("(a)", "%2", "names a capture"),
        ("(a)(b)", "%3", "names a capture"),
        ("a", "x%", "ends in a `%`"),
        ("a()", "x", "position capture"),
    ] {
        let err = Gsub::parse(pattern.as_bytes(), replacement.as_bytes()).unwrap_err();
        assert!(err.contains(why), "{pattern} {replacement}: {err}");
        if why == "names a capture" {
            assert!(lua_gsub(&lua, pattern.as_bytes(), replacement.as_bytes(), b"ab").is_err());
        }
    }
}

/// A result past the caller's bound, or searches past the step budget, give `None`, never a
/// cut value.
#[test]
fn bounded() {
    let grow = Gsub::parse(b".", b"%0%0%0%0").unwrap();
    assert_eq!(
        grow.apply(b"abcd", 16).as_deref(),
        Some(&b"aaaabbbbccccdddd"[..])
    );
    assert_eq!(grow.apply(b"abcde", 16), None);
    // The step budget: a search over 64 KiB that needs more steps than it is given stops.
    let search = Gsub::parse(b"(a*)(a*)b", b"").unwrap();
    let subject = vec![b'a'; 64 * 1024];
    let mut few = 1000;
    assert!(search.capturer.search(&subject, 0, &mut few).is_err());
    let mut enough = MAX_GSUB_STEPS;
    assert!(matches!(
        search.capturer.search(&subject, 0, &mut enough),
        Ok(None)
    ));
    assert!(search
        .apply(&subject, usize::MAX)
        .is_some_and(|out| out.len() == subject.len()));
}
