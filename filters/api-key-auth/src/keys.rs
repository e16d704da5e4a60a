//! The allowed keys, held as SHA-256 digests and matched in constant time, and the query
//! rewriting that strips a key from `:path`.
//!
//! Every key, given in plain text or as its hash, is kept as a digest: a presented key is hashed
//! once and compared with every allowed digest without an early exit, so the time taken does not
//! tell how much of a key, or which key, matched.

use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

pub type Sha = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Sha {
    Sha256::digest(bytes).into()
}

/// `a == b`, reading every byte of both.
fn same(a: &Sha, b: &Sha) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An allowed key: its digest and the consumer it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub digest: Sha,
    pub consumer: Option<String>,
}

/// The consumer of the first allowed key `presented` is (`Some(None)`: allowed, unnamed);
/// `None` when it is none of them. Compares against every key whatever the answer.
pub fn find<'a>(allowed: &'a [Allowed], presented: &[u8]) -> Option<Option<&'a str>> {
    let digest = sha256(presented);
    let mut found = None;
    for key in allowed {
        if same(&key.digest, &digest) && found.is_none() {
            found = Some(key.consumer.as_deref());
        }
    }
    found
}

/// Parses 64 hex digits (either case).
pub fn parse_hex(text: &str) -> Option<Sha> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        let digit = |b: u8| (b as char).to_digit(16);
        let (Some(hi), Some(lo)) = (digit(*pair.first()?), digit(*pair.get(1)?)) else {
            return None;
        };
        *slot = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// `path` without the query parameters named `name` (`?a=1&api_key=k&b=2` gives `?a=1&b=2`; a
/// query left empty loses its `?`). The same scan as the Lua reference's `strip_query`.
pub fn strip_query(path: &[u8], name: &[u8]) -> Vec<u8> {
    let Some(start) = path.iter().position(|&b| b == b'?') else {
        return path.to_vec();
    };
    let (base, query) = (
        path.get(..start).unwrap_or(path),
        path.get(start + 1..).unwrap_or_default(),
    );
    let kept: Vec<&[u8]> = query
        .split(|&b| b == b'&')
        .filter(|pair| pair.split(|&b| b == b'=').next() != Some(name))
        .collect();
    let mut out = base.to_vec();
    if !kept.is_empty() {
        out.push(b'?');
        out.extend_from_slice(&kept.join(&b'&'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_query_table() {
        let cases: [(&str, &str); 7] = [
            ("/a", "/a"),
            ("/a?api_key=k", "/a"),
            ("/a?x=1&api_key=k&y=2", "/a?x=1&y=2"),
            ("/a?api_key=1&api_key=2", "/a"),
            ("/a?api_key", "/a"),
            ("/a?api_keyx=1", "/a?api_keyx=1"),
            ("/a?x=1&&api_key=k", "/a?x=1&"),
        ];
        for (path, want) in cases {
            let got = strip_query(path.as_bytes(), b"api_key");
            assert_eq!(String::from_utf8_lossy(&got), want, "{path}");
        }
    }

    #[test]
    fn digests_and_matching() {
        let hex = "ec6d6e3a8b8b5fbb6b0d4ac1ed8ab3c0a43ae7b5a7b1b3a1f9f2e1c2d3b4a596";
        assert!(parse_hex(hex).is_some());
        assert!(parse_hex(&hex.to_uppercase()).is_some());
        assert_eq!(parse_hex(&hex[1..]), None);
        assert_eq!(parse_hex(&format!("{}g", &hex[1..])), None);
        let allowed = [
            Allowed {
                digest: sha256(b"a"),
                consumer: None,
            },
            Allowed {
                digest: sha256(b"b"),
                consumer: Some("team-b".into()),
            },
            Allowed {
                digest: sha256(b"b"),
                consumer: Some("second".into()),
            },
        ];
        assert_eq!(find(&allowed, b"a"), Some(None));
        assert_eq!(find(&allowed, b"b"), Some(Some("team-b")));
        assert_eq!(find(&allowed, b"c"), None);
        assert_eq!(find(&allowed, b""), None);
    }
}
