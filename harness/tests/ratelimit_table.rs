//! Issue 12.2 in-process, where memory can be counted exactly: a flood of distinct client keys
//! ten times the table leaves the table's size where filling it left it, in both scopes, and
//! late clients each get a bucket of their own. (tests/tests/ratelimit_flood.rs floods a real
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
        assert_eq!(flood(&mut worker, 0..TABLE), TABLE, "{scope}: filling");
        let (keys1, memory1) = (
            process.borrow().shared_data_keys().len(),
            worker.memory_bytes(),
        );
        let flooded = 10 * TABLE;
        assert_eq!(
            flood(&mut worker, TABLE..TABLE + flooded),
            flooded,
            "{scope}: a new key always gets a bucket of its own"
        );
        let (keys2, memory2) = (
            process.borrow().shared_data_keys().len(),
            worker.memory_bytes(),
        );
        eprintln!(
            "{scope}: shared data keys {keys1} -> {keys2}, linear memory {memory1} -> {memory2} B"
        );
        match scope {
            // The table's sets are shared data entries; the flood adds none.
            "process" => {
                assert!(keys1 > 0 && keys1 <= TABLE, "{scope}: {keys1} entries");
                assert_eq!(keys2, keys1, "{scope}: the flood added entries");
            }
            // The table lives in the VM: nothing in shared data, and not a page more memory.
            _ => {
                assert_eq!((keys1, keys2), (0, 0), "{scope}: shared data used");
                assert_eq!(memory2, memory1, "{scope}: the flood grew the VM's memory");
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
