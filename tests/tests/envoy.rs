//! Each filter in a real Envoy 1.40, as Wasm (and its Lua reference beside it where the
//! behaviour is the same), in front of an upstream this repo runs.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::paths::{self, FILTERS};
use moonshift_tests::runner;
use moonshift_tests::upstream::Upstream;
use regex::Regex;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Both ways to run a filter: its Lua reference and its Wasm module with no configuration.
fn flavours(filter: &str) -> [(&'static str, Value); 2] {
    [
        ("lua", envoy::lua_filter(filter)),
        ("wasm", envoy::wasm_filter(filter, None)),
    ]
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_filter_config_validates_as_lua_and_as_wasm() {
    for filter in FILTERS.iter().copied() {
        let deployed = envoy::deployed_config(filter);
        let entries = [
            ("lua", envoy::lua_filter(filter)),
            ("wasm", envoy::wasm_filter(filter, Some(&deployed))),
        ];
        for (flavour, entry) in entries {
            let config = envoy::bootstrap(10_000, 10_001, 10_002, &[entry]);
            if let Err(output) = envoy::validate(&format!("validate-{filter}-{flavour}"), &config) {
                panic!("{filter} as {flavour} does not validate:\n{output}");
            }
        }
    }
}

#[test]
fn timestamp_header_adds_the_request_time() {
    let shape = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").unwrap();
    for (flavour, entry) in flavours("timestamp-header") {
        let upstream = Upstream::start();
        let envoy = Envoy::start(&format!("timestamp-{flavour}"), &[entry], upstream.port, 1);
        let before = now_seconds();
        let plain = envoy.send(&Request::get("/"));
        let existing = envoy.send(&Request::get("/").header("x-request-timestamp", "client"));
        let after = now_seconds();
        assert_eq!((plain.status, existing.status), (200, 200), "{flavour}");
        let received = upstream.received();
        let stamped = received[0].values("x-request-timestamp");
        assert_eq!(stamped.len(), 1, "{flavour}: {stamped:?}");
        assert!(shape.is_match(&stamped[0]), "{flavour}: {stamped:?}");
        let allowed: Vec<String> = (before..=after).map(format_utc).collect();
        assert!(
            allowed.contains(&stamped[0]),
            "{flavour}: {stamped:?} not in {allowed:?}"
        );
        // Default `append`: the client's value stays, ours follows (Lua `add`).
        let both = received[1].values("x-request-timestamp");
        assert_eq!(both.len(), 2, "{flavour}: {both:?}");
        assert_eq!(both[0], "client", "{flavour}");
        assert!(shape.is_match(&both[1]), "{flavour}: {both:?}");
    }
}

/// `%Y-%m-%dT%H:%M:%SZ` for an epoch second, via the filter's own, LuaJIT-checked renderer.
fn format_utc(seconds: u64) -> String {
    timestamp_header_format().render(i64::try_from(seconds).unwrap())
}

fn timestamp_header_format() -> timestamp_header::strftime::Format {
    timestamp_header::strftime::Format::parse("%Y-%m-%dT%H:%M:%SZ").unwrap()
}

#[test]
fn timestamp_header_honours_its_configuration() {
    let upstream = Upstream::start();
    let config =
        r#"{"header":"X-Seen-At","format":"%a, %d %b %Y %H:%M:%S GMT","on_existing":"replace"}"#;
    let entry = envoy::wasm_filter("timestamp-header", Some(config));
    let envoy = Envoy::start("timestamp-config", &[entry], upstream.port, 1);
    envoy.send(
        &Request::get("/")
            .header("x-seen-at", "a")
            .header("x-seen-at", "b"),
    );
    let values = upstream.received()[0].values("x-seen-at");
    let shape =
        Regex::new(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$").unwrap();
    assert_eq!(values.len(), 1, "{values:?}");
    assert!(shape.is_match(&values[0]), "{values:?}");
}

#[test]
fn path_logger_logs_the_path() {
    for (flavour, entry) in flavours("path-logger") {
        let upstream = Upstream::start();
        let envoy = Envoy::start(
            &format!("path-logger-{flavour}"),
            &[entry],
            upstream.port,
            1,
        );
        let response = envoy.send(&Request::get("/orders/42?expand=items"));
        assert_eq!(response.status, 200, "{flavour}");
        let line = envoy
            .wait_for_log("Request path: /orders/42?expand=items")
            .unwrap_or_else(|| panic!("{flavour}: no path line in the log:\n{}", envoy.log()));
        assert!(line.contains("[info]"), "{flavour}: {line}");
        let source = if flavour == "lua" {
            "script log: "
        } else {
            "wasm log moonshift.path-logger path-logger: "
        };
        assert!(line.contains(source), "{flavour}: {line}");
    }
}

#[test]
fn path_logger_template_and_level() {
    let upstream = Upstream::start();
    let config = r#"{"level":"warn","message":"%REQ(:method)% %REQ(:path)% ua=%REQ(user-agent)% id=%REQ(x-id)%"}"#;
    let entry = envoy::wasm_filter("path-logger", Some(config));
    let envoy = Envoy::start("path-logger-template", &[entry], upstream.port, 1);
    envoy.send(
        &Request::get("/a")
            .header("user-agent", "curl/8")
            .header("x-id", "1")
            .header("x-id", "2"),
    );
    let line = envoy
        .wait_for_log("GET /a ua=curl/8 id=1,2")
        .unwrap_or_else(|| panic!("no templated line:\n{}", envoy.log()));
    assert!(line.contains("[warning]"), "{line}");
}

/// `%RESPONSE_DURATION%` in Envoy's real time: an upstream that waits 300 ms gives at least
/// 300, in Lua (`handle:timestamp()` at each end, kept in dynamic metadata) and in Wasm (the
/// request's start kept per stream) alike. The upper bound only catches a wrong unit.
#[test]
fn path_logger_response_duration_counts_the_upstreams_time() {
    let config = serde_json::json!({"response": {"message": "took %RESPONSE_DURATION% ms"}});
    let took = Regex::new(r"took (\d+) ms").unwrap();
    for flavour in [runner::Flavour::Lua, runner::Flavour::Wasm] {
        let upstream = Upstream::start();
        upstream.set_reply(moonshift_tests::upstream::Reply {
            delay: std::time::Duration::from_millis(300),
            ..Default::default()
        });
        let dir = envoy::scratch_dir("path-logger-duration");
        let entry = runner::filter_entry("path-logger", Some(&config), flavour, &dir).unwrap();
        let envoy = Envoy::start("path-logger-duration", &[entry], upstream.port, 1);
        assert_eq!(envoy.send(&Request::get("/slow")).status, 200);
        let line = envoy
            .wait_for_log("took ")
            .unwrap_or_else(|| panic!("{flavour:?}: no response line:\n{}", envoy.log()));
        let ms: u64 = took.captures(&line).unwrap()[1].parse().unwrap();
        assert!((300..10_000).contains(&ms), "{flavour:?}: {line}");
    }
}

#[test]
fn response_decorator_marks_responses() {
    for (flavour, entry) in flavours("response-decorator") {
        let upstream = Upstream::start();
        let envoy = Envoy::start(&format!("decorator-{flavour}"), &[entry], upstream.port, 1);
        let response = envoy.send(&Request::get("/"));
        assert_eq!(response.status, 200, "{flavour}");
        assert_eq!(response.values("x-lua-processed"), ["true"], "{flavour}");
        assert_eq!(response.values("x-upstream"), ["moonshift"], "{flavour}");
    }
}

#[test]
fn response_decorator_operations_in_order() {
    let upstream = Upstream::start();
    let config = r#"{"operations":[
        {"action":"remove","name":"x-upstream"},
        {"action":"set","name":"cache-control","value":"no-store"},
        {"action":"add","name":"x-a","value":"1"},
        {"action":"add","name":"x-a","value":"2"}]}"#;
    let entry = envoy::wasm_filter("response-decorator", Some(config));
    let envoy = Envoy::start("decorator-ops", &[entry], upstream.port, 1);
    upstream.set_reply(moonshift_tests::upstream::Reply {
        status: 200,
        headers: vec![
            ("x-upstream".into(), b"1".to_vec()),
            ("cache-control".into(), b"max-age=60".to_vec()),
            ("cache-control".into(), b"public".to_vec()),
        ],
        body: b"ok".to_vec(),
        ..Default::default()
    });
    let response = envoy.send(&Request::get("/"));
    assert!(response.values("x-upstream").is_empty(), "{response:?}");
    assert_eq!(response.values("cache-control"), ["no-store"]);
    assert_eq!(response.values("x-a"), ["1", "2"]);
}

#[test]
fn client_controlled_bytes_never_break_a_filter() {
    // Non-UTF-8 header bytes reach every filter that reads headers; none may trap (a trap is a
    // 503 and a dead VM). The message is logged byte for byte, as Lua logs it.
    let upstream = Upstream::start();
    let filters = [
        envoy::wasm_filter(
            "path-logger",
            Some(r#"{"message":"bin=%REQ(x-bin)% missing=%REQ(x-none)%"}"#),
        ),
        envoy::wasm_filter(
            "local-ratelimit",
            Some(r#"{"client_key":{"request_header":"x-bin"}}"#),
        ),
        envoy::wasm_filter(
            "timestamp-header",
            Some(r#"{"header":"x-bin","on_existing":"keep"}"#),
        ),
        envoy::wasm_filter("response-decorator", None),
    ];
    let envoy = Envoy::start("client-bytes", &filters, upstream.port, 1);
    for _ in 0..3 {
        let response = envoy.send(&Request::get("/").header("x-bin", b"\xff\xfe\x80ok"));
        assert_eq!(response.status, 200, "{}", envoy.log());
        assert_eq!(response.values("x-lua-processed"), ["true"]);
    }
    let raw_log = std::fs::read(envoy.dir.join("envoy.log")).unwrap();
    let needle = b"bin=\xff\xfe\x80ok missing=-";
    assert!(
        raw_log.windows(needle.len()).any(|w| w == needle),
        "{}",
        envoy.log()
    );
    // `keep`: the client's bytes stay as they were.
    for received in upstream.received() {
        let values: Vec<&Vec<u8>> = received
            .headers
            .iter()
            .filter(|(k, _)| k == "x-bin")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values, [&b"\xff\xfe\x80ok".to_vec()]);
    }
    assert!(!envoy.log().contains("[critical]"), "{}", envoy.log());
}

#[test]
fn example_configs_are_current_and_valid() {
    let root = paths::workspace_root();
    for (path, text) in moonshift_tests::examples::render_all() {
        let committed = std::fs::read_to_string(root.join(&path))
            .unwrap_or_else(|_| panic!("{} is missing: run `make examples`", path.display()));
        assert_eq!(
            committed,
            text,
            "{} is stale: run `make examples`",
            path.display()
        );
        if let Err(output) = envoy::validate_file(&path, &root) {
            panic!("{} does not validate:\n{output}", path.display());
        }
    }
}

/// Issue 12.5, a platform difference pinned: for requests Envoy answers itself before any HTTP
/// filter runs (a path with a non-ASCII byte, an empty path, conflicting `content-length`),
/// the Lua filter's `envoy_on_response` decorates the 400 and no Wasm module sees it: Envoy's
/// Wasm filter creates the stream's context in `onRequestHeaders`, and proxy-wasm-cpp-host skips
/// response callbacks for a context never created (docs/envoy.md §4). Sent over a raw socket.
#[test]
fn envoys_own_early_replies_reach_the_lua_but_no_wasm_module() {
    use std::io::{BufReader, Write};
    let raw: [(&str, &[u8]); 3] = [
        ("non-ASCII path", b"GET /\xff HTTP/1.1\r\nhost: a\r\n\r\n"),
        ("empty path", b"GET  HTTP/1.1\r\nhost: a\r\n\r\n"),
        (
            "conflicting content-length",
            b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
        ),
    ];
    let upstream = Upstream::start();
    for (flavour, entry, decorated) in [
        ("lua", envoy::lua_filter("response-decorator"), true),
        (
            "wasm",
            envoy::wasm_filter("response-decorator", None),
            false,
        ),
    ] {
        let envoy = Envoy::start(&format!("early-{flavour}"), &[entry], upstream.port, 1);
        for (name, bytes) in raw {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", envoy.port)).unwrap();
            stream.write_all(bytes).unwrap();
            let response =
                moonshift_tests::http::read_response(&mut BufReader::new(&stream)).unwrap();
            assert_eq!(response.status, 400, "{flavour}, {name}");
            let seen = response.value("x-lua-processed").is_some();
            assert_eq!(
                seen, decorated,
                "{flavour}, {name}: x-lua-processed on Envoy's own 400"
            );
        }
    }
    assert!(
        upstream.received().is_empty(),
        "no early-answered request reached the upstream"
    );
}

/// `%UNIQUE_ID%` in Envoy: the module's host random source (WASI `random_get`, which Envoy
/// answers from BoringSSL) gives every response its own well-formed version 4 UUID, across two
/// workers. The Lua reference's are well-formed too; whether they repeat across workers depends
/// on which second each worker seeded in (harness/tests/differences.rs pins that difference).
#[test]
fn unique_ids_are_fresh_uuids_across_workers() {
    let config =
        r#"{"operations":[{"action":"add","name":"x-response-id","value":"%UNIQUE_ID%"}]}"#;
    let config_json: Value = serde_json::from_str(config).unwrap();
    let lua = runner::filter_entry(
        "response-decorator",
        Some(&config_json),
        runner::Flavour::Lua,
        &envoy::scratch_dir("unique-ids-lua"),
    )
    .unwrap();
    for (flavour, entry) in [
        (
            "wasm",
            envoy::wasm_filter("response-decorator", Some(config)),
        ),
        ("lua", lua),
    ] {
        let upstream = Upstream::start();
        let envoy = Envoy::start(&format!("unique-ids-{flavour}"), &[entry], upstream.port, 2);
        let mut ids = Vec::new();
        for _ in 0..20 {
            let response = envoy.send(&Request::get("/"));
            let values = response.values("x-response-id");
            assert_eq!(values.len(), 1, "{flavour}: {response:?}");
            assert!(
                moonshift_harness::exchange::is_uuid_v4(values[0].as_bytes()),
                "{flavour}: {values:?}"
            );
            ids.push(values[0].clone());
        }
        if flavour == "wasm" {
            let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
            assert_eq!(distinct.len(), ids.len(), "{ids:?}");
        }
    }
}
