//! `make demo`: every filter in a real Envoy, once as its Lua reference and once as its Wasm
//! module, the same requests through both, and a table of what each did.

use moonshift_harness::exchange::{show_bytes, Header, Outcome};
use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::runner::{
    canonical, lua_reply_unordered, reconcile_reset, ClockRule, Protocol, ENVOY_REQUEST_HEADERS,
    ENVOY_RESPONSE_HEADERS,
};
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};

struct Demo {
    filter: &'static str,
    what: &'static str,
    config: Option<Value>,
    requests: Vec<(&'static str, Request)>,
}

fn demos() -> Vec<Demo> {
    vec![
        Demo {
            filter: "timestamp-header",
            what: r#"request_handle:headers():add("x-request-timestamp", os.date("!%Y-%m-%dT%H:%M:%SZ"))"#,
            config: None,
            requests: vec![
                ("GET /", Request::get("/")),
                (
                    "GET / (x-request-timestamp: client)",
                    Request::get("/").header("x-request-timestamp", "client"),
                ),
            ],
        },
        Demo {
            filter: "path-logger",
            what: r#"request_handle:logInfo("Request path: " .. path)"#,
            config: None,
            requests: vec![(
                "GET /orders/42?expand=items",
                Request::get("/orders/42?expand=items"),
            )],
        },
        Demo {
            filter: "local-ratelimit",
            what: "a token bucket: 2 tokens, 2 per 60 s, x-ratelimit-* headers",
            config: Some(
                json!({"token_bucket": {"max_tokens": 2, "tokens_per_fill": 2, "fill_interval": "60s"}, "enable_x_ratelimit_headers": "DRAFT_VERSION_03"}),
            ),
            requests: vec![
                ("GET / (1st)", Request::get("/")),
                ("GET / (2nd)", Request::get("/")),
                ("GET / (3rd)", Request::get("/")),
            ],
        },
        Demo {
            filter: "response-decorator",
            what: r#"response_handle:headers():add("x-lua-processed", "true")"#,
            config: None,
            requests: vec![("GET /", Request::get("/"))],
        },
    ]
}

/// What the filter changed, as short lines: headers the upstream got that the client did not
/// send, the status, response headers the upstream did not send, the body of a local reply, and
/// the filter's log lines.
fn effect(request: &Request, outcome: &Outcome) -> Vec<String> {
    let sent: Vec<&Header> = request.headers.iter().collect();
    let mut lines = Vec::new();
    match &outcome.upstream_request {
        Some(headers) => {
            for header in headers {
                if !sent.contains(&header) && !ENVOY_REQUEST_HEADERS.contains(&header.0.as_str()) {
                    lines.push(format!(
                        "upstream got {}: {}",
                        header.0,
                        show_bytes(&header.1)
                    ));
                }
            }
        }
        None => lines.push("upstream not reached".into()),
    }
    lines.push(format!("client got {}", outcome.response.status));
    for (name, value) in &outcome.response.headers {
        if name != "x-upstream" && !ENVOY_RESPONSE_HEADERS.contains(&name.as_str()) {
            lines.push(format!("  {name}: {}", show_bytes(value)));
        }
    }
    if let Some(body) = &outcome.response.body {
        lines.push(format!("  body {:?}", show_bytes(body)));
    }
    for log in &outcome.logs {
        lines.push(format!("log {log}"));
    }
    lines
}

fn play(demo: &Demo, entry: Value, upstream: &Upstream, label: &str) -> Vec<(Outcome, (u64, u64))> {
    let envoy = Envoy::start(label, &[entry], upstream.port, 1);
    demo.requests
        .iter()
        .map(|(_, request)| {
            let seen = upstream.received().len();
            let log_before = envoy.log_bytes().len();
            let before = now();
            let response = envoy.send(request);
            let upstream_request = upstream.received().get(seen).map(|r| r.headers.clone());
            let logs = moonshift_tests::runner::filter_logs(&envoy.log_bytes()[log_before..]);
            let outcome = Outcome {
                response: moonshift_harness::exchange::Response {
                    status: response.status,
                    headers: response.headers,
                    body: upstream_request.is_none().then_some(response.body),
                },
                upstream_request,
                logs,
            };
            (outcome, (before, now()))
        })
        .collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn cell(text: &str, width: usize) -> String {
    let mut out: String = text.chars().take(width).collect();
    let len = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width - len));
    out
}

/// The seed's whole script as `moonshift migrate` converted it (`--pipeline-config FILE`, the
/// `pipeline-config.json` migrate wrote): the Lua against the one pipeline plugin.
fn migrated(args: &[String]) -> Option<Demo> {
    let path = args
        .iter()
        .position(|a| a == "--pipeline-config")
        .and_then(|i| args.get(i + 1))?;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    Some(Demo {
        filter: "pipeline",
        what: "the seed's whole EnvoyFilter, as `moonshift migrate` converted it: one plugin",
        config: Some(config),
        requests: vec![
            ("GET /", Request::get("/")),
            (
                "POST /orders/42?expand=items",
                Request {
                    method: "POST".into(),
                    ..Request::get("/orders/42?expand=items")
                },
            ),
        ],
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let upstream = Upstream::start();
    let (mut identical, mut total) = (0, 0);
    for demo in migrated(&args).into_iter().chain(demos()) {
        let dir = moonshift_tests::envoy::scratch_dir("demo-lua");
        let lua_entry = moonshift_tests::runner::filter_entry(
            demo.filter,
            demo.config.as_ref(),
            moonshift_tests::runner::Flavour::Lua,
            &dir,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let wasm_entry = envoy::wasm_filter(
            demo.filter,
            demo.config.as_ref().map(Value::to_string).as_deref(),
        );
        let lua = play(
            &demo,
            lua_entry,
            &upstream,
            &format!("demo-{}-lua", demo.filter),
        );
        let wasm = play(
            &demo,
            wasm_entry,
            &upstream,
            &format!("demo-{}-wasm", demo.filter),
        );
        println!("\n== {} ==  replaces  {}", demo.filter, demo.what);
        println!(
            "  {}  {}  {}  verdict",
            cell("request", 36),
            cell("Envoy + Lua", 48),
            cell("Envoy + Wasm", 48),
        );
        // The timestamps the plugin writes, from its configuration (as compare does).
        let rule = ClockRule::for_config(demo.filter, demo.config.as_ref());
        for (((title, request), (lua_out, lua_window)), (wasm_out, wasm_window)) in
            demo.requests.iter().zip(&lua).zip(&wasm)
        {
            let a = lua_reply_unordered(&canonical(lua_out, &rule, *lua_window, Protocol::Http1));
            let mut b =
                lua_reply_unordered(&canonical(wasm_out, &rule, *wasm_window, Protocol::Http1));
            reconcile_reset(&a, &mut b);
            let verdict = if a == b { "identical" } else { "DIFFERENT" };
            total += 1;
            identical += usize::from(a == b);
            let (left, right) = (effect(request, lua_out), effect(request, wasm_out));
            for i in 0..left.len().max(right.len()) {
                let first = i == 0;
                println!(
                    "  {}  {}  {}  {}",
                    cell(if first { title } else { "" }, 36),
                    cell(left.get(i).map_or("", String::as_str), 48),
                    cell(right.get(i).map_or("", String::as_str), 48),
                    if first { verdict } else { "" }
                );
            }
        }
    }
    println!("\n{identical} of {total} exchanges identical. Envoy's own headers (x-request-id, date, ...) are left out;");
    println!("a timestamp counts as identical when it is the second each request was in flight.");
    println!(
        "Configs and logs of these Envoys: target/envoy-tests/demo-*/. The full suite: make test."
    );
    if identical != total {
        std::process::exit(1);
    }
}
