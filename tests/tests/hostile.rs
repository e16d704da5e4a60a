//! Issue 21, hostile use in a real Envoy: configurations the filters accept, and requests built
//! to make them render hundreds of megabytes. Before the rendering bounds
//! (`shared::template::Budget`), each of these made the module's allocator fail, the module
//! trap, and every later request on that worker get 503. Now each hostile request is served,
//! its values cut at `MAX_RENDERED`, and the next ordinary request behaves as before: the
//! plugin is never broken by a request.

use moonshift_shared::template::{MAX_COMMANDS, MAX_RENDERED};
use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use serde_json::json;

/// A path of 59 KiB, under Envoy's default 60 KiB limit on a request's headers.
fn long_path() -> String {
    format!("/{}", "p".repeat(59 * 1024))
}

fn assert_alive(envoy: &Envoy, what: &str) {
    let log = envoy.log();
    assert!(
        !log.contains("panicked") && !log.contains("[critical]"),
        "{what}: the module trapped:\n{}",
        log.lines()
            .filter(|l| l.contains("panicked") || l.contains("critical"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// path-logger with as many `%REQ(:path)%` as a template may hold, on a 59 KiB path: one log
/// line, cut at MAX_RENDERED; the next request is logged whole.
#[test]
fn a_log_line_of_many_long_paths_is_cut_and_the_plugin_lives() {
    let upstream = Upstream::start();
    let message = "%REQ(:path)%".repeat(MAX_COMMANDS);
    let config = json!({"level": "info", "message": message}).to_string();
    let envoy = Envoy::start(
        "hostile-path-logger",
        &[envoy::wasm_filter("path-logger", Some(&config))],
        upstream.port,
        1,
    );
    for _ in 0..3 {
        let response = envoy.send(&Request::get(&long_path()));
        assert_eq!(response.status, 200, "{}", envoy.log());
    }
    let response = envoy.send(&Request::get("/after"));
    assert_eq!(response.status, 200);
    assert_alive(&envoy, "path-logger");
    let line = envoy
        .wait_for_log(&"/after".repeat(MAX_COMMANDS))
        .expect("the next request's line, whole");
    assert!(line.contains(&"/after".repeat(MAX_COMMANDS)));
    let longest = envoy.log().lines().map(str::len).max().unwrap_or_default();
    assert!(
        longest < MAX_RENDERED + 512,
        "a log line of {longest} bytes: the bound is {MAX_RENDERED} for the message"
    );
}

/// request-decorator with 14 operations each doubling the previous header: 59 KiB × 2^13 in
/// Lua; here every value stops at MAX_RENDERED and the phase's budget, and the request goes on.
#[test]
fn doubling_headers_stop_at_the_bound_and_the_plugin_lives() {
    let upstream = Upstream::start();
    let mut operations = vec![json!({"action": "set", "name": "x-a1", "value": "%REQ(:path)%"})];
    for i in 2..=14 {
        let previous = format!("%REQ(x-a{})%", i - 1);
        operations.push(json!({
            "action": "set",
            "name": format!("x-a{i}"),
            "value": format!("{previous}{previous}"),
        }));
    }
    let config = json!({"operations": operations}).to_string();
    let envoy = Envoy::start(
        "hostile-request-decorator",
        &[envoy::wasm_filter("request-decorator", Some(&config))],
        upstream.port,
        1,
    );
    let response = envoy.send(&Request::get(&long_path()));
    assert_eq!(response.status, 200, "{}", envoy.log());
    let received = upstream.received();
    let hostile = received
        .last()
        .expect("the hostile request reached upstream");
    let total: usize = (1..=14)
        .flat_map(|i| hostile.values(&format!("x-a{i}")))
        .map(|v| v.len())
        .sum();
    assert!(
        total <= moonshift_shared::template::PHASE_BUDGET,
        "{total} bytes of rendered headers in one request"
    );
    for value in (1..=14).flat_map(|i| hostile.values(&format!("x-a{i}"))) {
        assert!(value.len() <= MAX_RENDERED);
    }
    let response = envoy.send(&Request::get("/ok"));
    assert_eq!(response.status, 200);
    let last = upstream.received().pop().expect("the next request");
    assert_eq!(last.values("x-a2"), ["/ok/ok"]);
    assert_eq!(last.values("x-a3"), ["/ok/ok/ok/ok"]);
    assert_alive(&envoy, "request-decorator");
}

/// local-reply with 64 headers of 64 `%REQ(x-big)%` each, and a 50 KiB `x-big`: the reply's
/// headers stop at the phase's budget; the reply is still sent, and so is the next one.
#[test]
fn a_local_reply_of_many_large_headers_is_bounded_and_the_plugin_lives() {
    let upstream = Upstream::start();
    let value = "%REQ(x-big)%".repeat(MAX_COMMANDS);
    let headers: Vec<_> = (0..64)
        .map(|i| json!({"name": format!("x-r{i}"), "value": value}))
        .collect();
    let config = json!({"rules": [{"when": [{"path": {"prefix": "/deny"}}], "status": 403, "headers": headers, "body": "no"}]})
        .to_string();
    let envoy = Envoy::start(
        "hostile-local-reply",
        &[envoy::wasm_filter("local-reply", Some(&config))],
        upstream.port,
        1,
    );
    for _ in 0..3 {
        let response = envoy.send(&Request::get("/deny").header("x-big", "b".repeat(50 * 1024)));
        assert_ne!(response.status, 503, "{}", envoy.log());
    }
    let response = envoy.send(&Request::get("/deny").header("x-big", "small"));
    assert_eq!(response.status, 403);
    assert_eq!(response.value("x-r0"), Some("small".repeat(MAX_COMMANDS)));
    assert_eq!(response.body, b"no");
    assert_eq!(envoy.send(&Request::get("/open")).status, 200);
    assert_alive(&envoy, "local-reply");
}

/// The pipeline: a 403 on /admin and client `x-internal-*` headers stripped keep
/// applying after a hostile request made a member render past every bound.
#[test]
fn a_pipelines_gate_keeps_applying_after_a_hostile_request() {
    let upstream = Upstream::start();
    let message = "%REQ(:path)%".repeat(MAX_COMMANDS);
    let config = json!({"filters": [
        {"filter": "path-logger", "config": {"message": message}},
        {"filter": "request-decorator", "config": {"operations": [
            {"action": "remove_prefix", "name": "x-internal-"},
            {"action": "set", "name": "x-copy", "value": message},
        ]}},
        {"filter": "local-reply", "config": {"rules": [{"when": [{"path": {"prefix": "/admin"}}], "status": 403}]}},
    ]})
    .to_string();
    let mut entry = envoy::bundle_filter("pipeline", "hostile", Some(&config));
    entry["typed_config"]["config"]["root_id"] = json!("pipeline");
    let envoy = Envoy::start("hostile-pipeline", &[entry], upstream.port, 1);
    for _ in 0..3 {
        let response = envoy.send(&Request::get(&long_path()).header("x-internal-role", "admin"));
        assert_eq!(response.status, 200, "{}", envoy.log());
    }
    assert_eq!(envoy.send(&Request::get("/admin/x")).status, 403);
    let response = envoy.send(&Request::get("/open").header("x-internal-role", "admin"));
    assert_eq!(response.status, 200);
    let last = upstream.received().pop().expect("the open request");
    assert!(last.values("x-internal-role").is_empty());
    assert_alive(&envoy, "pipeline");
}
