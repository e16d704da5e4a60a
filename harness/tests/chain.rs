//! A chain of plugins in-process (`WasmChain`) against one pipeline plugin doing the same: the
//! same outcome for every request, local replies included. The Envoy twin of this test is
//! tests/tests/pipeline.rs; this one holds the harness's chain to the same semantics.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use moonshift_harness::artifacts;
use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::{joined, Exchange, Outcome};
use moonshift_harness::wasm::chain::WasmChain;
use moonshift_harness::wasm::{Plugin, Process, WasmModule, WasmWorker};
use serde_json::{json, Value};

/// A plugin named by its place in the chain, as Istio names each WasmPlugin apart.
fn plugin(place: usize, root_id: &str, config: &Value) -> Plugin {
    Plugin {
        configuration: Some(config.to_string().into_bytes()),
        plugin_name: format!("chain.{place}.{root_id}"),
        root_id: root_id.into(),
        log_level: 0,
    }
}

/// The outcomes of `paths` through `filters` chained as plugins, and through one pipeline.
fn both(filters: &[(&str, Value)], paths: &[&str]) -> (Vec<Outcome>, Vec<Outcome>) {
    let module = WasmModule::load(&artifacts::wasm_module("moonshift-bundle")).expect("bundle");
    let clock = Clock::at_millis(1_700_000_000_000);
    let members: Vec<(&WasmModule, Plugin)> = filters
        .iter()
        .enumerate()
        .map(|(i, (name, config))| (&module, plugin(i, name, config)))
        .collect();
    let mut chain = WasmChain::start(&members, &Process::new(), &clock).expect("chain starts");
    let list: Vec<Value> = filters
        .iter()
        .map(|(name, config)| json!({"filter": name, "config": config}))
        .collect();
    let pipeline = plugin(0, "pipeline", &json!({ "filters": list }));
    let mut one =
        WasmWorker::start(&module, &Process::new(), &clock, &pipeline).expect("pipeline starts");
    // What each plugin logged when it was configured.
    assert_eq!(chain.take_logs().len(), filters.len());
    assert_eq!(one.take_logs().len(), 1);
    let mut chained = Vec::new();
    let mut piped = Vec::new();
    for path in paths {
        let exchange = Exchange::get("moonshift.test", path);
        chained.push(chain.exchange(&exchange));
        piped.push(one.exchange(&exchange));
    }
    (chained, piped)
}

fn seen_by(outcome: &Outcome) -> Vec<String> {
    outcome
        .response
        .headers
        .iter()
        .filter(|(name, _)| name == "x-seen-by")
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
        .collect()
}

#[test]
fn the_seeds_three_filters_as_plugins_and_as_one_pipeline() {
    let (chained, piped) = both(
        &[
            ("path-logger", json!({})),
            ("timestamp-header", json!({})),
            ("response-decorator", json!({})),
        ],
        &["/", "/orders/42?x=1"],
    );
    assert_eq!(format!("{chained:?}"), format!("{piped:?}"));
    let upstream = chained[1]
        .upstream_request
        .as_ref()
        .expect("reached the upstream");
    assert!(
        joined(upstream, "x-request-timestamp").is_some(),
        "{upstream:?}"
    );
    assert_eq!(chained[1].logs.len(), 1, "{:?}", chained[1].logs);
}

/// The second request is refused by the limiter (second of five filters): the filters after it
/// never see it, the first filter's response phase does.
#[test]
fn a_local_reply_passes_back_through_the_plugins_before_it_only() {
    let decorate = |value: &str| json!({"operations": [{"action": "add", "name": "x-seen-by", "value": value}]});
    let (chained, piped) = both(
        &[
            ("response-decorator", decorate("first")),
            (
                "local-ratelimit",
                json!({"token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"}}),
            ),
            ("path-logger", json!({"message": "reached %REQ(:path)%"})),
            ("response-decorator", decorate("last")),
        ],
        &["/one", "/two"],
    );
    assert_eq!(format!("{chained:?}"), format!("{piped:?}"));
    assert_eq!(seen_by(&chained[0]), ["last", "first"]);
    assert_eq!(chained[0].logs.len(), 1, "{:?}", chained[0].logs);
    assert_eq!(chained[1].response.status, 429);
    assert_eq!(seen_by(&chained[1]), ["first"]);
    assert!(chained[1].logs.is_empty(), "{:?}", chained[1].logs);
}

/// Two Lua scripts as two Lua filters (`LuaChain`), as Envoy 1.40 runs them (the real-Envoy twin
/// is cli/tests/migrate.rs, two scripts): request functions in order, each seeing what the one
/// before it left; response functions in reverse; a `respond()` skips the later request
/// functions, but its reply goes through every response function, the later script's too.
#[test]
fn lua_filters_chain_as_envoy_chains_them() {
    use moonshift_harness::lua::LuaChain;
    let first = r#"
        function envoy_on_request(h)
          h:headers():add("x-first", "1")
          if h:headers():get(":path") == "/deny" then
            h:respond({[":status"] = "403"}, "no")
          end
        end
        function envoy_on_response(h) h:headers():add("x-order", "first") end
    "#;
    let second = r#"
        function envoy_on_request(h)
          h:headers():add("x-second-saw", h:headers():get("x-first") or "nothing")
        end
        function envoy_on_response(h) h:headers():add("x-order", "second") end
    "#;
    let clock = Clock::at_millis(1_700_000_000_000);
    let mut chain = LuaChain::start(&[first, second], &clock).expect("scripts load");
    let request = |path: &str| Exchange::get("example.com", path);
    let passed = chain.exchange(&request("/"));
    let upstream = passed.upstream_request.expect("reaches the upstream");
    assert_eq!(
        joined(&upstream, "x-second-saw").as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        joined(&passed.response.headers, "x-order").as_deref(),
        Some(&b"second,first"[..])
    );
    let denied = chain.exchange(&request("/deny"));
    assert!(denied.upstream_request.is_none());
    assert_eq!(denied.response.status, 403);
    assert_eq!(
        joined(&denied.response.headers, "x-order").as_deref(),
        Some(&b"second,first"[..])
    );
    let refused = LuaChain::start(&[first, "function broken("], &clock).expect_err("refused");
    assert!(
        refused.starts_with("Lua filter 1: script does not load"),
        "{refused}"
    );
}

/// Issue 21.7: two rate limiters in one pipeline keep their own buckets, as two plugins do: the
/// first admits 3 an hour, the second 1,000, so 3 of 8 requests pass either way (sharing one
/// bucket admitted 1).
#[test]
fn two_rate_limiters_in_one_pipeline_keep_their_own_buckets() {
    let limiter = |max: u32| json!({"token_bucket": {"max_tokens": max, "tokens_per_fill": max, "fill_interval": "3600s"}});
    let filters = [
        ("local-ratelimit", limiter(3)),
        ("local-ratelimit", limiter(1000)),
    ];
    let paths = ["/"; 8];
    let (chained, piped) = both(&filters, &paths);
    let statuses =
        |outcomes: &[Outcome]| -> Vec<u16> { outcomes.iter().map(|o| o.response.status).collect() };
    let want = [200, 200, 200, 429, 429, 429, 429, 429];
    assert_eq!(statuses(&chained), want, "two plugins");
    assert_eq!(statuses(&piped), want, "one pipeline");
}
