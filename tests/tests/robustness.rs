//! What clients can throw at the Wasm filters in a real Envoy: huge headers, hundreds of
//! repeated headers, non-UTF-8 bytes, and a burst of 10,000 requests. None may trap (a trap is a
//! 503 and, under FAIL_CLOSED, a dead VM for that worker); nothing may log an error.

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use serde_json::Value;

/// All four filters chained, each reading client-controlled headers.
fn chain() -> Vec<Value> {
    vec![
        envoy::wasm_filter(
            "path-logger",
            Some(r#"{"level":"debug","message":"%REQ(:path)% rep=%REQ(x-rep)% big=%REQ(x-big)%"}"#),
        ),
        envoy::wasm_filter(
            "timestamp-header",
            Some(r#"{"header":"x-rep","on_existing":"keep"}"#),
        ),
        envoy::wasm_filter(
            "local-ratelimit",
            Some(
                r#"{"token_bucket":{"max_tokens":1000000,"tokens_per_fill":1000000,"fill_interval":"1s"},"client_key":{"request_header":"x-big"},"max_client_keys":100,"enable_x_ratelimit_headers":"DRAFT_VERSION_03"}"#,
            ),
        ),
        envoy::wasm_filter("response-decorator", None),
    ]
}

fn errors_in(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("[error]") || l.contains("[critical]"))
        .collect()
}

#[test]
fn huge_repeated_and_binary_headers_never_trap() {
    let upstream = Upstream::start();
    let envoy = Envoy::start("robust-headers", &chain(), upstream.port, 2);
    let mut many = Request::get("/many");
    for i in 0..500 {
        many = many.header("x-rep", format!("value-{i}"));
    }
    let requests = [
        (
            "a 60 KiB header",
            Request::get("/big").header("x-big", "b".repeat(60 * 1024)),
        ),
        ("500 repeated headers", many),
        (
            "non-UTF-8 bytes",
            Request::get("/bin")
                .header("x-big", b"\xff\xfe\x80\xc3\x28")
                .header("x-rep", b"\xe2\x28\xa1"),
        ),
        (
            "an empty header value",
            Request::get("/empty")
                .header("x-big", "")
                .header("x-rep", ""),
        ),
    ];
    for (what, request) in &requests {
        for _ in 0..3 {
            let response = envoy.send(request);
            assert_eq!(response.status, 200, "{what}: {}", envoy.log());
            assert_eq!(response.values("x-lua-processed"), ["true"], "{what}");
            assert!(response.value("x-ratelimit-limit").is_some(), "{what}");
        }
    }
    let reps = upstream
        .received()
        .iter()
        .find(|r| r.path == b"/many")
        .unwrap()
        .values("x-rep");
    assert_eq!(
        reps.len(),
        500,
        "keep: the client's 500 values stay, none added"
    );
    assert_eq!(errors_in(&envoy.log()), Vec::<&str>::new());
}

#[test]
fn ten_thousand_requests_leave_no_error_and_the_vms_alive() {
    let upstream = Upstream::start();
    let envoy = Envoy::start("robust-burst", &chain(), upstream.port, 2);
    let port = envoy.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut statuses = std::collections::BTreeMap::new();
                for i in 0..1250 {
                    let request = Request::get(&format!("/burst/{t}/{i}"))
                        .header("x-big", format!("client-{}", i % 150));
                    let status = request.send(port).map_or(0, |r| r.status);
                    *statuses.entry(status).or_insert(0) += 1;
                }
                statuses
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for thread in threads {
        for (status, count) in thread.join().unwrap() {
            *statuses.entry(status).or_insert(0) += count;
        }
    }
    assert_eq!(
        statuses,
        [(200u16, 10_000)].into_iter().collect(),
        "statuses of 10,000 requests"
    );
    // Still alive afterwards, on both workers.
    for _ in 0..20 {
        assert_eq!(
            envoy
                .send(&Request::get("/after"))
                .values("x-lua-processed"),
            ["true"]
        );
    }
    assert_eq!(errors_in(&envoy.log()), Vec::<&str>::new());
    let stat = |name: &str| {
        envoy.counter(&format!(
            "wasmcustom.http_local_rate_limiter.http_local_rate_limit.{name}"
        ))
    };
    assert_eq!(stat("ok"), 10_020);
    assert_eq!(stat("undecided"), 0);
}
