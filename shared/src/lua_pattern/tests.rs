#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::LuaPattern;
use mlua::Lua;
use proptest::prelude::*;

fn compile(pattern: &[u8]) -> Result<LuaPattern, String> {
    LuaPattern::parse(pattern)
}

/// What LuaJIT's `string.find(subject, pattern)` says: a match or not; `Err` when Lua raises.
fn lua_finds(lua: &Lua, pattern: &[u8], subject: &[u8]) -> Result<bool, String> {
    let find: mlua::Function = lua
        .load("return function(s, p) return string.find(s, p) ~= nil end")
        .eval()
        .unwrap();
    find.call::<bool>((
        lua.create_string(subject).unwrap(),
        lua.create_string(pattern).unwrap(),
    ))
    .map_err(|e| e.to_string())
}

#[test]
fn patterns_real_scripts_use() {
    let lua = Lua::new();
    let cases: [(&str, &[&str], &[&str]); 11] = [
        (
            "^/api/",
            &["/api/v1", "/api/"],
            &["/apix", "x/api/", "/API/"],
        ),
        (
            "^/health$",
            &["/health"],
            &["/health/", "/healthz", "/x/health"],
        ),
        ("%.json$", &["/a.json"], &["/a.jsonp", "/ajson"]),
        ("^/users/%d+$", &["/users/42"], &["/users/", "/users/4a"]),
        (
            "^Bearer%s+%S+",
            &["Bearer abc", "Bearer \t x"],
            &["Bearer ", "bearer abc"],
        ),
        ("^[%w%-_]+$", &["abc-_9"], &["a b", ""]),
        ("[^%w]", &["a b", "é"], &["abc", ""]),
        ("^/v(%d)/", &["/v1/x"], &["/vx/"]),
        ("a.-b", &["axxb", "ab"], &["ba"]),
        ("^%[.*%]$", &["[x]", "[]"], &["[x", "x]"]),
        // A whole word: frontiers either side.
        (
            "%f[%a]cat%f[%A]",
            &["cat", "the cat sat", "cat-food"],
            &["concat", "cats", "scatter"],
        ),
    ];
    for (pattern, yes, no) in cases {
        let parsed = compile(pattern.as_bytes()).unwrap();
        for subject in yes {
            assert!(
                parsed.find(subject.as_bytes()),
                "{pattern} should match {subject:?}"
            );
            assert_eq!(
                lua_finds(&lua, pattern.as_bytes(), subject.as_bytes()),
                Ok(true),
                "{pattern} {subject:?}"
            );
        }
        for subject in no {
            assert!(
                !parsed.find(subject.as_bytes()),
                "{pattern} should not match {subject:?}"
            );
            assert_eq!(
                lua_finds(&lua, pattern.as_bytes(), subject.as_bytes()),
                Ok(false),
                "{pattern} {subject:?}"
            );
        }
    }
}

#[test]
fn refusals_name_the_place() {
    let cases: [(&[u8], &str); 10] = [
        (b"%b()", "%b at byte 0 has no regular-expression equivalent"),
        (
            b"x%f%w",
            "%f at byte 1 must be followed by a set, as in %f[%w]",
        ),
        (b"%f[%w", "the set opened at byte 2 is not closed by `]`"),
        (
            b"(a)%1",
            "the back-reference %1 at byte 3 has no regular-expression equivalent",
        ),
        (b"%g", "%g at byte 0 is not a class in LuaJIT (Lua 5.1)"),
        (b"abc%", "the pattern ends with `%` (byte 3)"),
        (b"a[bc", "the set opened at byte 1 is not closed by `]`"),
        (b"(ab", "the capture opened at byte 0 is not closed"),
        (b"ab)", "the `)` at byte 2 closes no capture"),
        (
            b"a\0b",
            "NUL at byte 1 ends a Lua 5.1 pattern; write %z for a NUL byte",
        ),
    ];
    for (pattern, want) in cases {
        assert_eq!(
            LuaPattern::parse(pattern).map(|_| ()),
            Err(want.to_string()),
            "{pattern:?}"
        );
    }
}

/// Pattern pieces that stress the corners: anchors in odd places, quantifiers after things that
/// are not single items, sets with `]`, `^` and `-` in every position, classes and escapes.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", "-", ".", "^", "$", "*", "+", "?", "%a", "%d", "%s", "%S", "%w", "%p", "%.",
        "%%", "%-", "%z", "%c", "%u", "%l", "%x", "[ab]", "[^a]", "[]]", "[^]]", "[a-]", "[-a]",
        "[%a-]", "[b-a]", "[a-c]", "[%d%s]", "[^%S]", "(", ")", "()", " ", "\n", "\u{ff}", "A",
        "%f[%a]", "%f[^a]", "%f[%s]", "%f[%z]", "%f[a-]",
    ])
}

fn subject_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![
        b'a', b'b', b'c', b'-', b' ', b'\n', b'$', b'^', b'A', b'1', b']', b'.', 0, 0xff, b'%',
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Every pattern the parser accepts answers like LuaJIT on every subject; every pattern it
    /// refuses, LuaJIT refuses too or it uses a construct that is not regular.
    #[test]
    fn matcher_answers_like_luajit(
        pieces in prop::collection::vec(piece(), 0..6),
        subjects in prop::collection::vec(prop::collection::vec(subject_byte(), 0..8), 1..6),
    ) {
        let lua = Lua::new();
        let pattern = pieces.concat().into_bytes();
        match compile(&pattern) {
            Ok(parsed) => {
                for subject in &subjects {
                    let lua_says = lua_finds(&lua, &pattern, subject);
                    prop_assert_eq!(
                        lua_says.clone(), Ok(parsed.find(subject)),
                        "pattern {:?} ({:?}) subject {:?}", String::from_utf8_lossy(&pattern), parsed, subject
                    );
                }
            }
            Err(why) => {
                // Unbalanced captures and unclosed sets: Lua raises on them as well.
                if why.contains("capture") || why.contains("set opened") || why.contains("ends with") {
                    prop_assert!(subjects.iter().all(|s| lua_finds(&lua, &pattern, s).is_err() || why.contains("capture")),
                        "{:?}: refused ({}) but Lua accepts it", String::from_utf8_lossy(&pattern), why);
                } else {
                    prop_assert!(
                        why.contains("regular-expression") || why.contains("LuaJIT") || why.contains("range"),
                        "{:?} refused for no listed reason: {}", String::from_utf8_lossy(&pattern), why
                    );
                }
            }
        }
    }
}

/// Repetition that makes Lua's matcher backtrack over and over (`a*a*a*a*b` on a long run of
/// `a`) is one pass here; the answers are still Lua's.
#[test]
fn backtracking_patterns_answer_like_luajit_on_long_subjects() {
    let lua = Lua::new();
    let long = vec![b'a'; 80];
    let mut with_b = long.clone();
    with_b.push(b'b');
    for pattern in ["a*a*a*a*b", "^(a-)(a-)(a-)b$", "a+a+a+$", "^.-.-.-c"] {
        let parsed = compile(pattern.as_bytes()).unwrap();
        for subject in [&long, &with_b] {
            assert_eq!(
                lua_finds(&lua, pattern.as_bytes(), subject),
                Ok(parsed.find(subject)),
                "{pattern}"
            );
        }
    }
}

/// The most items a pattern may hold is the automaton's size; one more is refused.
#[test]
fn the_item_bound_holds() {
    let most = "a".repeat(super::MAX_ITEMS);
    let parsed = compile(most.as_bytes()).unwrap();
    assert!(parsed.find(most.as_bytes()));
    assert!(!parsed.find(&most.as_bytes()[1..]));
    assert_eq!(
        compile(format!("{most}a").as_bytes()).map(|_| ()),
        Err(format!(
            "the pattern holds more than {} items",
            super::MAX_ITEMS
        ))
    );
    // Frontiers are items too: each has a state, so they count against the same bound.
    let frontiers = "%f[a]".repeat(super::MAX_ITEMS);
    assert!(compile(frontiers.as_bytes()).is_ok());
    for over in [
        format!("{frontiers}%f[a]"),
        format!("{frontiers}a"),
        format!("a{frontiers}"),
    ] {
        assert_eq!(
            compile(over.as_bytes()).map(|_| ()),
            Err(format!(
                "the pattern holds more than {} items",
                super::MAX_ITEMS
            )),
            "{}",
            &over[..20]
        );
    }
}

/// Literal patterns are searched as strings (Knuth-Morris-Pratt), anchored or not, with the
/// answers of the automaton: overlapping prefixes, bytes above 127, escapes that are literal.
#[test]
fn literal_patterns_find_what_the_automaton_finds() {
    let cases: &[(&str, &[u8], bool)] = &[
        ("aab", b"aaab", true),
        ("abab", b"abaabab", true),
        ("abab", b"abaaba", false),
        ("aaaa", b"aaa", false),
        ("/public/", b"/admin?r=/public/", true),
        ("^/api/", b"/api/v1", true),
        ("^/api/", b"/v1/api/", false),
        ("%.png$", b"/a/b.png", true),
        ("%.png$", b"/a/b.pngx", false),
        ("^/healthz$", b"/healthz", true),
        ("^/healthz$", b"/healthz/", false),
        ("\u{e9}t\u{e9}", "\u{e9}t\u{e9}".as_bytes(), true),
        ("%-%-", b"a--b", true),
        ("^", b"", true),
        ("$", b"x", true),
    ];
    for (pattern, subject, want) in cases {
        let parsed = LuaPattern::parse(pattern.as_bytes()).unwrap();
        assert_eq!(parsed.automaton_items(), 0, "{pattern} is a literal");
        assert_eq!(parsed.find(subject), *want, "{pattern} in {subject:?}");
    }
    for pattern in ["a+", "%d", "[ab]", "a?", "%f[%w]x", "."] {
        let parsed = LuaPattern::parse(pattern.as_bytes()).unwrap();
        assert!(parsed.automaton_items() > 0, "{pattern} runs the automaton");
    }
}

/// What LuaJIT's `string.match(subject, pattern)` gives first: its bytes, `None` for no
/// match; `Err` when Lua raises.
fn lua_match(lua: &Lua, pattern: &[u8], subject: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let matcher: mlua::Function = lua
        .load("return function(s, p) return (string.match(s, p)) end")
        .eval()
        .unwrap();
    matcher
        .call::<Option<mlua::String>>((
            lua.create_string(subject).unwrap(),
            lua.create_string(pattern).unwrap(),
        ))
        .map(|v| v.map(|s| s.as_bytes().to_vec()))
        .map_err(|e| e.to_string())
}

fn capture_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", ".", "^", "$", "*", "+", "?", "-", "%a", "%d", "%s", "%S", "[ab]", "[^a]", "(",
        ")", "(.-)", "(a*)", "(%d+)", "(.*)", "(b?)", "%f[%a]", "[a-c]+", "%.", " ",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// `string.match`'s first result, for every pattern the capturer accepts, on every subject:
    /// the same start, the same greedy or lazy choices, the same capture, as LuaJIT.
    #[test]
    fn captures_answer_like_luajit(
        pieces in prop::collection::vec(capture_piece(), 0..7),
        subjects in prop::collection::vec(prop::collection::vec(subject_byte(), 0..10), 1..6),
    ) {
        let lua = Lua::new();
        let pattern = pieces.concat().into_bytes();
        if let Ok(capturer) = super::Capturer::parse(&pattern) {
            for subject in &subjects {
                let ours = capturer
                    .first_capture(subject)
                    .map(|(start, end)| subject[start..end].to_vec());
                prop_assert_eq!(
                    lua_match(&lua, &pattern, subject), Ok(ours),
                    "pattern {:?} subject {:?}", String::from_utf8_lossy(&pattern), String::from_utf8_lossy(subject)
                );
            }
        }
    }
}

/// Captures real scripts cut values with, and a hostile value that makes Lua backtrack: the
/// same answers as LuaJIT.
#[test]
fn captures_real_scripts_use() {
    let lua = Lua::new();
    let long_a = "a".repeat(200);
    let cases: &[(&str, &str)] = &[
        (
            "^spiffe://[^/]+/ns/[^/]+/sa/(.+)$",
            "spiffe://cluster.local/ns/shop/sa/cart",
        ),
        (
            "spiffe://[^/]+/ns/[^/]+/sa/(.+)",
            "By=spiffe://c/ns/a/sa/b;URI=spiffe://d/ns/e/sa/f",
        ),
        ("^[Bb]earer%s+(.+)$", "Bearer abc.def.ghi"),
        ("(%d+%.%d+%.%d+%.%d+)", "x, 10.1.2.3, 192.168.0.1"),
        ("^([^,]+)", "203.0.113.7, 10.0.0.1"),
        ("^/users/(%d+)", "/users/42/orders"),
        ("([^/]+)$", "/a/b/c.txt"),
        ("^(.-)%s*$", "trim me   "),
        ("^http://", "http://example.com/x"),
        ("(a*)(a*)b", "aaab"),
        ("^(a-)(a-)(a-)b$", &long_a),
        ("%f[%w]%w+", "  hello world"),
    ];
    for (pattern, subject) in cases {
        let capturer = super::Capturer::parse(pattern.as_bytes()).unwrap();
        let ours = capturer
            .first_capture(subject.as_bytes())
            .map(|(s, e)| subject.as_bytes()[s..e].to_vec());
        assert_eq!(
            lua_match(&lua, pattern.as_bytes(), subject.as_bytes()),
            Ok(ours),
            "{pattern} on {subject}"
        );
    }
    for (pattern, why) in [
        ("a()b", "position capture"),
        ("(a)(b)(c)(d)(e)(f)(g)(h)(i)", "8 a pattern may hold"),
        ("%b()", "regular-expression"),
    ] {
        let err = super::Capturer::parse(pattern.as_bytes()).unwrap_err();
        assert!(err.contains(why), "{pattern}: {err}");
    }
}
