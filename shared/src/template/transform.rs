//! What a command's value goes through before it is written, as a script's string functions
//! change it: `%REQ(name):…%` with any chain of
//!
//! | transform | Lua | renders |
//! |---|---|---|
//! | `:N` | `string.sub(v, 1, N)` | the first N bytes |
//! | `:sub(i)`, `:sub(i,j)` | `string.sub(v, i, j)` | bytes i to j, 1-based, negative from the end, as Lua counts |
//! | `:lower`, `:upper` | `string.lower(v)`, `string.upper(v)` | ASCII letters changed (the C locale Envoy's LuaJIT runs in) |
//! | `:match(pattern)` | `string.match(v, pattern)` | its first capture, or the whole match; missing when it does not match |
//! | `:gsub(pattern,replacement)` | `(string.gsub(v, pattern, replacement))` | every match replaced (`%1` a capture, `%0` the match, `%%` a percent sign); missing when the result passes 64 KiB |
//! | `:base64url`, `:jwt_payload`, `:json(a.b)` | `basexx.from_url64(v)`, a token's payload decoded, `json.decode(v).a.b` | see [`super::decode`] |
//!
//! applied left to right (`%REQ(authorization):match(^[Bb]earer (.+)$):sub(1,16)%`). A pattern
//! ends at the `)` that closes no capture of its own, so it may hold captures, `%` escapes and
//! sets with `)` in them; it is a Lua pattern as [`crate::lua_pattern::Capturer`] takes it.
//! A `:gsub` pattern ends at the first `,` outside its captures, sets and `%` escapes, and its
//! replacement at the first `)` not escaped by `%` (write `%)` for a parenthesis, as Lua reads
//! it too). A missing value stays missing.

use super::decode;
use crate::lua_pattern::{Capturer, Gsub};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The most instructions one `:match` pattern compiles to: a match costs that many steps for
/// each byte of the value at most (a 64 KiB value, 128 instructions: 8 M steps).
pub const MAX_MATCH_PROGRAM: usize = 128;

/// One transform of a command's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    /// `:N`: the first N bytes.
    Keep(usize),
    /// `:sub(i,j)`, Lua's indices.
    Sub(i64, i64),
    Lower,
    Upper,
    Match(Box<Capturer>),
    Gsub(Box<Gsub>),
    /// `:base64url`: the bytes of base64url text.
    Base64Url,
    /// `:jwt_payload`: a JWS token's payload, decoded, unverified.
    JwtPayload,
    /// `:json(a.b)`: the field at this path of a JSON object.
    Json(Vec<String>),
}

/// The most keys a `:json` path holds.
pub const MAX_JSON_KEYS: usize = 8;

/// Where a `:`-chain that starts at `bytes[from] == b':'` ends: the index of its closing `%`;
/// `None` when it is no chain.
pub fn chain_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = item_end(bytes, at + 1)?;
        match bytes.get(at) {
            Some(b'%') => return Some(at),
            Some(b':') => {}
            _ => return None,
        }
    }
}

/// The end (exclusive) of the one transform at `from`.
fn item_end(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        return Some(from + digits);
    }
    for word in [&b"lower"[..], b"upper", b"base64url", b"jwt_payload"] {
        if rest.starts_with(word) {
            return Some(from + word.len());
        }
    }
    if rest.starts_with(b"sub(") {
        let close = rest.iter().position(|&b| b == b')')?;
        let inner = rest.get(4..close)?;
        let valid = !inner.is_empty()
            && inner
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'-' || *b == b',' || *b == b' ');
        return valid.then_some(from + close + 1);
    }
    if rest.starts_with(b"json(") {
        return rest
            .iter()
            .position(|&b| b == b')')
            .map(|close| from + close + 1);
    }
    if rest.starts_with(b"match(") {
        return pattern_end(bytes, from + 6).map(|close| close + 1);
    }
    if rest.starts_with(b"gsub(") {
        let comma = pattern_end_at(bytes, from + 5, b',')?;
        return replacement_end(bytes, comma + 1).map(|close| close + 1);
    }
    None
}

/// The index of the `)` that ends a replacement starting at `from`: the first one not
/// escaped by `%`.
fn replacement_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        match *bytes.get(at)? {
            b'%' => at += 2,
            b')' => return Some(at),
            _ => at += 1,
        }
    }
}

/// The index of the `)` that ends a pattern starting at `from`: the first one that closes no
/// capture opened inside the pattern, outside sets and `%` escapes.
pub fn pattern_end(bytes: &[u8], from: usize) -> Option<usize> {
    pattern_end_at(bytes, from, b')')
}

/// The index of the first `stop` (`)` or `,`) outside the pattern's own captures, sets and
/// `%` escapes, from `from`; a `)` that closes no capture ends the search either way.
fn pattern_end_at(bytes: &[u8], from: usize, stop: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = from;
    loop {
        match *bytes.get(at)? {
            b'%' => at += 2,
            b'[' => {
                // A set: `]` right after `[` or `[^` is a member; `%x` escapes inside.
                at += 1;
                if bytes.get(at) == Some(&b'^') {
                    at += 1;
                }
                if bytes.get(at) == Some(&b']') {
                    at += 1;
                }
                loop {
                    match *bytes.get(at)? {
                        b'%' => at += 2,
                        b']' => break,
                        _ => at += 1,
                    }
                }
                at += 1;
            }
            b'(' => {
                depth += 1;
                at += 1;
            }
            b if b == stop && depth == 0 => return Some(at),
            b')' if depth == 0 => return None,
            b')' => {
                depth -= 1;
                at += 1;
            }
            _ => at += 1,
        }
    }
}

/// Parses a chain (the text from its first `:` to before its `%`); `field` names the command.
pub fn parse_chain(field: &str, chain: &str) -> Result<Vec<Transform>, String> {
    let bytes = chain.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at + 1;
        let end = item_end(bytes, start).unwrap_or(bytes.len());
        let text = chain.get(start..end).unwrap_or_default();
        out.push(parse_item(field, text)?);
        at = end;
    }
    if out.len() > 8 {
        return Err(format!("{field}: a command takes at most 8 transforms"));
    }
    Ok(out)
}

fn parse_item(field: &str, text: &str) -> Result<Transform, String> {
    if let Ok(n) = text.parse::<usize>() {
        return match n {
            0 => Err(format!(
                "{field} keeps at most N bytes: N must be a number from 1"
            )),
            n => Ok(Transform::Keep(n)),
        };
    }
    match text {
        "lower" => return Ok(Transform::Lower),
        "upper" => return Ok(Transform::Upper),
        "base64url" => return Ok(Transform::Base64Url),
        "jwt_payload" => return Ok(Transform::JwtPayload),
        _ => {}
    }
    if let Some(args) = text.strip_prefix("sub(").and_then(|t| t.strip_suffix(')')) {
        let mut numbers = args.split(',').map(|n| n.trim().parse::<i64>());
        return match (numbers.next(), numbers.next(), numbers.next()) {
            (Some(Ok(i)), None, None) => Ok(Transform::Sub(i, -1)),
            (Some(Ok(i)), Some(Ok(j)), None) => Ok(Transform::Sub(i, j)),
            _ => Err(format!(
                "{field}: :{text} must be sub(i) or sub(i,j) with whole numbers, as Lua's string.sub"
            )),
        };
    }
    if let Some(path) = text.strip_prefix("json(").and_then(|t| t.strip_suffix(')')) {
        return json_path(field, path).map(Transform::Json);
    }
    if let Some(pattern) = text
        .strip_prefix("match(")
        .and_then(|t| t.strip_suffix(')'))
    {
        if pattern.is_empty() {
            return Err(format!(
                "{field}: :match() needs a pattern: an empty one matches every value"
            ));
        }
        let capturer = Capturer::parse(pattern.as_bytes()).map_err(|why| {
            format!("{field}: :match({pattern}) is not a pattern Moonshift cuts values with: {why}")
        })?;
        if capturer.automaton_items() > MAX_MATCH_PROGRAM {
            return Err(format!(
                "{field}: :match({pattern}) is too long: it compiles to {} steps a byte, more than {MAX_MATCH_PROGRAM}",
                capturer.automaton_items()
            ));
        }
        return Ok(Transform::Match(Box::new(capturer)));
    }
    if let Some(args) = text.strip_prefix("gsub(").and_then(|t| t.strip_suffix(')')) {
        let (pattern, replacement) = pattern_end_at(args.as_bytes(), 0, b',')
            .and_then(|comma| Some((args.get(..comma)?, args.get(comma + 1..)?)))
            .ok_or_else(|| {
                format!("{field}: :{text} must be gsub(pattern,replacement), as Lua's string.gsub")
            })?;
        let gsub = Gsub::parse(pattern.as_bytes(), replacement.as_bytes()).map_err(|why| {
            format!("{field}: :gsub({pattern},{replacement}) is not a substitution Moonshift makes: {why}")
        })?;
        if gsub.automaton_items() > MAX_MATCH_PROGRAM {
            return Err(format!(
                "{field}: :gsub({pattern},...) is too long: it compiles to {} steps a byte, more than {MAX_MATCH_PROGRAM}",
                gsub.automaton_items()
            ));
        }
        return Ok(Transform::Gsub(Box::new(gsub)));
    }
    Err(format!(
        "{field}: :{text} is not a transform; the transforms are :N, :sub(i,j), :lower, :upper, :match(pattern), :gsub(pattern,replacement), :base64url, :jwt_payload, :json(key.key)"
    ))
}

/// A `:json` path: 1 to 8 keys joined with `.`, each without `%`, `:` or white space.
fn json_path(field: &str, path: &str) -> Result<Vec<String>, String> {
    let keys: Vec<String> = path.split('.').map(String::from).collect();
    let bad = |key: &String| {
        key.is_empty()
            || key
                .bytes()
                .any(|b| b == b'%' || b == b':' || b.is_ascii_whitespace() || b.is_ascii_control())
    };
    match keys.iter().any(bad) || keys.len() > MAX_JSON_KEYS {
        true => Err(format!(
            "{field}: :json({path}) must name 1 to {MAX_JSON_KEYS} keys joined with `.` (`:json(realm_access.roles)`), none empty or holding `%`, `:` or white space"
        )),
        false => Ok(keys),
    }
}

/// `string.sub(value, i, j)`'s byte range, as Lua 5.1 computes it.
pub fn lua_sub_range(len: usize, i: i64, j: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let start = match i {
        i if i < 0 => (len + i + 1).max(1),
        0 => 1,
        i => i,
    };
    let end = match j {
        j if j < 0 => len + j + 1,
        j => j.min(len),
    };
    (start <= end).then(|| {
        (
            usize::try_from(start - 1).unwrap_or(0),
            usize::try_from(end).unwrap_or(0),
        )
    })
}

impl Transform {
    /// The value after this transform; `None` when it no longer exists (no match).
    pub fn apply(&self, mut value: Vec<u8>) -> Option<Vec<u8>> {
        match self {
            Self::Keep(n) => {
                value.truncate(*n);
                Some(value)
            }
            Self::Sub(i, j) => Some(match lua_sub_range(value.len(), *i, *j) {
                Some((start, end)) => value.get(start..end).unwrap_or_default().to_vec(),
                None => Vec::new(),
            }),
            Self::Lower => {
                value.make_ascii_lowercase();
                Some(value)
            }
            Self::Upper => {
                value.make_ascii_uppercase();
                Some(value)
            }
            Self::Match(capturer) => {
                let (start, end) = capturer.first_capture(&value)?;
                Some(value.get(start..end).unwrap_or_default().to_vec())
            }
            Self::Gsub(gsub) => gsub.apply(&value, super::MAX_RENDERED),
            Self::Base64Url => decode::base64url(&value),
            Self::JwtPayload => decode::jwt_payload(&value),
            Self::Json(path) => decode::json_field(&value, path),
        }
    }

    /// Whether this transform decodes client bytes (its command's value is then checked for
    /// control bytes: [`decode::writable`]).
    pub fn decodes(&self) -> bool {
        matches!(self, Self::Base64Url | Self::JwtPayload | Self::Json(_))
    }
}
