//! Randomly generated requests and clocks through both hosts: the outcomes must be equal, or
//! differ exactly as a documented intentional difference says (named where it is checked).

// Its helpers load and start the hosts; one that fails fails the property that called it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use moonshift_harness::clock::Clock;
use moonshift_harness::diff;
use moonshift_harness::exchange::{joined, Exchange, Header, Level, Outcome};
use moonshift_harness::lua::LuaWorker;
use moonshift_harness::lua_config;
use moonshift_harness::scenario::Subject;
use moonshift_harness::wasm::{Plugin, Process, WasmWorker};
use moonshift_shared::template::{Phase, Template};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};
use std::sync::OnceLock;

const CASES: u32 = 96;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

fn subject(filter: &'static str) -> &'static Subject {
    static SUBJECTS: OnceLock<Vec<Subject>> = OnceLock::new();
    let all = SUBJECTS.get_or_init(|| {
        [
            "timestamp-header",
            "path-logger",
            "local-ratelimit",
            "response-decorator",
            "request-decorator",
            "api-key-auth",
        ]
        .into_iter()
        .map(support::subject)
        .collect()
    });
    all.iter().find(|s| s.name == filter).expect("known filter")
}

/// Runs `requests` (clock in ms, exchange) through a fresh Lua worker and a fresh Wasm worker.
fn run_both(
    filter: &'static str,
    config: &Value,
    requests: &[(u64, Exchange)],
) -> Vec<(Outcome, Outcome)> {
    let subject = subject(filter);
    let clock = Clock::at_millis(requests.first().map_or(0, |r| r.0));
    let source = lua_config::render(&subject.lua_source, Some(config)).expect("config renders");
    let mut lua = LuaWorker::start(&source, &clock).expect("Lua loads");
    let plugin = Plugin::named(filter, Some(config));
    let mut wasm =
        WasmWorker::start(&subject.module, &Process::new(), &clock, &plugin).expect("Wasm starts");
    wasm.take_logs();
    requests
        .iter()
        .map(|(at, exchange)| {
            clock.set_millis(*at);
            (lua.exchange(exchange), wasm.exchange(exchange))
        })
        .collect()
}

fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>().prop_filter("no NUL, CR, LF", |b| !matches!(b, 0 | b'\r' | b'\n')), 0..24),
        1 => Just(b"x".repeat(8192)),
        1 => Just(Vec::new()),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x-a".to_string()),
        Just("x-request-timestamp".to_string()),
        Just("user-agent".to_string()),
        Just("x-api-key".to_string()),
        "[a-z][a-z0-9-]{0,10}",
    ]
}

/// Whether a decorator accepts `action` on `name`: framing and hop-by-hop headers are refused
/// by config validation (tested there), and so is any prefix of one, or of fewer than 3 bytes,
/// for `remove_prefix`.
fn accepted(action: &str, name: &str) -> bool {
    let framing = moonshift_shared::config::FRAMING_HEADERS;
    match action {
        "remove_prefix" => name.len() >= 3 && !framing.iter().any(|f| f.starts_with(name)),
        _ => !framing.contains(&name),
    }
}

/// Printable values a header operation's config accepts in `phase`: a random `%` mostly makes
/// an unknown command (`%A%`), which validation refuses (tested there), so those are dropped by
/// the template parser itself, the rule the filters apply.
fn template_value(phase: Phase) -> impl Strategy<Value = String> {
    "[ -~]{0,12}".prop_filter("a value the template parser accepts", move |value| {
        Template::parse("value", value, phase).is_ok()
    })
}

fn headers() -> impl Strategy<Value = Vec<Header>> {
    proptest::collection::vec((header_name(), value_bytes()), 0..6)
}

fn request() -> impl Strategy<Value = Exchange> {
    (
        proptest::option::of(proptest::collection::vec(
            any::<u8>().prop_filter("path byte", |b| !matches!(b, 0 | b'\r' | b'\n' | b' ')),
            0..40,
        )),
        prop_oneof![Just("GET"), Just("POST"), Just("CONNECT")],
        headers(),
        headers(),
        "(10\\.0\\.0\\.[1-3]|\\[::1\\]):[1-9][0-9]{0,4}",
    )
        .prop_map(|(path, method, extra, upstream, remote)| {
            let mut request_headers = vec![
                (":authority".to_string(), b"moonshift.test".to_vec()),
                (":method".to_string(), method.as_bytes().to_vec()),
            ];
            if let Some(path) = path {
                let mut p = b"/".to_vec();
                p.extend(path);
                request_headers.insert(1, (":path".to_string(), p));
            }
            request_headers.extend(extra);
            Exchange {
                request_headers,
                remote_address: remote,
                peer_uri_sans: vec![],
                upstream_status: 200,
                upstream_headers: upstream,
                upstream_delay_ms: 0,
                route_metadata: Default::default(),
            }
        })
}

/// Gives each request the `x-api-key` of one of twelve clients (one with non-ASCII bytes), or
/// none.
fn with_clients(requests: &mut [(u64, Exchange)], clients: &[Option<usize>]) {
    let pool: [&[u8]; 12] = [
        b"alice",
        b"bob",
        b"carol",
        b"dave",
        b"e",
        b"\xff\xfe k",
        b"mallory",
        b"trent",
        b"peggy",
        b"victor",
        b"walter",
        b"c12",
    ];
    for ((_, exchange), client) in requests.iter_mut().zip(clients) {
        exchange
            .request_headers
            .retain(|(name, _)| name != "x-api-key");
        if let Some(key) = client.and_then(|i| pool.get(i)) {
            exchange
                .request_headers
                .push(("x-api-key".to_string(), key.to_vec()));
        }
    }
}

/// Requests at increasing instants: start anywhere in 1970..2100, then steps of up to 3 s.
fn timeline(max: usize) -> impl Strategy<Value = Vec<(u64, Exchange)>> {
    (
        0u64..4_102_444_800_000,
        proptest::collection::vec((0u64..3_000, request()), 1..max),
    )
        .prop_map(|(start, steps)| {
            let mut at = start;
            steps
                .into_iter()
                .map(|(step, exchange)| {
                    at += step;
                    (at, exchange)
                })
                .collect()
        })
}

fn assert_equal(pairs: &[(Outcome, Outcome)]) -> Result<(), TestCaseError> {
    for (i, (lua, wasm)) in pairs.iter().enumerate() {
        if let Some(diff) = diff::side_by_side("Lua (LuaJIT)", lua, "Wasm (wasmtime)", wasm) {
            return Err(TestCaseError::fail(format!("exchange {i} differs\n{diff}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn timestamp_header_matches_lua(
        on_existing in prop_oneof![Just("append"), Just("replace"), Just("keep")],
        format in prop_oneof![Just("%Y-%m-%dT%H:%M:%SZ"), Just("%a, %d %b %Y %H:%M:%S GMT"), Just("%j %U %W %V %G %g %e %k %l %p %c %%")],
        header in prop_oneof![Just("x-request-timestamp"), Just("x-a")],
        requests in timeline(6),
    ) {
        let config = json!({"header": header, "format": format, "on_existing": on_existing});
        assert_equal(&run_both("timestamp-header", &config, &requests))?;
    }

    #[test]
    fn path_logger_matches_lua_except_missing_headers(requests in timeline(5), level in prop_oneof![Just("info"), Just("debug"), Just("critical")]) {
        let config = json!({"level": level, "message": "%REQ(:method)% %REQ(:path)% a=%REQ(x-a)% ua=%REQ(User-Agent)%"});
        let pairs = run_both("path-logger", &config, &requests);
        for ((_, exchange), (lua, wasm)) in requests.iter().zip(&pairs) {
            let missing = [":path", "x-a", "user-agent"].iter().any(|h| joined(&exchange.request_headers, h).is_none());
            if missing {
                // Intentional difference "A missing header renders as -" (path-logger README):
                // the Lua raises and logs a script error; the Wasm logs its line with "-".
                prop_assert_eq!(lua.logs.len(), 1);
                prop_assert_eq!(lua.logs[0].level, Level::Error);
                prop_assert!(String::from_utf8_lossy(&lua.logs[0].message).contains("attempt to concatenate a nil value"));
                let value = |h: &str| joined(&exchange.request_headers, h).unwrap_or_else(|| b"-".to_vec());
                let mut want = value(":method");
                for (text, header) in [(" ", ":path"), (" a=", "x-a"), (" ua=", "user-agent")] {
                    want.extend_from_slice(text.as_bytes());
                    want.extend(value(header));
                }
                prop_assert_eq!(wasm.logs.len(), 1);
                prop_assert_eq!(&wasm.logs[0].message, &want);
                prop_assert_eq!(&lua.upstream_request, &wasm.upstream_request);
                prop_assert_eq!(&lua.response, &wasm.response);
            } else {
                assert_equal(&[(lua.clone(), wasm.clone())])?;
            }
        }
    }

    #[test]
    fn response_decorator_matches_lua(
        ops in proptest::collection::vec(
            (prop_oneof![Just("add"), Just("set"), Just("remove")], header_name(), template_value(Phase::Response))
                .prop_filter("a name the decorator accepts", |(action, name, _)| accepted(action, name)),
            0..6,
        ),
        requests in timeline(3),
    ) {
        let operations: Vec<Value> = ops
            .iter()
            .map(|(action, name, value)| match *action {
                "remove" => json!({"action": action, "name": name}),
                _ => json!({"action": action, "name": name, "value": value}),
            })
            .collect();
        let config = json!({"operations": operations});
        assert_equal(&run_both("response-decorator", &config, &requests))?;
    }

    /// Templates and conditions on random requests: every command a request can render, every
    /// kind of condition with a Lua twin, every action.
    #[test]
    fn request_decorator_matches_lua(
        ops in proptest::collection::vec(
            (
                prop_oneof![Just("add"), Just("set"), Just("set_if_absent"), Just("remove"), Just("remove_prefix")],
                header_name(),
                prop_oneof![
                    Just("%REQ(x-a)%".to_string()),
                    Just("<%REQ(:path)%|%REQ(x-api-key)%>".to_string()),
                    Just("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_ADDRESS%".to_string()),
                    Just("%QUERY_PARAM(a)%;%COOKIE(a)%".to_string()),
                    Just("%START_TIME(%Y%m%d %H:%M:%S)%".to_string()),
                    Just("%REQ(x-none?x-a):3%|%REQ(user-agent):5%|%REQ(x-a?user-agent)%".to_string()),
                    template_value(Phase::Request),
                ],
                prop_oneof![
                    Just(json!([])),
                    Just(json!([{"header": {"name": "x-a", "present": true}}])),
                    Just(json!([{"header": {"name": "x-api-key", "prefix": "a"}}])),
                    Just(json!([{"header": {"name": "user-agent", "lua_pattern": "^[%w%-]+$"}}])),
                    Just(json!([{"path": {"lua_pattern": "^/[^/]*$"}}, {"method": ["GET"]}])),
                    Just(json!([{"path": {"lua_pattern": "%f[%w]a%f[%W]"}}])),
                    Just(json!([{"not": {"path": {"contains": "a"}}}])),
                    Just(json!([{"path": {"suffix": "x"}}])),
                ],
            )
                .prop_filter("a name the decorator accepts", |(action, name, _, _)| accepted(action, name)),
            0..6,
        ),
        requests in timeline(3),
    ) {
        let operations: Vec<Value> = ops
            .iter()
            .map(|(action, name, value, when)| match *action {
                "remove" | "remove_prefix" => json!({"action": action, "name": name, "when": when}),
                _ => json!({"action": action, "name": name, "value": value, "when": when}),
            })
            .collect();
        let config = json!({"operations": operations});
        assert_equal(&run_both("request-decorator", &config, &requests))?;
    }

    /// Random keys, plain and hashed, of every length around SHA-256's padding boundaries:
    /// the Lua's own SHA-256 and the Wasm's agree on which are admitted.
    #[test]
    fn api_key_auth_matches_lua(
        keys in proptest::collection::vec("[!-~]{1,130}", 1..4),
        hashed in any::<bool>(),
        presented in proptest::collection::vec((0usize..5, "[!-~]{0,70}"), 1..4),
    ) {
        use sha2::Digest;
        let hex = |k: &String| sha2::Sha256::digest(k.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let config = if hashed {
            json!({"allowed_key_hashes": keys.iter().map(hex).collect::<Vec<_>>(), "allowed_keys": []})
        } else {
            json!({"allowed_keys": keys})
        };
        let requests: Vec<(u64, Exchange)> = presented
            .iter()
            .map(|(pick, other)| {
                let key = keys.get(*pick).cloned().unwrap_or_else(|| other.clone());
                let mut exchange = Exchange::get("a.test", "/");
                exchange.request_headers.push(("x-api-key".into(), key.into_bytes()));
                (0, exchange)
            })
            .collect();
        assert_equal(&run_both("api-key-auth", &config, &requests))?;
    }

    #[test]
    fn local_ratelimit_worker_scope_matches_lua(
        max_tokens in 1u32..6,
        tokens_per_fill in 1u32..6,
        fill_interval_ms in prop_oneof![Just(50u64), Just(1_000), Just(1_500), Just(10_000), Just(60_000)],
        keyed in any::<bool>(),
        max_client_keys in 1u32..10,
        clients in proptest::collection::vec(proptest::option::of(0usize..7), 24),
        requests in timeline(24),
    ) {
        let mut requests = requests;
        let mut config = json!({
            "scope": "worker",
            "token_bucket": {"max_tokens": max_tokens, "tokens_per_fill": tokens_per_fill, "fill_interval": format!("{fill_interval_ms}ms")},
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            "response_headers_to_add": [{"header": {"key": "x-limited", "value": "1"}}],
        });
        if keyed {
            config["client_key"] = json!({"request_header": "x-api-key"});
            config["max_client_keys"] = json!(max_client_keys);
            with_clients(&mut requests, &clients);
        }
        assert_equal(&run_both("local-ratelimit", &config, &requests))?;
    }

    /// The client table past its bound: slow buckets (1 or 2 tokens an hour), so an evicted
    /// client is visibly admitted again; requests milliseconds apart, so the fullest bucket
    /// depends on who came when (and half the time on the tie rule: several in one millisecond);
    /// 1 to 3 sets, so a key's set must be the one the Wasm picks; 12 clients for 2 to 12 places.
    #[test]
    fn local_ratelimit_client_table_matches_lua(
        max_tokens in 1u32..3,
        max_client_keys in 2u32..10,
        clients in proptest::collection::vec(proptest::option::of(0usize..12), 40),
        steps in proptest::collection::vec(prop_oneof![Just(0u64), 0u64..50], 40),
        start in 1_700_000_000_000u64..1_900_000_000_000,
    ) {
        let config = json!({
            "scope": "worker",
            "token_bucket": {"max_tokens": max_tokens, "tokens_per_fill": max_tokens, "fill_interval": "3600s"},
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            "client_key": {"request_header": "x-api-key"},
            "max_client_keys": max_client_keys,
        });
        let mut at = start;
        let mut requests: Vec<(u64, Exchange)> = steps
            .iter()
            .map(|step| {
                at += step;
                (at, Exchange::get("moonshift.test", "/"))
            })
            .collect();
        with_clients(&mut requests, &clients);
        assert_equal(&run_both("local-ratelimit", &config, &requests))?;
    }
}
