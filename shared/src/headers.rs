//! Reading headers the way Envoy's Lua filter does, from bytes a client controls.
//!
//! Lua's `headers():get(name)` is case-insensitive and joins every value of a repeated header with
//! `,` (no space); proxy-wasm's `get_http_request_header` returns only the first value, and its
//! `String` getters panic on non-UTF-8 bytes. [`lua_get`] works on the `_bytes` header list and
//! gives what Lua gives.

use alloc::borrow::Cow;

/// Lua `headers():get(name)` over a header map's entries (`(name, value)`, in order, as
/// `moonshift_kit::wire::HeaderList::iter` gives them): every value of `name`
/// (case-insensitive) joined with `,`, or `None` when the header is absent. An empty value gives
/// `Some(b"")`.
pub fn lua_get<'a>(
    headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    name: &str,
) -> Option<Cow<'a, [u8]>> {
    let mut joined: Option<Cow<'a, [u8]>> = None;
    for (key, value) in headers {
        if key.eq_ignore_ascii_case(name.as_bytes()) {
            match joined.as_mut() {
                // Borrowed while the header is given once: no copy on the common path.
                None => joined = Some(Cow::Borrowed(value)),
                Some(acc) => {
                    let acc = acc.to_mut();
                    acc.push(b',');
                    acc.extend_from_slice(value);
                }
            }
        }
    }
    joined
}

/// Lua `headers():getNumValues(name)`.
pub fn lua_num_values<'a>(
    headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    name: &str,
) -> usize {
    headers
        .into_iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name.as_bytes()))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    use moonshift_kit::wire::{serialize_map, HeaderList};

    /// The map as the host sends it, read as the filters read it.
    fn list(pairs: &[(&str, &[u8])]) -> HeaderList {
        HeaderList::from_wire(serialize_map(pairs)).unwrap_or_default()
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
            assert_eq!(
                lua_get(headers.iter(), name).as_deref(),
                want,
                "get {name:?}"
            );
            assert_eq!(
                lua_num_values(headers.iter(), name),
                count,
                "count {name:?}"
            );
        }
    }

    #[test]
    fn empty_map() {
        assert_eq!(lua_get(list(&[]).iter(), ":path"), None);
    }
}
