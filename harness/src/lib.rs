//! Moonshift's equivalence harness: a Lua filter under LuaJIT and a proxy-wasm module under
//! wasmtime, run side by side on the same requests and the same clock, with every observable
//! compared.

pub mod clock;
pub mod diff;
pub mod exchange;
pub mod lua;
pub mod lua_config;
pub mod scenario;
pub mod wasm;
