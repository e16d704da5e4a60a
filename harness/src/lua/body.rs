//! `handle:body()` in `envoy_on_response`: the whole response body, as Envoy's Lua gives it once
//! it is buffered, or `nil` when the response has none (its headers ended the stream). The
//! buffer's `length()`, `getBytes(index, length)` and `setBytes(string)`, which replaces the
//! body and writes `content-length` (Envoy's `BufferWrapper::luaSetBytes`). Requests reach the
//! harness without bodies, so the request phase's `body()` is `nil` too.

use super::{text, Phase, Shared};
use crate::exchange::replace_header;
use mlua::{MultiValue, UserData, UserDataMethods};
use std::rc::Rc;

/// The stream's response body, buffered.
pub(super) struct Body {
    stream: Shared,
}

impl Body {
    /// The body of `stream`'s current phase, when there is one.
    pub(super) fn of(stream: &Shared) -> Option<Self> {
        let s = stream.borrow();
        (s.phase == Phase::Response && s.response_body.is_some()).then(|| Self {
            stream: Rc::clone(stream),
        })
    }

    fn length(&self) -> usize {
        self.stream
            .borrow()
            .response_body
            .as_ref()
            .map_or(0, Vec::len)
    }
}

impl UserData for Body {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("length", |_, this, ()| Ok(this.length()));
        methods.add_method("getBytes", |lua, this, args: MultiValue| {
            // luaL_checkint: a number (a C int: truncated), or a numeric string.
            let index = super::args::number(lua, &args, 0, "getBytes")?.trunc() as i64;
            let length = super::args::number(lua, &args, 1, "getBytes")?.trunc() as i64;
            let size = this.length() as i64;
            if index < 0 || length < 0 || index + length > size {
                return Err(super::args::raise(
                    lua,
                    "index/length must be >= 0 and (index + length) must be <= buffer size",
                ));
            }
            let s = this.stream.borrow();
            let body = s.response_body.as_deref().unwrap_or_default();
            let bytes = body
                .get(index as usize..(index + length) as usize)
                .unwrap_or_default();
            Ok(mlua::BString::from(bytes.to_vec()))
        });
        methods.add_method("setBytes", |lua, this, args: MultiValue| {
            // Envoy drains the body before it reads the argument: a bad one leaves it empty
            // (and content-length as it was).
            if let Some(body) = this.stream.borrow_mut().response_body.as_mut() {
                body.clear();
            }
            let bytes = super::args::string(lua, &args, 0, "setBytes")?;
            let bytes = text(&bytes);
            let length = bytes.len();
            let mut s = this.stream.borrow_mut();
            replace_header(
                &mut s.response_headers,
                "content-length",
                length.to_string().as_bytes(),
            );
            s.response_body = Some(bytes);
            Ok(length)
        });
    }
}
