//! Issue 12.6: what a listener update (LDS) does to local-ratelimit's buckets, observed in a
//! real Envoy for the Wasm filter in both scopes, the Lua reference and native
//! `local_ratelimit`, side by side.
//!
//! Each case empties a 1-token-an-hour bucket (200, then 429), pushes a new listener by LDS
//! (a file moved onto the watched path), waits until Envoy has applied it, and sends one more
//! request: 200 means the update started a new, full bucket; 429 means the bucket's state
//! survived. Two kinds of update: the rate limiter's own configuration changed (a reply header
//! added), or only something else in the listener (the HTTP connection manager's stat prefix).
//! filters/local-ratelimit/README.md states the results.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::Request;
use moonshift_tests::runner::{filter_entry, Flavour};
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Update {
    /// The filter's own configuration changes.
    FilterConfig,
    /// Only the listener around it changes.
    ListenerOnly,
}

fn config(scope: Option<&str>, update: bool) -> Value {
    let mut config = json!({
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
    });
    if let Some(scope) = scope {
        config["scope"] = json!(scope);
    }
    if update {
        config["response_headers_to_add"] = json!([{"header": {"key": "x-updated", "value": "1"}}]);
    }
    config
}

/// Moves a new LDS file onto `path`, as Envoy's file watch expects.
fn write_lds(path: &Path, resources: &Value) {
    let staged = path.with_extension("staged.json");
    std::fs::write(&staged, serde_json::to_vec_pretty(resources).expect("json")).expect("write");
    std::fs::rename(&staged, path).expect("move onto the LDS path");
}

/// Waits until Envoy has applied `n` LDS updates and no listener is warming or draining.
fn wait_applied(envoy: &Envoy, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = envoy.stats();
        let stat = |name: &str| stats.get(name).copied().unwrap_or(0);
        if stat("listener_manager.lds.update_success") >= n
            && stat("listener_manager.total_listeners_warming") == 0
            && stat("listener_manager.total_listeners_active") == 1
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "LDS update {n} not applied; rejected: {}; log:\n{}",
            stat("listener_manager.lds.update_rejected"),
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status after the update, for `filter` as built by `entry(updated)`.
fn after_update(label: &str, entry: impl Fn(bool) -> Value, update: Update) -> u16 {
    let upstream = Upstream::start();
    let dir = envoy::scratch_dir(label);
    let lds = dir.join("lds.json");
    let port = envoy::free_port();
    let listener = |updated: bool| {
        let filter_updated = updated && update == Update::FilterConfig;
        let mut resources = envoy::lds_resources(port, &[entry(filter_updated)]);
        if updated && update == Update::ListenerOnly {
            resources["resources"][0]["filter_chains"][0]["filters"][0]["typed_config"]
                ["stat_prefix"] = json!("moonshift_updated");
        }
        resources
    };
    write_lds(&lds, &listener(false));
    let launch = Launch::default();
    let envoy = Envoy::try_start_with(label, &launch, |_, admin| {
        envoy::bootstrap_with_lds(admin, upstream.port, &lds)
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    let mut envoy = envoy;
    envoy.port = port;
    wait_applied(&envoy, 1);
    let send = || envoy.send(&Request::get("/")).status;
    assert_eq!((send(), send()), (200, 429), "{label}: the bucket empties");
    write_lds(&lds, &listener(true));
    wait_applied(&envoy, 2);
    send()
}

fn wasm(scope: &'static str) -> impl Fn(bool) -> Value {
    move |updated| {
        let config = config(Some(scope), updated).to_string();
        envoy::wasm_filter("local-ratelimit", Some(&config))
    }
}

fn other(flavour: Flavour, dir: &'static str) -> impl Fn(bool) -> Value {
    move |updated| {
        let dir = envoy::scratch_dir(dir);
        filter_entry(
            "local-ratelimit",
            Some(&config(None, updated)),
            flavour,
            &dir,
        )
        .expect("filter entry")
    }
}

/// Builds the filter entry, before (`false`) or after (`true`) the update.
type Entry = Box<dyn Fn(bool) -> Value>;

#[test]
fn what_a_listener_update_does_to_the_buckets() {
    let mut observed = Vec::new();
    for update in [Update::FilterConfig, Update::ListenerOnly] {
        // (who, status after a filter-config update, after a listener-only update)
        let cases: [(&str, u16, u16, Entry); 4] = [
            // Native and Lua build a new filter, with new buckets, on every listener update.
            (
                "native",
                200,
                200,
                Box::new(other(Flavour::Native, "lds-native")),
            ),
            ("lua", 200, 200, Box::new(other(Flavour::Lua, "lds-lua"))),
            // Shared data outlives plugins and VMs; the keys are named by plugin name and root
            // id, which neither update changes.
            ("wasm process scope", 429, 429, Box::new(wasm("process"))),
            // A changed plugin configuration is configured anew (new buckets); an unchanged one
            // keeps running as it was (Envoy reuses the worker's plugin with the same key).
            ("wasm worker scope", 200, 429, Box::new(wasm("worker"))),
        ];
        for (name, on_filter_config, on_listener_only, entry) in cases {
            let expected = match update {
                Update::FilterConfig => on_filter_config,
                Update::ListenerOnly => on_listener_only,
            };
            let status = after_update(&format!("lds-{}", name.replace(' ', "-")), entry, update);
            observed.push((update, name, status, expected));
        }
    }
    eprintln!("after an LDS update: {observed:#?}");
    let unexpected: Vec<_> = observed
        .iter()
        .filter(|(_, _, got, want)| got != want)
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
