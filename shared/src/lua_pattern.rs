//! Lua patterns, as real scripts match with them (`path:match("^/api/")`), translated to a
//! regular expression that finds a match exactly where LuaJIT's `string.find` does.
//!
//! Envoy's Lua has no regex library, so a script tests strings with Lua patterns. A condition
//! written as `lua_pattern` keeps the script's own pattern: the Lua reference hands it to
//! `string.find` unchanged, and the Wasm compiles [`to_regex`]'s translation with
//! `regex::bytes` in byte mode (`unicode(false)`, `.` matching `\n` too). Whether a subject
//! matches is then the same answer: a Lua pattern without `%b`, `%f` and back-references is a
//! regular expression over bytes, and Lua's matcher backtracks through every way of matching it.
//!
//! Classes are those of the C locale LuaJIT runs under in Envoy (`%a` is `[A-Za-z]`, `%s` is
//! `[\t\n\v\f\r ]`). Refused, with the position named: `%b`, `%f`, `%1`–`%9` (no regex
//! equivalent), `%g` (not in LuaJIT, which is Lua 5.1), a trailing `%`, an unclosed `[` or `(`,
//! an unmatched `)`, and NUL (Lua 5.1 patterns stop at NUL; write `%z`).

/// Why a pattern has no translation: a sentence naming the byte offset.
pub type PatternError = String;

/// The regex ranges of a `%x` class letter, without brackets; `None` for a letter that is not a
/// class (then `%x` is the literal `x`, as in Lua).
fn class_ranges(letter: u8) -> Option<&'static str> {
    Some(match letter.to_ascii_lowercase() {
        b'a' => r"A-Za-z",
        b'd' => r"0-9",
        b'l' => r"a-z",
        b's' => r"\t\n\x0B\x0C\r ",
        b'u' => r"A-Z",
        b'w' => r"0-9A-Za-z",
        b'x' => r"0-9A-Fa-f",
        b'p' => r"!-/:-@\[-`{-~",
        b'c' => r"\x00-\x1F\x7F",
        b'z' => r"\x00",
        _ => return None,
    })
}

/// `%x` as a regex item (outside a set): a class, or the literal byte.
fn escape_item(letter: u8, at: usize) -> Result<String, PatternError> {
    match letter {
        b'b' | b'f' => Err(format!(
            "%{} at byte {at} has no regular-expression equivalent",
            letter as char
        )),
        b'1'..=b'9' => Err(format!(
            "the back-reference %{} at byte {at} has no regular-expression equivalent",
            letter as char
        )),
        b'g' | b'G' => Err(format!(
            "%{} at byte {at} is not a class in LuaJIT (Lua 5.1)",
            letter as char
        )),
        _ => Ok(match class_ranges(letter) {
            Some(ranges) if letter.is_ascii_uppercase() => format!("[^{ranges}]"),
            Some(ranges) => format!("[{ranges}]"),
            None => byte(letter),
        }),
    }
}

/// One byte as a regex literal.
fn byte(b: u8) -> String {
    format!(r"\x{b:02X}")
}

/// Translates the set starting at `pattern[start] == b'['`; returns the regex class and the
/// offset just past the closing `]`.
fn set(pattern: &[u8], start: usize) -> Result<(String, usize), PatternError> {
    let unclosed = || format!("the set opened at byte {start} is not closed by `]`");
    let mut i = start + 1;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut members = String::new();
    let mut first = true;
    loop {
        let b = *pattern.get(i).ok_or_else(unclosed)?;
        // As in Lua, a `]` right after `[` or `[^` is a member, not the end.
        if b == b']' && !first {
            break;
        }
        first = false;
        if b == b'%' {
            let letter = *pattern.get(i + 1).ok_or_else(unclosed)?;
            match class_ranges(letter) {
                Some(ranges) if letter.is_ascii_uppercase() => {
                    members.push_str(&format!("[^{ranges}]"));
                }
                Some(ranges) => members.push_str(ranges),
                None if letter == b'g' || letter == b'G' => {
                    return Err(format!(
                        "%{} at byte {i} is not a class in LuaJIT (Lua 5.1)",
                        letter as char
                    ))
                }
                None => members.push_str(&byte(letter)),
            }
            i += 2;
        } else if let (Some(b'-'), Some(&end)) = (pattern.get(i + 1), pattern.get(i + 2)) {
            if end == b']' {
                // `a-]`: a literal `a`, then `-` is read as the next member.
                members.push_str(&byte(b));
                i += 1;
                continue;
            }
            if end == b'%' {
                return Err(format!(
                    "the range at byte {i} ends in `%`, which Lua reads two ways; write the range without it"
                ));
            }
            // Lua's test `lo <= c && c <= hi` is never true for a reversed range: no member.
            if b <= end {
                members.push_str(&format!("{}-{}", byte(b), byte(end)));
            }
            i += 3;
        } else {
            members.push_str(&byte(b));
            i += 1;
        }
    }
    let class = match (members.is_empty(), negated) {
        (true, false) => r"[^\x00-\xFF]".to_string(),
        (true, true) => r"[\x00-\xFF]".to_string(),
        (false, false) => format!("[{members}]"),
        (false, true) => format!("[^{members}]"),
    };
    Ok((class, i + 1))
}

/// The regex for `pattern`, to compile with `regex::bytes::RegexBuilder` in byte mode
/// (`unicode(false)`, `dot_matches_new_line(true)`); it matches where `string.find` finds one.
pub fn to_regex(pattern: &[u8]) -> Result<String, PatternError> {
    if let Some(at) = pattern.iter().position(|&b| b == 0) {
        return Err(format!(
            "NUL at byte {at} ends a Lua 5.1 pattern; write %z for a NUL byte"
        ));
    }
    let mut out = String::new();
    let mut i = 0;
    if pattern.first() == Some(&b'^') {
        out.push('^');
        i = 1;
    }
    let mut open_groups: Vec<usize> = Vec::new();
    while let Some(&b) = pattern.get(i) {
        // A `$` as the last byte anchors at the end; anywhere else it is literal.
        if b == b'$' && i + 1 == pattern.len() {
            out.push('$');
            break;
        }
        let (item, next) = match b {
            b'(' => {
                open_groups.push(i);
                out.push_str("(?:");
                i += 1;
                continue;
            }
            b')' => {
                if open_groups.pop().is_none() {
                    return Err(format!("the `)` at byte {i} closes no capture"));
                }
                out.push(')');
                i += 1;
                continue;
            }
            b'%' => {
                let letter = *pattern
                    .get(i + 1)
                    .ok_or_else(|| format!("the pattern ends with `%` (byte {i})"))?;
                (escape_item(letter, i)?, i + 2)
            }
            b'[' => set(pattern, i)?,
            b'.' => (".".to_string(), i + 1),
            other => (byte(other), i + 1),
        };
        out.push_str(&item);
        i = next;
        // A quantifier applies to the single-byte item just written.
        match pattern.get(i) {
            Some(b'*') => out.push('*'),
            Some(b'+') => out.push('+'),
            Some(b'-') => out.push_str("*?"),
            Some(b'?') => out.push('?'),
            _ => continue,
        }
        i += 1;
    }
    if let Some(at) = open_groups.first() {
        return Err(format!("the capture opened at byte {at} is not closed"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
