//! The bundle in a real Envoy 1.40: every filter served from one shared VM per worker, and an
//! unknown root_id refused.

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;

#[test]
fn the_bundle_serves_every_filter_from_one_shared_vm() {
    let upstream = Upstream::start();
    let chain = [
        envoy::bundle_filter("timestamp-header", "moonshift", None),
        envoy::bundle_filter("path-logger", "moonshift", None),
        // Before the rate limiter, so its 429 passes through the decorator (Envoy sends a
        // filter's local reply back through the filters before it, not after it).
        envoy::bundle_filter("response-decorator", "moonshift", None),
        envoy::bundle_filter(
            "local-ratelimit",
            "moonshift",
            Some(r#"{"token_bucket":{"max_tokens":2,"tokens_per_fill":2,"fill_interval":"60s"}}"#),
        ),
    ];
    let envoy = Envoy::start("bundle", &chain, upstream.port, 2);
    let statuses: Vec<u16> = (0..3)
        .map(|i| envoy.send(&Request::get(&format!("/b/{i}"))).status)
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let response = envoy.send(&Request::get("/b/last"));
    assert_eq!(
        response.values("x-lua-processed"),
        ["true"],
        "the decorator runs on the 429 too"
    );
    assert_eq!(
        upstream.received()[0].values("x-request-timestamp").len(),
        1
    );
    assert!(
        envoy.wait_for_log("Request path: /b/0").is_some(),
        "{}",
        envoy.log()
    );
    // The four plugins share their VMs: as many live VMs as one filter alone has, where four
    // separate modules have four times as many.
    let shared = envoy.settled_gauge("wasm.envoy.wasm.runtime.v8.active");
    let one = Envoy::start(
        "bundle-one",
        &[envoy::wasm_filter("path-logger", None)],
        upstream.port,
        2,
    );
    let single = one.settled_gauge("wasm.envoy.wasm.runtime.v8.active");
    let separate_chain: Vec<_> = moonshift_tests::paths::FILTERS
        .iter()
        .map(|f| envoy::wasm_filter(f, Some(&envoy::deployed_config(f))))
        .collect();
    let modules = separate_chain.len() as u64;
    let all = Envoy::start("bundle-all", &separate_chain, upstream.port, 2);
    let separate = all.settled_gauge("wasm.envoy.wasm.runtime.v8.active");
    println!("live V8 VMs with 2 workers: one filter {single}, {modules} modules {separate}, four filters in the shared bundle {shared}");
    assert_eq!(shared, single);
    assert_eq!(separate, modules * single);
}

#[test]
fn the_bundle_refuses_an_unknown_root_id() {
    let entry = envoy::bundle_filter("no-such-filter", "moonshift", None);
    let failure = Envoy::try_start("bundle-unknown", &[entry], 9, 1)
        .expect_err("an unknown root_id is refused");
    assert!(
        failure.log.contains(
            "moonshift-bundle: invalid configuration: no filter has root_id \"no-such-filter\""
        ),
        "{}",
        failure.log
    );
}
