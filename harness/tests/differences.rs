//! Intentional differences that are not exchanges (configuration-time ones), each shown on both
//! sides. The per-exchange ones are scenarios with `differs` in `tests/scenarios/`.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::Exchange;
use moonshift_harness::lua::LuaWorker;
use moonshift_harness::lua_config;
use moonshift_harness::scenario::{self, ScenarioFile};
use moonshift_harness::wasm::{Plugin, Process, WasmWorker};
use serde_json::json;

fn plain_request() -> Exchange {
    Exchange {
        request_headers: vec![
            (":path".into(), b"/".to_vec()),
            (":method".into(), b"GET".to_vec()),
        ],
        remote_address: "10.0.0.7:40000".into(),
        peer_uri_sans: vec![],
        upstream_status: 200,
        upstream_headers: vec![],
        upstream_delay_ms: 0,
        route_metadata: Default::default(),
    }
}

#[test]
fn refused_formats_lua_renders_them_wasm_refuses_the_config() {
    // timestamp-header README, "Refused formats".
    let subject = support::subject("timestamp-header");
    let config = json!({"format": "%s %n"});
    let clock = Clock::at_millis(1_795_737_600_000);
    let source = lua_config::render(&subject.lua_source, Some(&config)).unwrap();
    let mut lua = LuaWorker::start(&source, &clock).unwrap();
    let outcome = lua.exchange(&plain_request());
    let stamped = outcome
        .upstream_request
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "x-request-timestamp")
        .unwrap()
        .1;
    // glibc renders %s through mktime (local time) and %n as a newline the header cannot hold.
    assert!(
        stamped.contains(&b'\n'),
        "{:?}",
        String::from_utf8_lossy(&stamped)
    );
    let plugin = Plugin::named("timestamp-header", Some(&config));
    let process = Process::new();
    let refused = WasmWorker::start(&subject.module, &process, &clock, &plugin).unwrap_err();
    assert_eq!(refused.reason, "proxy_on_configure returned false");
    // The refusal is counted too (issue 24.4), beside its error line.
    assert_eq!(
        process
            .borrow()
            .metrics()
            .get("moonshift.timestamp_header.config_refused"),
        Some(&1)
    );
    let message = String::from_utf8_lossy(&refused.logs.last().unwrap().message).into_owned();
    assert!(
        message.starts_with(
            "timestamp-header: invalid configuration: format must use only the conversions"
        ),
        "{message}"
    );
    assert!(message.ends_with(r#"got "%s" in "%s %n""#), "{message}");
}

#[test]
fn every_invalid_config_is_refused_by_the_wasm_with_its_message() {
    let cases = [
        ("path-logger", json!({"message": "%REQ(:status)%"}), "path-logger: invalid configuration: message %REQ(:status)% must be a header name or one of :authority, :method, :path, :scheme, got \":status\""),
        ("local-ratelimit", json!({"token_bucket": {"fill_interval": "10ms"}}), "local-ratelimit: invalid configuration: token_bucket.fill_interval must be >= 50ms, got \"10ms\""),
        ("response-decorator", json!({"operations": [{"action": "add", "name": "x"}]}), "response-decorator: invalid configuration: operations[0].value is required when action is \"add\", \"set\", \"set_if_absent\" or \"replace_body\""),
    ];
    for (filter, config, want) in cases {
        let plugin = Plugin::named(filter, Some(&config));
        let refused = WasmWorker::start(
            &support::subject(filter).module,
            &Process::new(),
            &Clock::default(),
            &plugin,
        )
        .unwrap_err();
        let messages: Vec<String> = refused
            .logs
            .iter()
            .map(|l| String::from_utf8_lossy(&l.message).into_owned())
            .collect();
        assert_eq!(messages, [want], "{filter}");
    }
}

#[test]
fn lua_has_no_stats_the_wasm_counts_like_native() {
    // local-ratelimit README: "Lua has no stats API: the Lua reference counts nothing."
    let path =
        moonshift_harness::artifacts::workspace_root().join("tests/scenarios/local-ratelimit.json");
    let file = ScenarioFile::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let scenario = file
        .scenarios
        .iter()
        .find(|s| s.name.starts_with("worker scope: burst"))
        .unwrap();
    let report = scenario::run(&support::subject("local-ratelimit"), scenario).unwrap();
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(
        report
            .metrics
            .get("http_local_rate_limiter.http_local_rate_limit.rate_limited"),
        Some(&1)
    );
    let lua_source = std::fs::read_to_string(moonshift_harness::artifacts::lua_reference(
        "local-ratelimit",
    ))
    .unwrap();
    assert!(
        !lua_source.contains("stats") && !lua_source.contains("metric"),
        "the Lua reference now counts something: update the README"
    );
}

/// `%UNIQUE_ID%` (docs/templates-and-conditions.md): both sides render a fresh version 4 UUID
/// on every request, and the scenarios compare them masked. The difference is where the bytes
/// come from. The Lua seeds LuaJIT's `math.random` from `os.time()`, as scripts do, so two VMs
/// seeded in the same second (Envoy's workers) draw the same IDs; the Wasm reads each VM's host
/// random source.
#[test]
fn unique_ids_are_fresh_but_only_the_lua_repeats_them_across_workers() {
    let subject = support::subject("request-decorator");
    let config = json!({"operations": [{"action": "set", "name": "x-id", "value": "%UNIQUE_ID%"}]});
    let clock = Clock::at_millis(1_795_737_600_000);
    let id = |outcome: moonshift_harness::exchange::Outcome| {
        let headers = outcome.upstream_request.unwrap();
        let value = headers.into_iter().find(|(k, _)| k == "x-id").unwrap().1;
        assert!(
            moonshift_harness::exchange::is_uuid_v4(&value),
            "{:?}",
            String::from_utf8_lossy(&value)
        );
        value
    };
    let source = lua_config::render(&subject.lua_source, Some(&config)).unwrap();
    let plugin = Plugin::named("request-decorator", Some(&config));
    let (mut lua_ids, mut wasm_ids) = (Vec::new(), Vec::new());
    for _worker in 0..2 {
        let mut lua = LuaWorker::start(&source, &clock).unwrap();
        let mut wasm =
            WasmWorker::start(&subject.module, &Process::new(), &clock, &plugin).unwrap();
        lua_ids.push([
            id(lua.exchange(&plain_request())),
            id(lua.exchange(&plain_request())),
        ]);
        wasm_ids.push([
            id(wasm.exchange(&plain_request())),
            id(wasm.exchange(&plain_request())),
        ]);
    }
    for ids in lua_ids.iter().chain(&wasm_ids) {
        assert_ne!(ids[0], ids[1], "a worker's two requests got the same id");
    }
    assert_eq!(
        lua_ids[0], lua_ids[1],
        "the Lua's workers, seeded in the same second"
    );
    assert_ne!(wasm_ids[0][0], wasm_ids[1][0]);
    assert_ne!(wasm_ids[0][1], wasm_ids[1][1]);
}
