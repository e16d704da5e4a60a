//! A part of a filter's configuration whose type `shared` defines (operations, conditions, path
//! tests), kept as written and read by `shared`.
//!
//! serde compiles a type's reader into every crate that embeds the type in its own
//! configuration: four filters embed `shared`'s condition types, so a module holding all of them
//! (the bundle) held four copies of the condition reader. A filter's configuration holds a
//! `Section<T>` instead. The filter's crate compiles only a reader that keeps the section's JSON
//! text, and `shared` reads the text into `T` with one function per `T`, compiled once (the
//! `read` methods next to each type). The filter calls `read` where it validates, with the
//! field's path, so that errors name the field as they did.
//!
//! [`crate::json`]'s reader hands a section its text when asked for a newtype struct named
//! [`json::RAW_TEXT`], as serde_json does for its `RawValue`. Other readers refuse a section.

use crate::config::ConfigError;
use crate::json;
use alloc::string::{String, ToString};
use core::fmt;
use core::marker::PhantomData;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, Visitor};

/// `T` as written: its JSON text, read by [`read`].
pub struct Section<T> {
    text: String,
    of: PhantomData<fn() -> T>,
}

impl<T> Section<T> {
    /// A section written as `text` (JSON): a filter's default configuration.
    pub fn from_text(text: &str) -> Self {
        Self {
            text: text.into(),
            of: PhantomData,
        }
    }

    /// The section as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Reads `section` as `T`, its errors placed at `field` (`rules[0].when`). Generic: call it only
/// from the non-generic `read` of each `T`, in this crate, so that it is compiled once.
pub(crate) fn read<T: DeserializeOwned>(
    section: &Section<T>,
    field: &str,
) -> Result<T, ConfigError> {
    json::from_slice::<T>(section.text.as_bytes())
        .map_err(|e| ConfigError::new(e.at(field).to_string()))
}

/// An empty list.
impl<T> Default for Section<alloc::vec::Vec<T>> {
    fn default() -> Self {
        Self::from_text("[]")
    }
}

impl<T> Clone for Section<T> {
    fn clone(&self) -> Self {
        Self::from_text(&self.text)
    }
}

impl<T> PartialEq for Section<T> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<T> Eq for Section<T> {}

impl<T> fmt::Debug for Section<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de, T> Deserialize<'de> for Section<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_newtype_struct(json::RAW_TEXT, TextVisitor)
            .map(|text| Self {
                text,
                of: PhantomData,
            })
    }
}

/// Takes the text [`crate::json`]'s reader hands over.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a configuration section (read by moonshift_shared::json)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.into())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        Ok(text)
    }
}

/// The section as the JSON it holds (the `schema` feature: a schema's default values).
#[cfg(feature = "schema")]
impl<T> serde::Serialize for Section<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value: serde_json::Value =
            serde_json::from_str(&self.text).map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Holder {
        list: Section<Vec<u32>>,
        other: u32,
    }

    /// The section keeps its text whatever it holds; reading it gives the value or the error at
    /// the field named.
    #[test]
    fn a_section_keeps_its_text_and_reads_at_its_field() {
        // (configuration, the section's text, what it reads as)
        type Case = (&'static str, &'static str, Result<Vec<u32>, &'static str>);
        let cases: [Case; 5] = [
            (r#"{"list": [1, 2]}"#, "[1,2]", Ok(Vec::from([1, 2]))),
            (r#"{"other": 7}"#, "[]", Ok(Vec::new())),
            (
                r#"{"list": {"a": 1}}"#,
                r#"{"a":1}"#,
                Err("at.list: invalid type: an object, expected a sequence"),
            ),
            (
                r#"{"list": [1, "x"]}"#,
                r#"[1,"x"]"#,
                Err("at.list[1]: invalid type: string \"x\", expected u32"),
            ),
            (
                r#"{"list": [-1]}"#,
                "[-1]",
                Err("at.list[0]: invalid value: integer `-1`, expected u32"),
            ),
        ];
        for (config, text, want) in cases {
            let holder: Holder = match crate::json::from_slice(config.as_bytes()) {
                Ok(holder) => holder,
                Err(e) => panic!("{config}: {e}"),
            };
            assert_eq!(holder.list.text(), text, "{config}");
            let got = read(&holder.list, "at.list").map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{config}");
        }
    }

    /// Another reader (serde_json) is refused, not misread.
    #[test]
    fn another_reader_refuses_a_section() {
        let Err(e) = serde_json::from_str::<Holder>(r#"{"list": [1]}"#) else {
            panic!("serde_json read a section");
        };
        assert!(e.to_string().contains("a configuration section"), "{e}");
    }
}
