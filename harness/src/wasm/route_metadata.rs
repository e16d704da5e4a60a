//! Route metadata as Envoy 1.40's `get_property(["xds", "route_metadata"])` gives it: the
//! route's `envoy.config.core.v3.Metadata`, serialized. Field numbers from `base.proto` and
//! `struct.proto`; map order is protobuf's to choose and the reader must not depend on it, so
//! keys go in the order given.

use crate::exchange::RouteMetadata;
use serde_json::{Map, Value};

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bytes_field(number: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A `google.protobuf.Value`.
fn value(json: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match json {
        Value::Null => {
            varint(1 << 3, &mut out);
            varint(0, &mut out);
        }
        Value::Number(n) => {
            varint(2 << 3 | 1, &mut out);
            out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
        }
        Value::String(s) => bytes_field(3, s.as_bytes(), &mut out),
        Value::Bool(b) => {
            varint(4 << 3, &mut out);
            varint(u64::from(*b), &mut out);
        }
        Value::Object(map) => bytes_field(5, &serialized_struct(map), &mut out),
        Value::Array(items) => {
            let mut list = Vec::new();
            for item in items {
                bytes_field(1, &value(item), &mut list);
            }
            bytes_field(6, &list, &mut out);
        }
    }
    out
}

/// A message whose field 1 is a map with string keys: one `{1: key, 2: value}` entry each.
fn string_map<'a>(entries: impl Iterator<Item = (&'a String, Vec<u8>)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in entries {
        let mut entry = Vec::new();
        bytes_field(1, key.as_bytes(), &mut entry);
        bytes_field(2, &value, &mut entry);
        bytes_field(1, &entry, &mut out);
    }
    out
}

/// The `Metadata` message: `filter_metadata` (field 1), namespace to `Struct`.
pub fn serialized_metadata(metadata: &RouteMetadata) -> Vec<u8> {
    string_map(
        metadata
            .iter()
            .map(|(ns, fields)| (ns, serialized_struct(fields))),
    )
}

/// A `google.protobuf.Struct` with `map`'s fields.
fn serialized_struct(map: &Map<String, Value>) -> Vec<u8> {
    string_map(map.iter().map(|(key, json)| (key, value(json))))
}
