//! Route metadata as Envoy hands it to a Wasm module.
//!
//! Envoy 1.40 gives `get_property(["xds", "route_metadata"])` as the route's
//! `envoy.config.core.v3.Metadata`, serialized (the older `route_metadata` property is gone; a
//! path one key deeper gives a string's bytes, a double's 8 bytes or a bool's 1 byte, with
//! nothing to tell them apart, and a namespace holding a non-string value gives nothing).
//! Reading the message tells a string from the rest. A string renders as it is and a number as
//! Lua writes it (`2`, `2.5`: [`crate::lua_number`]), as a script's `headers:add(name, v)` or
//! `"x" .. v` does; a bool, a struct or a list renders as missing (the Lua reference renders
//! them missing too; a script that writes one raises). `docs/envoy.md` §7 has what Envoy gave
//! for each kind of value.
//!
//! The wire format read here (protobuf, `base.proto` and `struct.proto`):
//! `Metadata { map<string, Struct> filter_metadata = 1 }`,
//! `Struct { map<string, Value> fields = 1 }`, a map entry `{ string key = 1; Value value = 2 }`,
//! `Value { oneof kind { NullValue null_value = 1; double number_value = 2;
//! string string_value = 3; bool bool_value = 4; Struct struct_value = 5;
//! ListValue list_value = 6 } }`. A repeated key or a repeated `kind` keeps the last, as
//! protobuf does; anything malformed reads as missing.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// One field: its number, for a length-delimited field its bytes, for a varint or a fixed
/// 64-bit field its value (a double's bits).
struct Field<'a> {
    number: u64,
    bytes: Option<&'a [u8]>,
    varint: u64,
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of one message, in order; `None` for malformed input.
fn fields(data: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let tag = varint(data, &mut pos)?;
        let mut number = 0;
        let bytes = match tag & 7 {
            0 => {
                number = varint(data, &mut pos)?;
                None
            }
            1 => {
                let end = pos.checked_add(8).filter(|end| *end <= data.len())?;
                number = u64::from_le_bytes(data.get(pos..end)?.try_into().ok()?);
                pos = end;
                None
            }
            2 => {
                let len = usize::try_from(varint(data, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|end| *end <= data.len())?;
                let bytes = data.get(pos..end)?;
                pos = end;
                Some(bytes)
            }
            5 => {
                pos = pos.checked_add(4).filter(|end| *end <= data.len())?;
                None
            }
            _ => return None,
        };
        out.push(Field {
            number: tag >> 3,
            bytes,
            varint: number,
        });
    }
    Some(out)
}

/// The value of `key` in a serialized protobuf map whose keys are strings (field 1 of the
/// message, entries `{1: key, 2: value}`); the last entry for `key` wins, as protobuf has it.
/// `None` when the key is absent or the bytes are malformed.
fn map_value<'a>(message: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut found = None;
    for entry in fields(message)? {
        let (1, Some(entry)) = (entry.number, entry.bytes) else {
            continue;
        };
        let entry = fields(entry)?;
        let last = |number| {
            entry
                .iter()
                .rev()
                .find(|f| f.number == number)
                .and_then(|f| f.bytes)
                .unwrap_or_default()
        };
        if last(1) == key.as_bytes() {
            found = Some(last(2));
        }
    }
    found
}

/// The string value of `key` in a serialized `google.protobuf.Struct`; `None` when the key is
/// absent, its value is not a string, or the bytes are malformed.
pub(crate) fn string_value<'a>(serialized_struct: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let value = map_value(serialized_struct, key)?;
    // The last `kind` set wins; only a string renders.
    fields(value)?
        .into_iter()
        .rev()
        .find(|f| (1..=6).contains(&f.number))
        .and_then(|kind| if kind.number == 3 { kind.bytes } else { None })
}

/// What `key` in a serialized `google.protobuf.Struct` renders as: a string's bytes, a number
/// as Lua writes it; `None` when the key is absent, holds anything else, or the bytes are
/// malformed.
pub(crate) fn scalar_value<'a>(serialized_struct: &'a [u8], key: &str) -> Option<Cow<'a, [u8]>> {
    let value = map_value(serialized_struct, key)?;
    let kind = fields(value)?
        .into_iter()
        .rev()
        .find(|f| (1..=6).contains(&f.number))?;
    match kind.number {
        3 => kind.bytes.map(Cow::Borrowed),
        2 => crate::lua_number::format(f64::from_bits(kind.varint)).map(Cow::Owned),
        _ => None,
    }
}

/// Whether `key` in a serialized `google.protobuf.Struct` holds what Lua's `if` takes as true:
/// any value but `false` and `null` (Lua's `metadata():get` gives `nil` for `null`). Malformed
/// bytes read as absent.
pub(crate) fn truthy_value(serialized_struct: &[u8], key: &str) -> bool {
    let Some(value) = map_value(serialized_struct, key) else {
        return false;
    };
    let kind = fields(value).and_then(|fields| {
        fields
            .into_iter()
            .rev()
            .find(|f| (1..=6).contains(&f.number))
            .map(|f| (f.number, f.varint))
    });
    match kind {
        None | Some((1, _)) => false,
        Some((4, set)) => set != 0,
        Some(_) => true,
    }
}

/// Whether `filter_metadata[namespace][key]` in a serialized `envoy.config.core.v3.Metadata`
/// holds a value Lua's `if` takes as true ([`truthy_value`]).
pub fn route_truthy(serialized_metadata: &[u8], namespace: &str, key: &str) -> bool {
    map_value(serialized_metadata, namespace).is_some_and(|s| truthy_value(s, key))
}

/// What `filter_metadata[namespace][key]` in a serialized `envoy.config.core.v3.Metadata`
/// renders as ([`scalar_value`]): a string, or a number as Lua writes it.
pub fn route_scalar<'a>(
    serialized_metadata: &'a [u8],
    namespace: &str,
    key: &str,
) -> Option<Cow<'a, [u8]>> {
    scalar_value(map_value(serialized_metadata, namespace)?, key)
}

/// The string value of `filter_metadata[namespace][key]` in a serialized
/// `envoy.config.core.v3.Metadata`.
pub fn route_string<'a>(
    serialized_metadata: &'a [u8],
    namespace: &str,
    key: &str,
) -> Option<&'a [u8]> {
    string_value(map_value(serialized_metadata, namespace)?, key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A length-delimited field (lengths under 128 here).
    fn bytes_field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    fn entry(key: &str, value: &[u8]) -> Vec<u8> {
        let mut entry = bytes_field(1, key.as_bytes());
        entry.extend(bytes_field(2, value));
        bytes_field(1, &entry)
    }

    fn string(text: &str) -> Vec<u8> {
        bytes_field(3, text.as_bytes())
    }

    #[test]
    fn what_a_key_reads_as() {
        let number = [&[2 << 3 | 1][..], &2.5f64.to_le_bytes()].concat();
        let boolean = vec![4 << 3, 1];
        let nested = bytes_field(5, &entry("a", &string("b")));
        let serialized = [
            entry("team", &string("payments")),
            entry("n", &number),
            entry("b", &boolean),
            entry("s", &nested),
            entry("empty", &string("")),
            entry("twice", &string("first")),
            entry("twice", &string("second")),
            entry("changed", &[string("text"), number.clone()].concat()),
        ]
        .concat();
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("team", Some(b"payments")),
            ("empty", Some(b"")),
            ("twice", Some(b"second")),
            ("n", None),
            ("b", None),
            ("s", None),
            ("a", None),
            ("changed", None),
            ("absent", None),
        ];
        for (key, want) in cases {
            assert_eq!(string_value(&serialized, key), *want, "{key}");
        }
        // What a template renders: a number too, as Lua writes it.
        let rendered: &[(&str, Option<&[u8]>)] = &[
            ("team", Some(b"payments")),
            ("empty", Some(b"")),
            ("n", Some(b"2.5")),
            ("changed", Some(b"2.5")),
            ("b", None),
            ("s", None),
            ("absent", None),
        ];
        for (key, want) in rendered {
            let got = scalar_value(&serialized, key);
            assert_eq!(got.as_deref(), *want, "rendered {key}");
        }
        let falsy = [entry("f", &[4 << 3, 0]), entry("z", &[1 << 3, 0])].concat();
        let serialized = [serialized, falsy].concat();
        let truthy: &[(&str, bool)] = &[
            ("team", true),
            ("empty", true),
            ("n", true),
            ("b", true),
            ("s", true),
            ("changed", true),
            ("f", false),
            ("z", false),
            ("absent", false),
        ];
        for (key, want) in truthy {
            assert_eq!(truthy_value(&serialized, key), *want, "truthy {key}");
        }
    }

    /// The bytes Envoy 1.40 gave for a route with `filter_metadata: {moonshift: {team: wasm-ns,
    /// n: 2.5, b: true, s: {a: b}, l: [1, x], z: null}}` in YAML (its loader made `2.5` a
    /// string).
    const FROM_ENVOY: &str = "0a6a0a096d6f6f6e7368696674125d0a070a017a120208000a110a0173120c2a0a0a080a016112031a01620a170a016c121232100a0911000000000000f03f0a031a01780a0a0a016e12051a03322e350a070a0162120220010a110a047465616d12091a077761736d2d6e73";

    #[test]
    fn what_envoy_gave() {
        let bytes: Vec<u8> = (0..FROM_ENVOY.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(FROM_ENVOY.get(i..i + 2).unwrap(), 16).unwrap())
            .collect();
        let cases: &[(&str, &str, Option<&[u8]>)] = &[
            ("moonshift", "team", Some(b"wasm-ns")),
            ("moonshift", "n", Some(b"2.5")),
            ("moonshift", "b", None),
            ("moonshift", "s", None),
            ("moonshift", "l", None),
            ("moonshift", "z", None),
            ("moonshift", "none", None),
            ("other", "team", None),
        ];
        for (namespace, key, want) in cases {
            assert_eq!(
                route_string(&bytes, namespace, key),
                *want,
                "{namespace}:{key}"
            );
        }
        assert_eq!(
            route_string(&[], "moonshift", "team"),
            None,
            "a route without metadata"
        );
        for (namespace, key, want) in cases {
            let got = route_scalar(&bytes, namespace, key);
            assert_eq!(got.as_deref(), *want, "rendered {namespace}:{key}");
        }
        let truthy: &[(&str, bool)] = &[
            ("team", true),
            ("n", true),
            ("b", true),
            ("s", true),
            ("l", true),
            ("z", false),
            ("none", false),
        ];
        for (key, want) in truthy {
            assert_eq!(route_truthy(&bytes, "moonshift", key), *want, "{key}");
        }
        assert!(!route_truthy(&bytes, "other", "team"));
    }

    #[test]
    fn malformed_reads_as_missing() {
        let good = entry("team", &string("payments"));
        for cut in 0..good.len() {
            let truncated = good.get(..cut).unwrap();
            assert_eq!(string_value(truncated, "team"), None, "cut at {cut}");
            assert!(!truthy_value(truncated, "team"), "cut at {cut}");
        }
        assert_eq!(string_value(&[0x0f], "team"), None, "wire type 7");
        assert_eq!(
            string_value(&[0x0a, 0xff], "team"),
            None,
            "unterminated length"
        );
        assert_eq!(string_value(&[], "team"), None);
    }
}
