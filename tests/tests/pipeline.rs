//! The pipeline in a real Envoy: the same filters as a chain of plugins and as one `pipeline`
//! plugin must do exactly the same to every request, local replies included (request phase in
//! order, response phase in reverse, a local reply passing back only through the filters up to
//! the one that sent it).

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::runner::filter_logs;
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};

/// Everything a client, the upstream and the log show of one request, with the clock's
/// second masked (the two Envoys run one after the other).
fn observe(envoy: &Envoy, upstream: &Upstream, request: &Request) -> Vec<String> {
    let log_before = envoy.log_bytes().len();
    let seen_before = upstream.received().len();
    let response = envoy.send(request);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mask = |value: &str| match value.len() == 20 && value.ends_with('Z') {
        true => "<timestamp>".to_string(),
        false => value.to_string(),
    };
    let mut seen = vec![format!("status {}", response.status)];
    for (name, value) in &response.headers {
        if !matches!(
            name.as_str(),
            "date" | "x-envoy-upstream-service-time" | "server"
        ) {
            seen.push(format!(
                "response {name}: {}",
                mask(&String::from_utf8_lossy(value))
            ));
        }
    }
    seen.push(format!("body {}", String::from_utf8_lossy(&response.body)));
    for received in upstream.received().iter().skip(seen_before) {
        for (name, value) in &received.headers {
            if name.starts_with("x-") && name != "x-request-id" && name != "x-forwarded-proto" {
                seen.push(format!(
                    "upstream {name}: {}",
                    mask(&String::from_utf8_lossy(value))
                ));
            }
        }
    }
    let log = envoy.log_bytes();
    for line in filter_logs(log.get(log_before..).unwrap_or_default()) {
        seen.push(format!(
            "log {:?} {}",
            line.level,
            String::from_utf8_lossy(&line.message)
        ));
    }
    seen
}

/// Plays `requests` through `filters` chained as plugins and as one pipeline plugin; what each
/// request showed.
fn chain_and_pipeline_agree(
    label: &str,
    filters: &[(&str, Value)],
    requests: &[Request],
) -> Vec<Vec<String>> {
    let upstream = Upstream::start();
    // Plugins sharing a VM need distinct names (moonshift-kit tells them apart by name and
    // root_id), as Istio's `<namespace>.<name>` are.
    let chain: Vec<Value> = filters
        .iter()
        .enumerate()
        .map(|(i, (name, config))| {
            let mut entry = envoy::bundle_filter(name, "moonshift", Some(&config.to_string()));
            entry["typed_config"]["config"]["name"] = json!(format!("chain-{i}.{name}"));
            entry
        })
        .collect();
    let members: Vec<Value> = filters
        .iter()
        .map(|(name, config)| json!({"filter": name, "config": config}))
        .collect();
    let pipeline = envoy::bundle_filter(
        "pipeline",
        "moonshift",
        Some(&json!({"filters": members}).to_string()),
    );
    let play = |entries: &[Value], which: &str| -> Vec<Vec<String>> {
        let envoy = Envoy::start(&format!("pipeline-{which}"), entries, upstream.port, 1);
        requests
            .iter()
            .map(|r| observe(&envoy, &upstream, r))
            .collect()
    };
    let chained = play(&chain, "chain");
    let piped = play(std::slice::from_ref(&pipeline), "one");
    for (i, (a, b)) in chained.iter().zip(&piped).enumerate() {
        assert_eq!(
            a, b,
            "{label}: request {i}: chain of plugins (left) vs one pipeline plugin (right)"
        );
    }
    println!(
        "{label}: {} requests, identical: {:#?}",
        requests.len(),
        piped
    );
    piped
}

#[test]
fn the_seeds_three_filters() {
    let _ = chain_and_pipeline_agree(
        "seed",
        &[
            ("path-logger", json!({})),
            ("timestamp-header", json!({})),
            ("response-decorator", json!({})),
        ],
        &[
            Request::get("/"),
            Request::get("/orders/42?x=1").header("x-request-timestamp", "client"),
        ],
    );
}

#[test]
fn a_local_reply_passes_back_through_the_filters_before_it_only() {
    let decorate = |value: &str| json!({"operations": [{"action": "add", "name": "x-seen-by", "value": value}]});
    let _ = chain_and_pipeline_agree(
        "local reply",
        &[
            ("response-decorator", decorate("first")),
            (
                "local-ratelimit",
                json!({"token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
                       "enable_x_ratelimit_headers": "DRAFT_VERSION_03"}),
            ),
            ("timestamp-header", json!({})),
            ("path-logger", json!({"message": "reached %REQ(:path)%"})),
            ("response-decorator", decorate("last")),
        ],
        &[
            Request::get("/one"),
            Request::get("/two"),
            Request::get("/three"),
        ],
    );
}

/// A whole script's worth of behaviour in one plugin: strip and set request headers, answer a
/// health check and a redirect locally, decorate every response (the local replies included,
/// since the decorator comes before the filter that answers).
#[test]
fn request_rules_local_replies_and_decoration_in_one_plugin() {
    let _ = chain_and_pipeline_agree(
        "script",
        &[
            (
                "response-decorator",
                json!({"operations": [
                    {"action": "set_if_absent", "name": "x-content-type-options", "value": "nosniff"},
                    {"action": "add", "name": "x-served", "value": "%RESPONSE_CODE%"}
                ]}),
            ),
            (
                "request-decorator",
                json!({"operations": [
                    {"action": "remove_prefix", "name": "x-internal-"},
                    {"action": "set", "name": "x-client-ip", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}
                ]}),
            ),
            (
                "local-reply",
                json!({"rules": [
                    {"when": [{"path": {"exact": "/healthz"}}], "status": 200, "body": "ok"},
                    {"when": [{"path": {"lua_pattern": "^/old/"}}], "status": 302,
                     "headers": [{"name": "location", "value": "/new%REQ(:path)%"}]}
                ]}),
            ),
            (
                "path-logger",
                json!({"message": "reached %REQ(:path)% from %REQ(x-client-ip)%"}),
            ),
        ],
        &[
            Request::get("/healthz"),
            Request::get("/old/a?b=1").header("x-internal-user", "admin"),
            Request::get("/api").header("x-internal-user", "admin"),
        ],
    );
}

/// Response headers for some paths only (issue 10): response-decorator's conditions on the
/// request's path and method, which need a module entered for the request too. Chained as
/// plugins of the bundle and as one pipeline, with a local reply before and after it: a reply
/// from a filter after the decorator is still decorated by path, one from before is not seen.
#[test]
fn response_headers_for_some_paths_as_a_chain_and_as_one_pipeline() {
    let _ = chain_and_pipeline_agree(
        "paths",
        &[
            (
                "local-reply",
                json!({"rules": [{"when": [{"path": {"exact": "/early"}}], "status": 403, "body": "no"}]}),
            ),
            (
                "response-decorator",
                json!({"operations": [
                    {"action": "set", "name": "cache-control", "value": "no-store",
                     "when": [{"path": {"lua_pattern": "^/api/"}}]},
                    {"action": "add", "name": "x-write", "value": "%RESPONSE_CODE%",
                     "when": [{"method": ["POST"]}]}
                ]}),
            ),
            (
                "local-reply",
                json!({"rules": [{"when": [{"path": {"prefix": "/api/late"}}], "status": 401, "body": "who"}]}),
            ),
        ],
        &[
            Request::get("/api/users"),
            Request::get("/static/app.js"),
            Request {
                method: "POST".into(),
                ..Request::get("/api/orders")
            },
            Request::get("/api/late"),
            Request::get("/early"),
        ],
    );
}

/// Members that read what the members before them changed: in one pipeline plugin the kit keeps
/// the request's map, read once, true across each member's additions and removals
/// (`moonshift_kit::seen`); as a chain each plugin reads Envoy's map afresh. The first member
/// changes headers before anything is read (added to a name the client sent, replaced, removed);
/// the second reads them into a header, removes a prefix's names and reads again within its own
/// VM entry; api-key-auth finds a key the first added and adds `x-validated` to the kept map,
/// which local-reply's condition and path-logger's line read after it.
#[test]
fn members_read_what_the_members_before_them_changed() {
    let seen = chain_and_pipeline_agree(
        "changes seen",
        &[
            (
                "request-decorator",
                json!({"operations": [
                    {"action": "add", "name": "x-a", "value": "first"},
                    {"action": "remove", "name": "x-b"},
                    {"action": "add", "name": "X-C", "value": "c1"},
                    {"action": "set", "name": "x-d", "value": "d1"},
                    {"action": "add", "name": "x-key", "value": "k1"}
                ]}),
            ),
            (
                "request-decorator",
                json!({"operations": [
                    {"action": "add", "name": "x-e", "value": "%REQ(x-internal-user)%"},
                    {"action": "remove_prefix", "name": "x-internal-"},
                    {"action": "set", "name": "x-seen", "value": "%REQ(x-a)%|%REQ(x-b)%|%REQ(x-c)%|%REQ(x-d)%|%REQ(:path)%|%REQ(x-internal-user)%|%REQ(x-e)%"}
                ]}),
            ),
            (
                "api-key-auth",
                json!({"api_key_header": "x-key", "allowed_keys": ["k1"], "powered_by": ""}),
            ),
            (
                "local-reply",
                json!({"rules": [{"when": [{"header": {"name": "x-validated", "present": false}}], "status": 418, "body": "unseen"}]}),
            ),
            (
                "path-logger",
                json!({"message": "a=%REQ(x-a)% v=%REQ(x-validated)% internal=%REQ(x-internal-user)% key=%REQ(x-key)%"}),
            ),
        ],
        &[
            Request::get("/one"),
            Request::get("/two")
                .header("x-a", "client")
                .header("x-b", "gone")
                .header("x-c", "c0")
                .header("x-d", "d0")
                .header("x-internal-user", "admin")
                .header("x-validated", "forged"),
            Request::get("/three").header("x-key", "wrong"),
            // Removed from the kept map by the second member, then read by the last one.
            Request::get("/four")
                .header("x-internal-user", "admin")
                .header("x-internal-role", "root"),
        ],
    );
    // What Envoy's map held when each was read: the same in a chain, where a member's own
    // changes are read back within one VM entry too.
    let want: [&[&str]; 4] = [
        &[
            "upstream x-seen: first||c1|d1|/one||",
            "log Info a=first v=true internal=- key=k1",
        ],
        &[
            "upstream x-seen: client,first||c0,c1|d1|/two||admin",
            "log Info a=client,first v=true internal=- key=k1",
        ],
        &["status 401", "log Warn api-key-auth: unknown API key"],
        &[
            "upstream x-e: admin",
            "upstream x-seen: first||c1|d1|/four||admin",
            "log Info a=first v=true internal=- key=k1",
        ],
    ];
    for (i, (lines, want)) in seen.iter().zip(want).enumerate() {
        for line in want {
            assert!(
                lines.iter().any(|l| l == line),
                "request {i}: no {line:?} in {lines:#?}"
            );
        }
    }
}
