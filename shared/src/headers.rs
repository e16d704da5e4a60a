//! Reading headers the way Envoy's Lua filter does, from bytes a client controls.
//!
//! Lua's `headers():get(name)` is case-insensitive and joins every value of a repeated header with
//! `,` (no space); proxy-wasm's `get_http_request_header` returns only the first value, and its
//! `String` getters panic on non-UTF-8 bytes. [`lua_get`] works on the `_bytes` header list and
//! gives what Lua gives.

use alloc::string::String;
use alloc::vec::Vec;

/// A header map as proxy-wasm's `get_http_request_headers_bytes` returns it: names are lowercase,
/// order and repeated entries are kept.
pub type HeaderList = [(String, Vec<u8>)];

/// Lua `headers():get(name)`: every value of `name` (case-insensitive) joined with `,`, or `None`
/// when the header is absent. An empty value gives `Some(b"")`.
pub fn lua_get(headers: &HeaderList, name: &str) -> Option<Vec<u8>> {
    let mut joined: Option<Vec<u8>> = None;
    for (key, value) in headers {
        if key.eq_ignore_ascii_case(name) {
            match joined.as_mut() {
                None => joined = Some(value.clone()),
                Some(acc) => {
                    acc.push(b',');
                    acc.extend_from_slice(value);
                }
            }
        }
    }
    joined
}

/// Lua `headers():getNumValues(name)`.
pub fn lua_num_values(headers: &HeaderList, name: &str) -> usize {
    headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn lua_get_table() {
        let headers = list(&[
            (":path", b"/a"),
            ("x-a", b"1"),
            ("x-b", b""),
            ("x-a", b"2"),
            ("x-bin", b"\xff\xfe"),
            ("x-a", b"3"),
        ]);
        let cases: [(&str, Option<&[u8]>, usize); 7] = [
            (":path", Some(b"/a"), 1),
            ("x-a", Some(b"1,2,3"), 3),
            ("X-A", Some(b"1,2,3"), 3),
            ("x-b", Some(b""), 1),
            ("x-bin", Some(b"\xff\xfe"), 1),
            ("x-missing", None, 0),
            ("", None, 0),
        ];
        for (name, want, count) in cases {
            assert_eq!(lua_get(&headers, name).as_deref(), want, "get {name:?}");
            assert_eq!(lua_num_values(&headers, name), count, "count {name:?}");
        }
    }

    #[test]
    fn empty_map() {
        assert_eq!(lua_get(&[], ":path"), None);
    }
}
