//! The decoding transforms: what a script does with a token when it base64url-decodes it
//! (`basexx.from_url64`) and reads a field of the JSON inside (`json.decode(text).sub`). Both
//! read client bytes, so both are total: any input gives a value or "missing", never a panic,
//! and the work is linear in the input (a value is at most 64 KiB).
//!
//! | transform | renders | missing when |
//! |---|---|---|
//! | `:base64url` | the bytes of RFC 4648 §5 base64url text (`-` and `_`; `=` padding optional) | a byte outside the alphabet, a length of 4n+1, more than two `=` |
//! | `:jwt_payload` | the decoded payload of a JWS compact token (`h.p.s`), after an optional `Bearer ` (any case); **the signature is not checked** | not three dot-separated parts, an empty payload, payload not base64url |
//! | `:json(a.b)` | the value at `a.b` of a JSON object: a string unescaped, an integer of at most 14 digits as written, `true`/`false`, a list of strings and such integers joined with `,` | not valid JSON (nesting past 32 included), no such field, `null`, an object, another number, a list holding anything else |
//!
//! A command whose chain decodes ends missing, as well, when its value holds a control byte
//! (below `0x20` but tab, or `0x7f`): a decoded value comes from the client, and a header must
//! never receive a line break from it.
//!
//! `lua-reference/engine/engine.lua` (`base64url`, `jwt_payload`, `json_field`) does the same,
//! step for step; the two are held together by a property test and by the scenarios.

use alloc::string::String;
use alloc::vec::Vec;

/// How deep a JSON document may nest (objects and lists), as the configuration reader's
/// [`crate::json::MAX_DEPTH`].
pub const MAX_JSON_DEPTH: usize = 32;

/// Each byte's base64url value, or 64 for a byte outside the alphabet. Built at compile time:
/// an index out of range there fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const SEXTETS: [u8; 256] = {
    let mut table = [64u8; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};

/// RFC 4648 §5 base64url, padding optional; bits past the last whole byte are dropped.
pub fn base64url(text: &[u8]) -> Option<Vec<u8>> {
    let padding = text.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let body = text.get(..text.len() - padding)?;
    if body.len() % 4 == 1 || (padding > 0 && (body.len() + padding) % 4 != 0) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    // Six bits in per byte, a byte out whenever eight are there; the 2 or 4 bits left at the
    // end are dropped, as a decoder of unpadded text does.
    let (mut bits, mut count) = (0u32, 0u32);
    for &byte in body {
        let sextet = *SEXTETS.get(usize::from(byte))?;
        if sextet == 64 {
            return None;
        }
        bits = ((bits << 6) | u32::from(sextet)) & 0xfff;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// A JWS compact token's decoded payload; an optional `Bearer ` (any case, then spaces) first.
pub fn jwt_payload(value: &[u8]) -> Option<Vec<u8>> {
    let token = match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            let rest = value.get(7..).unwrap_or_default();
            let spaces = rest.iter().take_while(|&&b| b == b' ').count();
            rest.get(spaces..).unwrap_or_default()
        }
        _ => value,
    };
    let mut parts = token.split(|&b| b == b'.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) if !payload.is_empty() => base64url(payload),
        _ => None,
    }
}

/// Whether a decoded value may be written: no control byte but tab.
pub fn writable(value: &[u8]) -> bool {
    !value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// The value at `path` (object keys, outermost first) of the JSON document `text`, rendered.
/// The whole document must be valid; of keys given twice, the last counts (as a decoder into
/// a Lua table or a map keeps it).
pub fn json_field(text: &[u8], path: &[String]) -> Option<Vec<u8>> {
    walker::field(text, path)
}

mod walker;

#[cfg(test)]
mod tests;
