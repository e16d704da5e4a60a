//! Values a Lua pattern matches (or does not), for the requests a migration is compared on.

use moonshift_shared::lua_pattern::LuaPattern;

/// A value a Lua pattern matches, found among likely candidates.
pub fn sample(pattern: &str, want: bool) -> Option<String> {
    let compiled = LuaPattern::parse(pattern.as_bytes()).ok()?;
    let literal: String = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace("%s+", " ")
        .replace("%d+", "1")
        .replace(".*", "x")
        .replace(".+", "x")
        .chars()
        .filter(|c| !"%^$()[]*+?".contains(*c))
        .collect();
    let cased: String = pattern
        .split('[')
        .filter_map(|part| part.chars().next())
        .collect();
    let candidates = [
        literal.clone(),
        format!("/{literal}"),
        cased,
        format!("{literal}x"),
        "moonshift".into(),
        String::new(),
        "/".into(),
        "x".into(),
        "1".into(),
        "Bearer x".into(),
    ];
    candidates
        .into_iter()
        .find(|c| compiled.find(c.as_bytes()) == want)
}

/// A value holding a match of `pattern`, built item by item (each item once, optional and
/// repeated items once too, a set by a member) and checked by the pattern itself; `None`
/// when the guess does not match.
pub fn matching(pattern: &str) -> Option<String> {
    let compiled = LuaPattern::parse(pattern.as_bytes()).ok()?;
    let bytes = pattern.as_bytes();
    let mut out = String::new();
    let mut at = usize::from(bytes.first() == Some(&b'^'));
    while let Some(&b) = bytes.get(at) {
        let (member, next) = match b {
            b'(' | b')' => (None, at + 1),
            b'$' if at + 1 == bytes.len() => (None, at + 1),
            b'.' => (Some('x'), at + 1),
            b'%' if bytes.get(at + 1) == Some(&b'f') => {
                // A frontier consumes nothing; skip its set.
                (None, set_end(bytes, at + 2)?)
            }
            b'%' => (Some(class_member(*bytes.get(at + 1)?)), at + 2),
            b'[' => {
                let end = set_end(bytes, at)?;
                let set = std::str::from_utf8(bytes.get(at..end)?).ok()?;
                (set_member(set), end)
            }
            other => (Some(char::from(other)), at + 1),
        };
        at = next;
        let quantifier = bytes.get(at).copied();
        if matches!(quantifier, Some(b'*' | b'+' | b'-' | b'?')) {
            at += 1;
        }
        if let Some(c) = member {
            out.push(c);
        }
    }
    compiled.find(out.as_bytes()).then_some(out)
}

/// A byte `%c` matches.
fn class_member(c: u8) -> char {
    match c {
        b'a' | b'l' | b'w' | b'x' => 'a',
        b'u' => 'A',
        b'd' => '1',
        b's' => ' ',
        b'p' => '.',
        b'A' | b'L' | b'U' | b'S' | b'P' | b'C' => '1',
        b'D' | b'W' | b'X' => '.',
        other => char::from(other),
    }
}

/// Where the set starting at `bytes[from] == b'['` ends (after its `]`).
fn set_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from + 1;
    if bytes.get(at) == Some(&b'^') {
        at += 1;
    }
    if bytes.get(at) == Some(&b']') {
        at += 1;
    }
    loop {
        match *bytes.get(at)? {
            b'%' => at += 2,
            b']' => return Some(at + 1),
            _ => at += 1,
        }
    }
}

/// A byte the set `[...]` holds, tried among likely ones.
fn set_member(set: &str) -> Option<char> {
    let whole = LuaPattern::parse(format!("^{set}$").as_bytes()).ok()?;
    let likely = "ax1/.=-_ &?,;:";
    let inner = set.trim_start_matches('[').trim_start_matches('^');
    // A negated set's own bytes are what it does not hold: likely bytes first there.
    let order: String = match set.starts_with("[^") {
        true => likely.chars().chain(inner.chars()).collect(),
        false => inner.chars().chain(likely.chars()).collect(),
    };
    order
        .chars()
        .find(|c| c.is_ascii() && whole.find(c.to_string().as_bytes()))
}
