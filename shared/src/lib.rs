//! What two or more Moonshift filters share, and nothing else.
//!
//! Every filter parses a JSON configuration, validates header names and values, reads request
//! headers the way Envoy's Lua `headers():get()` does, reads the clock and logs raw bytes. Those
//! pieces live here so that each filter crate holds only its own logic.
//!
//! Logic that only one filter uses (the strftime subset, the token bucket) lives in that filter's
//! crate, next to the code that calls it.
//!
//! The modules split along one line: [`config`], [`headers`] and [`clock`] are pure and unit-tested
//! on the host; [`host`] is the thin proxy-wasm glue the filters' root contexts share.

pub mod clock;
pub mod config;
pub mod headers;
pub mod host;
pub mod json;

pub use config::ConfigError;
