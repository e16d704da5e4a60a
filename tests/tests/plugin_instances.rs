//! Issue 21.2: a plugin's configuration applies to its own plugin instance only, as Envoy and
//! native filters behave, observed in a real Envoy with file-based LDS updates.
//!
//! Envoy configures a new listener's plugins on every worker before it has accepted the whole
//! update; a rejected update destroys them again. The kit once let the newest configuration of
//! a plugin name serve every stream, so a rejected update went live (`update_rejected: 1`, the
//! config dump still `OLD`, yet `OLD` refused, `NEW` admitted, `/public/x` open). Now each stream
//! is served by the root context Envoy created it under (kit/src/dispatch.rs).

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn auth(keys: &[&str], exempt_public: bool) -> Value {
    let mut config = json!({"allowed_keys": keys});
    if exempt_public {
        config["exempt_paths"] = json!([{"prefix": "/public/"}]);
    }
    envoy::wasm_filter("api-key-auth", Some(&config.to_string()))
}

/// A local-ratelimit whose configuration its module refuses: the listener update that carries
/// it is rejected.
fn refused_ratelimit() -> Value {
    envoy::wasm_filter(
        "local-ratelimit",
        Some(r#"{"token_bucket":{"max_tokens":0,"tokens_per_fill":1,"fill_interval":"1s"}}"#),
    )
}

fn write_lds(path: &Path, resources: &Value) {
    let staged = path.with_extension("staged.json");
    std::fs::write(&staged, serde_json::to_vec_pretty(resources).expect("json")).expect("write");
    std::fs::rename(&staged, path).expect("move onto the LDS path");
}

/// Waits until Envoy counted `success` accepted and `rejected` rejected LDS updates, with no
/// listener warming.
fn wait_for(envoy: &Envoy, success: u64, rejected: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = envoy.stats();
        let stat = |name: &str| stats.get(name).copied().unwrap_or(0);
        if stat("listener_manager.lds.update_success") >= success
            && stat("listener_manager.lds.update_rejected") >= rejected
            && stat("listener_manager.total_listeners_warming") == 0
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "LDS: {} accepted, {} rejected, want {success} and {rejected}; log:\n{}",
            stat("listener_manager.lds.update_success"),
            stat("listener_manager.lds.update_rejected"),
            envoy.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(port: u16, path: &str, key: Option<&str>) -> u16 {
    let mut request = Request::get(path);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send(port).expect("a response").status
}

/// Envoy serving one listener on `port` from the LDS file in a fresh folder.
fn start(label: &str, upstream: &Upstream, first: &Value) -> (Envoy, std::path::PathBuf) {
    let dir = envoy::scratch_dir(label);
    let lds = dir.join("lds.json");
    write_lds(&lds, first);
    let launch = Launch {
        concurrency: 2,
        ..Launch::default()
    };
    let envoy = Envoy::try_start_with(label, &launch, |_, admin| {
        envoy::bootstrap_with_lds(admin, upstream.port, &lds)
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    wait_for(&envoy, 1, 0);
    (envoy, lds)
}

#[test]
fn a_rejected_update_never_goes_live_and_an_accepted_one_does() {
    let upstream = Upstream::start();
    let port = envoy::free_port();
    let (envoy, lds) = start(
        "instances-lds",
        &upstream,
        &envoy::lds_resources(port, &[auth(&["OLD"], false)]),
    );
    let before = [
        status(port, "/", Some("OLD")),
        status(port, "/", Some("NEW")),
        status(port, "/public/x", None),
    ];
    assert_eq!(before, [200, 401, 401]);

    // The update Envoy rejects: NEW keys, /public/ exempt, and a refused filter beside them.
    write_lds(
        &lds,
        &envoy::lds_resources(port, &[auth(&["NEW"], true), refused_ratelimit()]),
    );
    wait_for(&envoy, 1, 1);
    let after_rejected: Vec<u16> = (0..4)
        .flat_map(|_| {
            [
                status(port, "/", Some("OLD")),
                status(port, "/", Some("NEW")),
                status(port, "/public/x", None),
            ]
        })
        .collect();
    assert_eq!(
        after_rejected,
        [200, 401, 401].repeat(4),
        "the rejected update's keys and exemption must not serve; log:\n{}",
        envoy.log()
    );

    // The same update without the refused filter is accepted: it serves new connections.
    write_lds(&lds, &envoy::lds_resources(port, &[auth(&["NEW"], true)]));
    wait_for(&envoy, 2, 1);
    let after_accepted: Vec<u16> = (0..4)
        .flat_map(|_| {
            [
                status(port, "/", Some("OLD")),
                status(port, "/", Some("NEW")),
                status(port, "/public/x", None),
            ]
        })
        .collect();
    assert_eq!(after_accepted, [401, 200, 200].repeat(4), "{}", envoy.log());
}

/// Two listeners at once, each with a plugin of the same name and root_id but its own keys: each
/// listener's streams are served by its own configuration.
#[test]
fn two_listeners_with_the_same_plugin_name_keep_their_own_configurations() {
    let upstream = Upstream::start();
    let (port_a, port_b) = (envoy::free_port(), envoy::free_port());
    let a = envoy::lds_resources(port_a, &[auth(&["KEY-A"], false)]);
    let mut b = envoy::lds_resources(port_b, &[auth(&["KEY-B"], false)]);
    b["resources"][0]["name"] = json!("second");
    let mut both = a.clone();
    if let (Some(list), Some(second)) = (
        both["resources"].as_array_mut(),
        b["resources"].get(0).cloned(),
    ) {
        list.push(second);
    }
    let (envoy, _lds) = start("instances-two-listeners", &upstream, &both);
    let observed: Vec<u16> = (0..4)
        .flat_map(|_| {
            [
                status(port_a, "/", Some("KEY-A")),
                status(port_a, "/", Some("KEY-B")),
                status(port_b, "/", Some("KEY-B")),
                status(port_b, "/", Some("KEY-A")),
            ]
        })
        .collect();
    assert_eq!(observed, [200, 401, 200, 401].repeat(4), "{}", envoy.log());
}
