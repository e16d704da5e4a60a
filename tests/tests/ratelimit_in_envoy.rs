//! local-ratelimit in a real Envoy 1.40: the seed's defaults, buckets shared across workers with
//! native's reply and counters, shadow mode, and the Lua reference's per-worker buckets beside it.

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;

#[test]
fn local_ratelimit_seed_defaults_admit_one_hundred() {
    // The seed's bucket, 100 tokens per 60 s, process-wide over two workers.
    let upstream = Upstream::start();
    let entry = envoy::wasm_filter("local-ratelimit", None);
    let envoy = Envoy::start("ratelimit-defaults", &[entry], upstream.port, 2);
    let statuses: Vec<u16> = (0..103)
        .map(|_| envoy.send(&Request::get("/")).status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        100,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
}

#[test]
fn local_ratelimit_limits_across_workers_with_native_reply_and_stats() {
    let upstream = Upstream::start();
    let config = r#"{"token_bucket":{"max_tokens":3,"tokens_per_fill":3,"fill_interval":"60s"},
        "response_headers_to_add":[{"header":{"key":"x-local-rate-limit","value":"true"}}],
        "enable_x_ratelimit_headers":"DRAFT_VERSION_03"}"#;
    let entry = envoy::wasm_filter("local-ratelimit", Some(config));
    let envoy = Envoy::start("ratelimit-workers", &[entry], upstream.port, 2);
    let responses: Vec<_> = (0..10).map(|_| envoy.send(&Request::get("/"))).collect();
    let admitted: Vec<_> = responses.iter().filter(|r| r.status == 200).collect();
    let limited: Vec<_> = responses.iter().filter(|r| r.status == 429).collect();
    assert_eq!((admitted.len(), limited.len()), (3, 7), "{responses:#?}");
    let remaining: Vec<String> = admitted
        .iter()
        .map(|r| r.value("x-ratelimit-remaining").unwrap())
        .collect();
    assert_eq!(remaining, ["2", "1", "0"]);
    let reply = limited[0];
    assert_eq!(reply.body, b"local_rate_limited");
    assert_eq!(reply.value("content-type").as_deref(), Some("text/plain"));
    assert_eq!(reply.value("x-local-rate-limit").as_deref(), Some("true"));
    assert_eq!(reply.value("x-ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(reply.value("x-ratelimit-remaining").as_deref(), Some("0"));
    // 1 token per 20 s, none left: the next one is at most 20 s away.
    let reset: u64 = reply.value("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=20).contains(&reset), "reset {reset}");
    assert_eq!(upstream.received().len(), 3);
    let stat = |name: &str| {
        envoy.counter(&format!(
            "wasmcustom.http_local_rate_limiter.http_local_rate_limit.{name}"
        ))
    };
    assert_eq!(
        [
            stat("enabled"),
            stat("ok"),
            stat("rate_limited"),
            stat("enforced"),
            stat("shadow_mode")
        ],
        [10, 3, 7, 7, 0]
    );
}

#[test]
fn local_ratelimit_shadow_mode_lets_requests_through() {
    let upstream = Upstream::start();
    let config = r#"{"token_bucket":{"max_tokens":1,"tokens_per_fill":1,"fill_interval":"60s"},
        "filter_enforced":{"default_value":{"numerator":0}},
        "request_headers_to_add_when_not_enforced":[{"header":{"key":"x-rate-limited","value":"shadow"}}]}"#;
    let entry = envoy::wasm_filter("local-ratelimit", Some(config));
    let envoy = Envoy::start("ratelimit-shadow", &[entry], upstream.port, 1);
    let statuses: Vec<u16> = (0..3)
        .map(|_| envoy.send(&Request::get("/")).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200]);
    let marks: Vec<Vec<String>> = upstream
        .received()
        .iter()
        .map(|r| r.values("x-rate-limited"))
        .collect();
    assert_eq!(
        marks,
        [
            vec![],
            vec!["shadow".to_string()],
            vec!["shadow".to_string()]
        ]
    );
    let stat = |name: &str| {
        envoy.counter(&format!(
            "wasmcustom.http_local_rate_limiter.http_local_rate_limit.{name}"
        ))
    };
    assert_eq!(
        [stat("rate_limited"), stat("shadow_mode"), stat("enforced")],
        [2, 2, 0]
    );
}

#[test]
fn local_ratelimit_lua_reference_limits_per_worker() {
    // The Lua keeps its bucket in per-worker globals: with one worker it limits like the Wasm.
    let upstream = Upstream::start();
    let envoy = Envoy::start(
        "ratelimit-lua",
        &[envoy::lua_filter("local-ratelimit")],
        upstream.port,
        1,
    );
    let responses: Vec<_> = (0..101).map(|_| envoy.send(&Request::get("/"))).collect();
    let limited: Vec<_> = responses.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        limited.len(),
        1,
        "statuses: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(limited[0].body, b"local_rate_limited");
    assert_eq!(
        limited[0].value("content-type").as_deref(),
        Some("text/plain")
    );
}
