//! The serde side of [`super`]: a `Deserializer` over a parsed [`Json`] tree, so derived
//! `Deserialize` (with `deny_unknown_fields`, defaults, enums, options) reads it as it reads
//! `serde_json`, and every error carries the path of the field it came from.

use super::{Error, Json};
use alloc::string::String;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

/// A serde `Deserializer` over a [`Json`] tree.
#[derive(Debug, Clone, Copy)]
pub struct Deserializer<'a> {
    pub(super) value: &'a Json,
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(*b),
            Json::UInt(n) => visitor.visit_u64(*n),
            Json::Int(n) => visitor.visit_i64(*n),
            Json::Str(s) => visitor.visit_borrowed_str(s),
            Json::Array(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                index: 0,
            }),
            Json::Object(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Json::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Json::Object(entries) => match entries.as_slice() {
                [(variant, value)] => visitor
                    .visit_enum(Variant { variant, value })
                    .map_err(|e| e.within(variant.clone())),
                _ => Err(Error::new(
                    "expected an object with exactly one key for an enum",
                )),
            },
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    // The typed methods below visit only the one shape they accept, so each visitor is not
    // instantiated for every JSON shape (that is most of this module's code size).

    /// A struct is an object; serde would also take an array, which no configuration means.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Json::Object(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::Array(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                index: 0,
            }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::Str(s) => visitor.visit_borrowed_str(s),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::UInt(n) => visitor.visit_u64(*n),
            Json::Int(n) => visitor.visit_i64(*n),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Json::Bool(b) => visitor.visit_bool(*b),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    /// A newtype named [`super::RAW_TEXT`] (a `crate::section::Section`) gets the value's text;
    /// any other newtype its content.
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == super::RAW_TEXT {
            return visitor.visit_string(self.value.to_text());
        }
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple
        tuple_struct map identifier ignored_any
    }
}

fn unexpected(value: &Json) -> Unexpected<'_> {
    match value {
        Json::Null => Unexpected::Unit,
        Json::Bool(b) => Unexpected::Bool(*b),
        Json::UInt(n) => Unexpected::Unsigned(*n),
        Json::Int(n) => Unexpected::Signed(*n),
        Json::Str(s) => Unexpected::Str(s),
        Json::Array(_) => Unexpected::Seq,
        Json::Object(_) => Unexpected::Map,
    }
}

struct Seq<'a> {
    items: core::slice::Iter<'a, Json>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(Deserializer { value })
            .map(Some)
            .map_err(|e| e.within_index(index))
    }
}

struct Map<'a> {
    entries: core::slice::Iter<'a, (String, Json)>,
    value: Option<(&'a str, &'a Json)>,
}

impl<'de> de::MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let key_de: de::value::BorrowedStrDeserializer<'de, Error> =
            de::value::BorrowedStrDeserializer::new(key);
        seed.deserialize(key_de).map(Some).map_err(|e| e.at(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, value)) = self.value.take() else {
            return Err(Error::new("value requested before its key"));
        };
        seed.deserialize(Deserializer { value })
            .map_err(|e| e.at(key))
    }
}

struct Variant<'a> {
    variant: &'a str,
    pub(super) value: &'a Json,
}

impl<'de> de::EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let key_de: de::value::BorrowedStrDeserializer<'de, Error> =
            de::value::BorrowedStrDeserializer::new(self.variant);
        Ok((seed.deserialize(key_de)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            Json::Null => Ok(()),
            other => Err(de::Error::invalid_type(unexpected(other), &"null")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(Deserializer { value: self.value })
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(Deserializer { value: self.value }, visitor)
    }

    /// An object, as for a struct: `{"remote_address": []}` is not `{"remote_address": {}}`.
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(
            Deserializer { value: self.value },
            "",
            fields,
            visitor,
        )
    }
}
