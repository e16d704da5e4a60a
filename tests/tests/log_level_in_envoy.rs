//! path-logger reads nothing and logs nothing below Envoy's level for Wasm logs, and asks the
//! level on each request, so a level changed at runtime (admin `/logging`) holds at once, as it
//! does for the Lua. In Envoy 1.40, the Lua reference and the module side by side, the default
//! configuration (an `info` line), Envoy at `warning` (an Istio sidecar's default).

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

fn lines(envoy: &Envoy, path: &str) -> (usize, usize) {
    let log = envoy.log();
    let needle = format!("Request path: {path}");
    let count = |tag: &str| {
        log.lines()
            .filter(|l| l.contains(tag) && l.ends_with(&needle))
            .count()
    };
    (count("script log: "), count("wasm log "))
}

/// Sets Envoy's Wasm and Lua loggers to `level` at runtime (admin `/logging`).
fn set_level(envoy: &Envoy, level: &str) {
    for logger in ["wasm", "lua"] {
        let query = format!("{logger}={level}");
        let response = Request::get(&format!("/logging?{query}"))
            .method("POST")
            .send(envoy.admin_port)
            .unwrap();
        assert_eq!(response.status, 200, "/logging?{query}");
    }
}

#[test]
fn below_envoys_level_nothing_is_logged_and_a_runtime_change_holds_at_once() {
    let upstream = Upstream::start();
    let dir = envoy::scratch_dir("log-level");
    let filters = [
        filter_entry("path-logger", None, Flavour::Lua, &dir).unwrap(),
        filter_entry("path-logger", None, Flavour::Wasm, &dir).unwrap(),
    ];
    let launch = Launch {
        log_level: "warning",
        ..Launch::default()
    };
    let envoy = Envoy::try_start_with("log-level", &launch, |port, admin| {
        envoy::bootstrap(port, admin, upstream.port, &filters)
    })
    .unwrap_or_else(|f| panic!("{f}"));
    let get = |path: &str| {
        let response = Request::get(path).send(envoy.port).unwrap();
        assert_eq!(response.status, 200);
    };

    get("/quiet");
    set_level(&envoy, "info");
    get("/heard");
    envoy
        .wait_for_log("wasm log")
        .expect("the Wasm line at info");
    envoy
        .wait_for_log("script log: Request path: /heard")
        .expect("the Lua line at info");
    set_level(&envoy, "warning");
    get("/quiet-again");
    // A request after them all, at info again, shows the log has caught up.
    set_level(&envoy, "info");
    get("/last");
    envoy
        .wait_for_log("wasm log")
        .and_then(|_| envoy.wait_for_log("Request path: /last"))
        .expect("the last line");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(lines(&envoy, "/quiet"), (0, 0), "{}", envoy.log());
    assert_eq!(lines(&envoy, "/heard"), (1, 1), "{}", envoy.log());
    assert_eq!(lines(&envoy, "/quiet-again"), (0, 0), "{}", envoy.log());
    assert_eq!(lines(&envoy, "/last"), (1, 1), "{}", envoy.log());
}
