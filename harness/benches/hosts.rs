//! One exchange through each filter, in the Lua host (LuaJIT) and in the Wasm host (wasmtime):
//! where the time of a filter goes, in process. `cargo bench -p moonshift-harness`.
//! (Envoy's own cost per request is measured by `make bench`.)

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, Criterion};
use moonshift_harness::artifacts;
use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::Exchange;
use moonshift_harness::lua::LuaWorker;
use moonshift_harness::lua_config;
use moonshift_harness::wasm::{Plugin, Process, WasmModule, WasmWorker};
use serde_json::json;
use std::hint::black_box;

fn hosts(c: &mut Criterion) {
    let huge = json!({"token_bucket": {"max_tokens": 4_000_000_000u32, "tokens_per_fill": 4_000_000_000u32, "fill_interval": "1s"}});
    for filter in artifacts::FILTERS.iter().copied() {
        let config = (filter == "local-ratelimit").then(|| huge.clone());
        let clock = Clock::at_millis(1_795_737_600_000);
        let source =
            std::fs::read_to_string(artifacts::lua_reference(filter)).expect("Lua reference");
        let source = lua_config::render(&source, config.as_ref()).expect("config renders");
        let mut lua = LuaWorker::start(&source, &clock).expect("Lua loads");
        let module = WasmModule::load(&artifacts::wasm_module(filter)).expect("module");
        let plugin = Plugin {
            log_level: 2,
            ..Plugin::named(filter, config.as_ref())
        };
        let mut wasm =
            WasmWorker::start(&module, &Process::new(), &clock, &plugin).expect("Wasm starts");
        let request = Exchange::get("moonshift.bench", "/orders/42?expand=items");
        let mut group = c.benchmark_group(filter);
        group.bench_function("lua", |b| {
            b.iter(|| black_box(lua.exchange(black_box(&request))))
        });
        group.bench_function("wasm", |b| {
            b.iter(|| black_box(wasm.exchange(black_box(&request))))
        });
        group.finish();
    }
}

criterion_group!(benches, hosts);
criterion_main!(benches);
