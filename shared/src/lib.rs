//! What two or more Moonshift filters share, and nothing else.
//!
//! Every filter parses a JSON configuration, validates header names and values, reads request
//! headers the way Envoy's Lua `headers():get()` does and reads the clock. Those
//! pieces live here so that each filter crate holds only its own logic.
//!
//! Logic that only one filter uses (the token bucket) lives in that filter's crate, next to the
//! code that calls it.
//!
//! All of it is pure and unit-tested on the host, except [`stream`] and [`operations::apply`],
//! which read and change a live stream through `moonshift-kit`.

// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod clock;
pub mod condition;
pub mod config;
pub mod headers;
pub mod json;
pub mod lua_number;
pub mod lua_pattern;
pub mod metadata;
pub mod operations;
pub mod section;
pub mod stream;
pub mod strftime;
pub mod template;

pub use config::ConfigError;
