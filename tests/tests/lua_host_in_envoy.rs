//! The harness's Lua host says what Envoy's Lua filter says when a script calls a handle method
//! wrongly: an argument of the wrong type or none (`getAtIndex`, `getNumValues`, `respond`, ...),
//! a `:status` out of range. `migrate` learns the line a raising script logs from this host
//! (`cli/src/migrate/raises.rs`), so each line must be Envoy's own, byte for byte.
//! One script, one case a request (`x-case`), played in Envoy 1.40 and in-process.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::clock::Clock;
use moonshift_harness::diff;
use moonshift_harness::lua::LuaChain;
use moonshift_harness::scenario::ExchangeSpec;
use moonshift_tests::envoy;
use moonshift_tests::runner::{self, canonical, ClockRule, Protocol};

/// Each case: what it calls, as one line of `envoy_on_request(h)`.
const CASES: &[&str] = &[
    r#"h:headers():getAtIndex("x-a")"#,
    r#"h:headers():getAtIndex(nil, 0)"#,
    r#"h:headers():getAtIndex("x-a", "first")"#,
    r#"h:logInfo(h:headers():getAtIndex("x-a", "0"))"#,
    r#"h:logInfo(h:headers():getAtIndex(12, 0) or "none")"#,
    r#"h:headers():getNumValues()"#,
    r#"h:logInfo(tostring(h:headers():getNumValues(42)))"#,
    r#"h:headers():getNumValues({})"#,
    r#"h:respond(nil, "no")"#,
    r#"h:respond("403", "no")"#,
    r#"h:respond({[":status"] = "403"}, {})"#,
    r#"h:respond({[":status"] = "403"}, 42)"#,
    r#"h:respond({[":status"] = "700"}, "no")"#,
    r#"h:respond({[":status"] = "forbidden"})"#,
    r#"h:respond({["x-a"] = "1"})"#,
    r#"h:headers():add("x-b")"#,
    r#"h:headers():remove(true)"#,
    r#"h:logInfo(nil)"#,
];

/// Each case of `envoy_on_response(h)`: the response body (`body()`, which yields until the
/// body is in, and the header map taken before it, which is then out of scope).
const RESPONSE_CASES: &[&str] = &[
    r#"local m = h:headers() local b = h:body() m:add("x-after", "1")"#,
    r#"local b = h:body() h:headers():add("x-length", tostring(b:length()))"#,
    r#"h:logInfo(h:body():getBytes(0, 8))"#,
    r#"h:body():getBytes(4, 99)"#,
    r#"h:logInfo(tostring(h:body():setBytes("replaced")))"#,
    r#"h:body():setBytes(42)"#,
    // Not played: `setBytes({})`. Envoy drains the body before it checks the argument, then
    // raises, so the client gets the old content-length and no body: a response no client
    // reads (docs/envoy.md §1). The harness drains first as well.
];

/// One script: `function` runs the case its request names in `x-case`.
fn script(function: &str, cases: &[&str]) -> String {
    let mut lua = String::from("local case\n");
    if function == "envoy_on_response" {
        lua.push_str("function envoy_on_request(h) case = h:headers():get(\"x-case\") end\n");
    }
    lua.push_str(&format!("function {function}(h)\n"));
    if function == "envoy_on_request" {
        lua.push_str("  case = h:headers():get(\"x-case\")\n");
    }
    for (i, call) in cases.iter().enumerate() {
        lua.push_str(&format!("  if case == \"{i}\" then\n    {call}\n  end\n"));
    }
    lua.push_str("end\n");
    lua
}

fn request(case: usize) -> ExchangeSpec {
    serde_json::from_value(serde_json::json!({
        "headers": [["x-a", "1"], ["x-case", case.to_string()]],
    }))
    .unwrap()
}

#[test]
fn handle_methods_called_wrongly_log_what_envoys_lua_filter_logs() {
    play_cases("lua-host-in-envoy", "envoy_on_request", CASES);
}

#[test]
fn the_response_body_and_the_scope_of_objects_across_its_yield_are_envoys() {
    play_cases("lua-body-in-envoy", "envoy_on_response", RESPONSE_CASES);
}

/// Plays each case in Envoy and in the harness's Lua host; they must show the same.
fn play_cases(label: &str, function: &str, cases: &[&str]) {
    let source = script(function, cases);
    let dir = envoy::scratch_dir(label);
    let path = dir.join("cases.lua");
    std::fs::write(&path, &source).unwrap();
    let requests: Vec<ExchangeSpec> = (0..cases.len()).map(request).collect();
    let played = runner::play_entries(
        label,
        vec![envoy::lua_filter_at(&path)],
        &requests,
        &Default::default(),
        Protocol::Http1,
    )
    .unwrap();
    let clock = Clock::at_millis(0);
    let mut chain = LuaChain::start(&[source.as_str()], &clock).unwrap();
    let rule = ClockRule::default();
    let mut failures = Vec::new();
    for (i, (spec, in_envoy)) in requests.iter().zip(&played.outcomes).enumerate() {
        let (envoy_outcome, window) = in_envoy.as_ref().expect("a GET is sendable");
        let in_process = chain.exchange(&spec.exchange());
        let envoy_side =
            runner::lua_reply_unordered(&canonical(envoy_outcome, &rule, *window, Protocol::Http1));
        let harness_side =
            runner::lua_reply_unordered(&canonical(&in_process, &rule, *window, Protocol::Http1));
        // Every case shows something: an error line, the value it printed, a reply, a header
        // or a body.
        assert!(
            !envoy_side.logs.is_empty()
                || envoy_side.upstream_request.is_none()
                || envoy_side.response.body.is_some()
                || envoy_side
                    .response
                    .headers
                    .iter()
                    .any(|(k, _)| k.starts_with("x-length")),
            "case {i} ({}) showed nothing in Envoy",
            cases[i]
        );
        if let Some(d) = diff::side_by_side("Envoy + Lua", &envoy_side, "harness", &harness_side) {
            let said: Vec<String> = envoy_side.logs.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "case {i}: {}\n{d}\nEnvoy logged, in full: {said:#?}",
                cases[i]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A Lua filter typed with Envoy's retired v2 API is refused by Envoy's config validation, so
/// `moonshift migrate` refuses such a filter as one that cannot be running
/// (`cli/src/migrate/source.rs`).
#[test]
fn envoy_refuses_the_v2_lua_type() {
    let dir = envoy::scratch_dir("lua-v2-type");
    let mut config = envoy::bootstrap(
        envoy::free_port(),
        envoy::free_port(),
        envoy::free_port(),
        &[serde_json::json!({
            "name": "envoy.lua",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.config.filter.http.lua.v2.Lua",
                "inline_code": "function envoy_on_request(h) end",
            },
        })],
    );
    let path = dir.join("envoy.json");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let validate = |path: &std::path::Path| {
        std::process::Command::new(moonshift_tests::paths::envoy_bin())
            .args(["--mode", "validate", "-c"])
            .arg(path)
            .output()
            .unwrap()
    };
    let out = validate(&path);
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains(
            "could not find @type 'type.googleapis.com/envoy.config.filter.http.lua.v2.Lua'"
        ),
        "{log}"
    );
    // The same filter typed v3 is taken: the refusal is the type's.
    let filter = config
        .pointer_mut("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config/@type")
        .unwrap();
    *filter = serde_json::json!("type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = validate(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
