//! What a module sees of a request body when it holds the request's headers to read it first:
//! the pattern every "a header from the body" filter needs (a Lua script's
//! `headers:add("request_body_size", request:body():length())`, Envoy's own Lua docs example).
//!
//! The module is `tests/wasm/body-probe.wat`: it returns StopIteration from its header callback
//! when a body follows, buffers the body, then adds `x-body-seen: yes` and continues. Envoy
//! turns a module's header-phase StopIteration into StopAllIterationAndWatermark unless the
//! plugin sets `allow_on_headers_stop_iteration` (Envoy 1.35 on), and with StopAll the body is
//! buffered without reaching the module: the request never moves. Istio's `WasmPlugin` has no
//! field for that setting. `docs/envoy.md` §11 states what this shows.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The probe module.
fn probe() -> std::path::PathBuf {
    moonshift_tests::probe("body-probe", &envoy::scratch_dir("body-probe"))
}

/// The probe as a plugin, with `allow_on_headers_stop_iteration` set or not.
fn filter(module: &std::path::Path, allow: bool) -> serde_json::Value {
    let mut filter = envoy::wasm_filter_at("probe", module, None);
    if allow {
        filter["typed_config"]["config"]["allow_on_headers_stop_iteration"] =
            serde_json::json!(true);
    }
    filter
}

/// Sends `request` and waits `wait` for a response; `None` when none came.
fn answer(envoy: &Envoy, request: &Request, wait: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", envoy.port)).expect("connect to Envoy");
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    stream.write_all(&request.to_bytes()).expect("send");
    let mut got = [0u8; 64];
    match stream.read(&mut got) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&got[..n]).into_owned()),
        _ => None,
    }
}

#[test]
fn a_module_that_pauses_headers_gets_the_body_only_when_the_plugin_allows_it() {
    let module = probe();
    let post = Request::get("/upload").method("POST").body("hello, body");

    // As a WasmPlugin deploys it: the body never reaches the module, and the request stalls.
    let upstream = Upstream::start();
    let envoy = Envoy::start(
        "body-probe-default",
        &[filter(&module, false)],
        upstream.port,
        1,
    );
    assert_eq!(
        envoy.send(&Request::get("/no-body")).status,
        200,
        "a request without a body passes"
    );
    let stalled = answer(&envoy, &post, Duration::from_secs(3));
    assert_eq!(stalled, None, "a response came: {stalled:?}");
    assert_eq!(
        upstream.received().len(),
        1,
        "only the bodiless request reached the upstream"
    );
    drop(envoy);

    // With allow_on_headers_stop_iteration: the module reads the body, then writes the header.
    let upstream = Upstream::start();
    let envoy = Envoy::start(
        "body-probe-allowed",
        &[filter(&module, true)],
        upstream.port,
        1,
    );
    let response = envoy.send(&post);
    assert_eq!(response.status, 200, "{}", envoy.log_tail());
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].values("x-body-seen"), vec!["yes".to_string()]);
    assert_eq!(received[0].body, b"hello, body");
}
