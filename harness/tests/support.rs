//! The filter under test, loaded the way every harness test loads it.

// Test support: a missing reference or module fails the test that asked for it.
#![allow(clippy::expect_used)]

use moonshift_harness::artifacts as paths;
use moonshift_harness::scenario::Subject;
use moonshift_harness::wasm::WasmModule;

/// The Lua reference and the shipped module of `filter` (stale or missing modules panic).
pub fn subject(filter: &str) -> Subject {
    Subject {
        name: filter.to_string(),
        lua_source: std::fs::read_to_string(paths::lua_reference(filter)).expect("Lua reference"),
        module: WasmModule::load(&paths::wasm_module(filter)).expect("compiled module"),
    }
}
