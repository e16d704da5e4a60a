#![doc = include_str!("../README.md")]

pub mod artifacts;
pub mod clock;
pub mod diff;
pub mod exchange;
pub mod lua;
pub mod lua_config;
pub mod scenario;
pub mod wasm;
