//! Issue 12.2 in-process, where memory can be counted exactly: floods of distinct client keys,
//! each ten times the table, keep it within its bound in both scopes (process scope: at most one
//! shared-data entry per set; worker scope: no memory beyond what filling took), and late
//! clients each get a bucket of their own. (tests/tests/ratelimit_flood.rs floods a real
//! Envoy; there memory is only seen through the process's heap and RSS, which move by
//! themselves.)

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use moonshift_harness::artifacts;
use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::Exchange;
use moonshift_harness::wasm::{Plugin, Process, WasmModule, WasmWorker};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;

const TABLE: usize = 1_000;

fn request(client: &str) -> Exchange {
    let mut exchange = Exchange::get("moonshift.test", "/");
    exchange
        .request_headers
        .push(("x-client".into(), client.as_bytes().to_vec()));
    exchange
}

/// Sends one request for each key; returns how many were admitted.
fn flood(worker: &mut WasmWorker, keys: std::ops::Range<usize>) -> usize {
    keys.filter(|key| {
        worker
            .exchange(&request(&format!("flood-{key}")))
            .response
            .status
            == 200
    })
    .count()
}

fn start(scope: &str) -> (WasmWorker, Rc<RefCell<Process>>) {
    let module = WasmModule::load(&artifacts::wasm_module("local-ratelimit")).expect("module");
    let config = json!({
        "scope": scope,
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
        "client_key": {"request_header": "x-client"},
        "max_client_keys": TABLE,
    });
    let process = Process::new();
    let clock = Clock::at_millis(1_700_000_000_000);
    let plugin = Plugin::named("local-ratelimit", Some(&config));
    let worker = WasmWorker::start(&module, &process, &clock, &plugin).expect("starts");
    (worker, process)
}

#[test]
fn a_flood_of_keys_leaves_the_table_as_filling_left_it() {
    for scope in ["process", "worker"] {
        let (mut worker, process) = start(scope);
        let seen = |worker: &mut WasmWorker| {
            (
                process.borrow().shared_data_keys().len(),
                worker.memory_bytes(),
            )
        };
        // Filling, then two floods ten times the table each, which reach every set of it (in
        // process scope each set is one shared-data entry); a third flood then changes nothing.
        assert_eq!(flood(&mut worker, 0..TABLE), TABLE, "{scope}: filling");
        let filled = seen(&mut worker);
        let flooded = 10 * TABLE;
        for round in 1..=2 {
            let keys = round * flooded..(round + 1) * flooded;
            assert_eq!(
                flood(&mut worker, keys),
                flooded,
                "{scope}: a new key always gets a bucket of its own"
            );
        }
        let full = {
            let keys = 3 * flooded..4 * flooded;
            let before = seen(&mut worker);
            assert_eq!(flood(&mut worker, keys), flooded, "{scope}: third flood");
            assert_eq!(
                seen(&mut worker),
                before,
                "{scope}: a flood after the table is full adds entries or memory"
            );
            before
        };
        eprintln!(
            "{scope}: shared data entries {} after filling, {} after 30,000 more keys; linear memory {} -> {} B",
            filled.0, full.0, filled.1, full.1
        );
        match scope {
            "process" => assert!(
                full.0 > 0 && full.0 <= TABLE,
                "{scope}: {} entries for a table of {TABLE}",
                full.0
            ),
            // The table lives in the VM, allocated when the plugin is configured: nothing in
            // shared data, and not a page more memory after filling.
            _ => {
                assert_eq!(full.0, 0, "{scope}: shared data used");
                assert_eq!(full.1, filled.1, "{scope}: the flood grew the VM's memory");
            }
        }
        for client in ["alice", "bob", "carol"] {
            let mut status = || worker.exchange(&request(client)).response.status;
            assert_eq!(
                (status(), status()),
                (200, 429),
                "{scope}: {client} is limited by its own bucket, not the flood's"
            );
        }
    }
}
