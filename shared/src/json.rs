//! A small JSON reader that feeds serde, for filter configurations.
//!
//! Why not `serde_json` in the filters: in a proxy-wasm module its typed deserializer, together
//! with the error paths and float formatting it drags in, is about 60 KB per filter, more than
//! the rest of a filter. Configurations are small and hold no floats, so this module parses the
//! JSON into a [`Json`] tree (integers only) and hands it to serde's derived `Deserialize`
//! through [`Deserializer`], which keeps `deny_unknown_fields`, `default`, enums and options
//! working exactly as with `serde_json`. Errors carry the path of the offending field
//! (`token_bucket.max_tokens: invalid type: ...`). `serde_json` itself is used by the tests to
//! check this reader.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Unexpected};

/// The newtype name under which this reader hands over a value's JSON text instead of reading
/// it, as serde_json does for its `RawValue` (what `crate::section::Section` asks for). The
/// reader owns the name, so that it depends on nothing that uses it.
pub const RAW_TEXT: &str = "$moonshift::section";

/// How deep arrays and objects may nest.
pub const MAX_DEPTH: usize = 32;

/// A parsed JSON value. Numbers are integers; objects keep their entries in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// A parse or deserialization error: the path of the field at fault, and what is wrong.
/// Boxed, so that a `Result` carrying it is small: every deserializing function moves one, and
/// in a module each struct's derived reader has its own copy of that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Fault>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    /// Path segments, outermost first: `token_bucket`, `max_tokens` or `[0]`.
    path: Vec<String>,
    message: String,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Self(Box::new(Fault {
            path: Vec::new(),
            message: message.into(),
        }))
    }

    fn within(mut self, segment: String) -> Self {
        self.0.path.insert(0, segment);
        self
    }

    /// The error placed at `field`: a key of the object being read, or a path such as
    /// `rules[0].when` for a reader that starts below the top of the configuration
    /// ([`crate::section`]). Out of line, since every field's type would carry a copy.
    #[inline(never)]
    pub fn at(self, field: &str) -> Self {
        self.within(field.to_string())
    }

    /// [`Error::within`] element `index` of a list, out of line as [`Error::at`].
    #[inline(never)]
    fn within_index(self, index: usize) -> Self {
        self.within(format!("[{index}]"))
    }

    /// The path as written in error messages: `operations[0].name`; empty at the top level.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.0.path {
            if !out.is_empty() && !segment.starts_with('[') {
                out.push('.');
            }
            out.push_str(segment);
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            path if path.is_empty() => write!(f, "configuration: {}", self.0.message),
            path => write!(f, "{path}: {}", self.0.message),
        }
    }
}

impl core::error::Error for Error {}

/// `"text"` with JSON escapes, for error messages.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Json {
    /// Compact JSON text of this value (a pipeline hands each filter its own configuration as
    /// text, as Envoy would).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::UInt(n) => out.push_str(&n.to_string()),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Str(s) => out.push_str(&quote(s)),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quote(key));
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn one_of(names: &'static [&'static str]) -> String {
    match names {
        [] => "there are none".into(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", list.join(", "))
        }
    }
}

fn describe(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(b) => format!("boolean `{b}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(_) => "a floating point number".into(),
        Unexpected::Char(c) => format!("character `{c}`"),
        Unexpected::Str(s) => format!("string {}", quote(s)),
        Unexpected::Unit => "null".into(),
        Unexpected::Seq => "an array".into(),
        Unexpected::Map => "an object".into(),
        Unexpected::Option => "an option".into(),
        _ => "a value of another kind".into(),
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(message.to_string())
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(format!(
            "invalid type: {}, expected {expected}",
            describe(&unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(format!(
            "invalid value: {}, expected {expected}",
            describe(&unexpected)
        ))
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        Self::new(format!("invalid length {len}, expected {expected}"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format!(
            "unknown variant `{variant}`, expected {}",
            one_of(expected)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format!(
            "unknown field `{field}`, expected {}",
            one_of(expected)
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(format!("missing field `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(format!("duplicate field `{field}`"))
    }
}

/// Parses `bytes` into a [`Json`] tree.
pub fn parse(bytes: &[u8]) -> Result<Json, Error> {
    let mut parser = Parser { bytes, pos: 0 };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < bytes.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

/// Parses `bytes` and deserializes a `T` from them.
pub fn from_slice<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let tree = parse(bytes)?;
    T::deserialize(Deserializer { value: &tree })
}

mod parser;
use parser::Parser;
mod deserializer;
pub use deserializer::Deserializer;

#[cfg(test)]
mod tests;
