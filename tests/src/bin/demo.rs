//! `make demo`: every filter in a real Envoy, once as its Lua reference and once as its Wasm
//! module, the same requests through both, and a table of what each did.

use moonshift_envoy::envoy::{self, Envoy};
use moonshift_envoy::http::Request;
use moonshift_envoy::runner::{
    self, canonical, lua_reply_unordered, reconcile_reset, ClockRule, Flavour, Protocol,
    ENVOY_REQUEST_HEADERS, ENVOY_RESPONSE_HEADERS,
};
use moonshift_envoy::upstream::Upstream;
use moonshift_harness::exchange::{show_bytes, Header, Outcome};
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

type Played = Vec<(Outcome, (u64, u64))>;

fn play(demo: &Demo, entry: Value, upstream: &Upstream, label: &str) -> Result<Played, String> {
    let envoy = Envoy::try_start(label, &[entry], upstream.port, 1).map_err(|f| f.to_string())?;
    demo.requests
        .iter()
        .map(|(title, request)| {
            let seen = upstream.received().len();
            let log_before = envoy.log_bytes().len();
            let before = now();
            let response = request
                .send(envoy.port)
                .map_err(|e| format!("{title}: {e}\n{}", envoy.log_tail()))?;
            let upstream_request = upstream.received().get(seen).map(|r| r.headers.clone());
            let log = envoy.log_bytes();
            let logs = runner::filter_logs(log.get(log_before..).unwrap_or_default());
            let outcome = Outcome {
                response: moonshift_harness::exchange::Response {
                    status: response.status,
                    headers: response.headers,
                    body: upstream_request.is_none().then_some(response.body),
                },
                upstream_request,
                logs,
            };
            Ok((outcome, (before, now())))
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
fn migrated(args: &[String]) -> Result<Option<Demo>, String> {
    let Some(path) = args
        .iter()
        .position(|a| a == "--pipeline-config")
        .and_then(|i| args.get(i + 1))
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(Some(Demo {
        filter: "pipeline",
        what: "the seed's whole EnvoyFilter, as `moonshift migrate` converted it: one plugin",
        config: Some(config),
        requests: vec![
            ("GET /", Request::get("/")),
            (
                "POST /orders/42?expand=items",
                Request::get("/orders/42?expand=items").method("POST"),
            ),
        ],
    }))
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(why) => {
            eprintln!("demo: {why}");
            std::process::exit(2);
        }
    }
}

/// Plays every demo; whether every exchange was identical.
fn run() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let upstream = Upstream::try_start().map_err(|e| format!("cannot start the upstream: {e}"))?;
    let (mut identical, mut total) = (0, 0);
    for demo in migrated(&args)?.into_iter().chain(demos()) {
        let dir = envoy::try_scratch_dir("demo-lua").map_err(|e| e.to_string())?;
        let lua_entry =
            runner::filter_entry(demo.filter, demo.config.as_ref(), Flavour::Lua, &dir)?;
        let wasm_entry =
            runner::filter_entry(demo.filter, demo.config.as_ref(), Flavour::Wasm, &dir)?;
        let lua = play(
            &demo,
            lua_entry,
            &upstream,
            &format!("demo-{}-lua", demo.filter),
        )?;
        let wasm = play(
            &demo,
            wasm_entry,
            &upstream,
            &format!("demo-{}-wasm", demo.filter),
        )?;
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
    Ok(identical == total)
}
