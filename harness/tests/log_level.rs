//! path-logger below the host's level for Wasm logs reads nothing and sends nothing: one host
//! call (the level), where a line at the level costs the path's read and the log call too.
//! Counted on the metered module (what `moonshift-bench --costs` counts).

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::artifacts::wasm_module;
use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::Exchange;
use moonshift_harness::wasm::{Plugin, Process, WasmModule, WasmWorker};

/// (host calls, log lines) of the second request, the host at `level` (0 trace .. 5 critical).
fn at(level: u32) -> (u64, usize) {
    let module = WasmModule::load_metered(&wasm_module("path-logger")).unwrap();
    let plugin = Plugin {
        log_level: level,
        ..Plugin::named("path-logger", None)
    };
    let clock = Clock::at_millis(1_795_737_600_000);
    let mut worker = WasmWorker::start(&module, &Process::new(), &clock, &plugin)
        .unwrap_or_else(|e| panic!("{}", e.reason));
    let request = Exchange::get("a.test", "/counted");
    let _ = worker.exchange_cost(&request);
    let (outcome, cost) = worker.exchange_cost(&request).unwrap();
    (cost.host_calls, outcome.logs.len())
}

#[test]
fn a_line_below_the_level_costs_one_host_call() {
    // The default line is at info.
    let (heard_calls, heard_lines) = at(2);
    let (quiet_calls, quiet_lines) = at(3);
    assert_eq!(heard_lines, 1);
    assert_eq!(quiet_lines, 0);
    assert_eq!(quiet_calls, 1, "below the level: only the level is asked");
    assert!(heard_calls >= 3, "{heard_calls}: the level, :path, the log");
}
