//! `moonshift compare` on a module Moonshift did not write (`cli/tests/foreign-filter`, raw
//! proxy-wasm ABI, built here), and `moonshift validate` giving the module's own messages.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;
use support::{moonshift, out_dir, root, write};

/// Builds the foreign module with the pinned toolchain; its path.
fn foreign_module() -> std::path::PathBuf {
    let target = root().join("target/foreign-filter");
    let status = Command::new("cargo")
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(root().join("cli/tests/foreign-filter"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the foreign module builds");
    target.join("wasm32-wasip1/release/foreign_filter.wasm")
}

/// What the foreign module does, in Lua.
const SAME_LUA: &str = "function envoy_on_request(h)\n  h:headers():add(\"x-foreign\", \"yes\")\nend\nfunction envoy_on_response(h)\n  h:headers():add(\"x-foreign-response\", h:headers():get(\":status\"))\nend\n";

#[test]
fn a_foreign_module_compares_equal_to_its_lua_and_a_wrong_lua_does_not() {
    let module = foreign_module();
    let dir = out_dir("compare-foreign");
    let requests = write(
        &dir,
        "requests.jsonl",
        "# one request per line\n{\"path\": \"/a\"}\n{\"method\": \"POST\", \"path\": \"/b?x=1\", \"headers\": [[\"x-a\", \"1\"]]}\n{\"path\": \"/c\", \"upstream\": {\"status\": 503}}\n",
    );
    let lua = write(&dir, "same.lua", SAME_LUA);
    let wasm = module.to_string_lossy().into_owned();
    let (code, output) = moonshift(&[
        "compare",
        "--lua",
        &lua,
        "--wasm",
        &wasm,
        "--requests",
        &requests,
    ]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("3 of 3 requests behave the same"),
        "{output}"
    );

    let wrong = write(
        &dir,
        "wrong.lua",
        "function envoy_on_request(h)\n  h:headers():add(\"x-foreign\", \"no\")\nend\n",
    );
    let (code, output) = moonshift(&[
        "compare",
        "--lua",
        &wrong,
        "--wasm",
        &wasm,
        "--requests",
        &requests,
        "--json",
    ]);
    assert_eq!(code, 1, "{output}");
    let report: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(report["same"], 0);
    assert_eq!(report["requests"], 3);
    assert!(
        report["verdicts"][0]["difference"]
            .as_str()
            .unwrap()
            .contains("x-foreign"),
        "{report}"
    );
}

/// `--envoy`: the same requests in two real Envoys, one with the Lua file, one with the module;
/// equal for the foreign module and its Lua, and a difference only Envoy shows is caught.
#[test]
fn compare_in_envoy_plays_the_lua_and_the_module_in_real_envoys() {
    let module = foreign_module();
    let wasm = module.to_string_lossy().into_owned();
    let dir = out_dir("compare-envoy");
    let requests = write(
        &dir,
        "requests.jsonl",
        "{\"path\": \"/a\"}\n{\"method\": \"POST\", \"path\": \"/b\", \"upstream\": {\"status\": 503}}\n",
    );
    let lua = write(&dir, "same.lua", SAME_LUA);
    let args = [
        "compare",
        "--lua",
        &lua,
        "--wasm",
        &wasm,
        "--requests",
        &requests,
        "--envoy",
    ];
    let (code, output) = moonshift(&args);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("4 of 4 requests behave the same"),
        "{output}"
    );
    assert!(output.contains("same     POST /b (in Envoy)"), "{output}");
    // Envoy's Lua reads the upstream's reply as it arrived; a script that adds a header only when
    // the upstream sent `server` differs in Envoy (whose upstream sends one) from the module.
    let envoy_only = write(
        &dir,
        "envoy-only.lua",
        &format!(
            "{}  if h:headers():get(\"x-envoy-upstream-service-time\") then h:headers():add(\"x-seen\", \"1\") end\nend\n",
            SAME_LUA.strip_suffix("end\n").unwrap()
        ),
    );
    let args = [
        "compare",
        "--lua",
        &envoy_only,
        "--wasm",
        &wasm,
        "--requests",
        &requests,
        "--envoy",
        "--json",
    ];
    let (code, output) = moonshift(&args);
    assert_eq!(code, 1, "{output}");
    let report: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(
        (report["same"].as_u64(), report["requests"].as_u64()),
        (Some(2), Some(4)),
        "{report}"
    );
    let in_envoy = report["verdicts"][2]["difference"]
        .as_str()
        .unwrap_or_default();
    assert!(in_envoy.contains("x-seen"), "{report}");
}

/// Every filter's deployed configuration, and a pipeline of all of them, are valid offline
/// (local-ratelimit once refused here: it asked the absent host to define its counters).
#[test]
fn validate_accepts_every_deployed_configuration() {
    let dir = out_dir("validate-deployed");
    let mut members = Vec::new();
    for filter in moonshift_harness::artifacts::FILTERS.iter() {
        let config = moonshift_tests::envoy::deployed_config(filter);
        let path = write(&dir, &format!("{filter}.json"), &config);
        let (code, output) = moonshift(&["validate", filter, &path]);
        assert_eq!(
            (code, output.trim()),
            (0, format!("{filter}: the configuration is valid").as_str()),
            "{filter}"
        );
        members.push(format!(r#"{{"filter": "{filter}", "config": {config}}}"#));
    }
    let pipeline = write(
        &dir,
        "pipeline.json",
        &format!(r#"{{"filters": [{}]}}"#, members.join(", ")),
    );
    let (code, output) = moonshift(&["validate", "pipeline", &pipeline]);
    assert_eq!(
        (code, output.trim()),
        (0, "pipeline: the configuration is valid")
    );
    let (code, output) = moonshift(&["validate", "no-such-filter", &pipeline]);
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("no filter is named \"no-such-filter\""),
        "{output}"
    );
}

#[test]
fn validate_prints_what_the_module_logs() {
    let dir = out_dir("validate");
    let cases = [
        ("local-reply", "rules:\n- status: 302\n", "local-reply: invalid configuration: rules[0].headers must hold a location header: status 302 is a redirect"),
        ("api-key-auth", "{}", "api-key-auth: invalid configuration: allowed_keys, allowed_key_hashes or keys must hold at least one key: an auth filter must not start open"),
        ("pipeline", "filters:\n- filter: path-logger\n  config: {level: loud}\n", "moonshift-bundle: invalid configuration: filters[0] (path-logger): level: unknown variant `loud`"),
    ];
    for (i, (filter, config, want)) in cases.iter().enumerate() {
        let path = write(&dir, &format!("{i}.yaml"), config);
        let (code, output) = moonshift(&["validate", filter, &path]);
        assert_eq!(code, 1, "{output}");
        assert!(output.starts_with(want), "{filter}: {output}");
    }
    let good = write(
        &dir,
        "good.json",
        r#"{"api_key_header": "x-api-key", "allowed_keys": ["key-123"]}"#,
    );
    let (code, output) = moonshift(&["validate", "api-key-auth", &good]);
    assert_eq!(
        (code, output.trim()),
        (0, "api-key-auth: the configuration is valid")
    );
    // A condition on the request's path in the response phase: refused by response-decorator's
    // own module (entered only for the response), accepted in a pipeline of the bundle.
    let by_path = r#"{"operations": [{"action": "set", "name": "cache-control", "value": "no-store", "when": [{"path": {"prefix": "/api/"}}]}]}"#;
    let own = write(&dir, "by-path.json", by_path);
    let (code, output) = moonshift(&["validate", "response-decorator", &own]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.starts_with("response-decorator: invalid configuration: operations[0].when[0].path reads the request, which a module entered only for the response cannot see: use the bundle module"),
        "{output}"
    );
    let piped = write(
        &dir,
        "by-path-pipeline.json",
        &format!(r#"{{"filters": [{{"filter": "response-decorator", "config": {by_path}}}]}}"#),
    );
    let (code, output) = moonshift(&["validate", "pipeline", &piped]);
    assert_eq!(
        (code, output.trim()),
        (0, "pipeline: the configuration is valid")
    );
}

/// What the foreign module and then request-decorator do, as one Lua script: the second plugin
/// reads the header the first one added, and the route's metadata.
const CHAIN_LUA: &str = r#"function envoy_on_request(h)
  h:headers():add("x-foreign", "yes")
  h:headers():add("x-order", "after " .. (h:headers():get("x-foreign") or ""))
  h:headers():add("x-team", h:metadata():get("team") or "none")
end
function envoy_on_response(h)
  h:headers():add("x-foreign-response", h:headers():get(":status"))
end
"#;

/// `--chain`: a module Moonshift did not write and one of Moonshift's, two plugins in one
/// filter chain, against the one Lua script that does what both do, on a route with metadata
/// (`--route-metadata`); in-process and in real Envoys. The metadata reaches both sides (a
/// side without it writes "none" or "", never "payments"). In the other order the second
/// plugin no longer sees the first one's header, and compare says so.
#[test]
fn compare_a_chain_of_modules_on_a_route_with_metadata() {
    let foreign = foreign_module();
    let decorator = moonshift_harness::artifacts::wasm_module("request-decorator");
    let dir = out_dir("compare-chain");
    let decorate = serde_json::json!({"operations": [
        {"action": "add", "name": "x-order", "value": "after %REQ(x-foreign)%"},
        {"action": "add", "name": "x-team", "value": "%METADATA(ROUTE:envoy.filters.http.lua:team)%"},
    ]});
    let chain = |first: serde_json::Value, second: serde_json::Value| {
        serde_json::to_string(&serde_json::json!([first, second])).unwrap()
    };
    let foreign_plugin = serde_json::json!({"wasm": foreign});
    let decorator_plugin =
        serde_json::json!({"wasm": decorator, "root_id": "request-decorator", "config": decorate});
    let in_order = write(
        &dir,
        "chain.json",
        &chain(foreign_plugin.clone(), decorator_plugin.clone()),
    );
    let reversed = write(
        &dir,
        "reversed.json",
        &chain(decorator_plugin, foreign_plugin),
    );
    let metadata = write(
        &dir,
        "route-metadata.yaml",
        "envoy.filters.http.lua:\n  team: payments\n",
    );
    let requests = write(
        &dir,
        "requests.jsonl",
        "{\"path\": \"/a\"}\n{\"method\": \"POST\", \"path\": \"/b\", \"upstream\": {\"status\": 503}}\n",
    );
    let lua = write(&dir, "chain.lua", CHAIN_LUA);
    let args = |chain: &str, envoy: bool| {
        let mut args = vec![
            "compare",
            "--lua",
            &lua,
            "--route-metadata",
            &metadata,
            "--requests",
            &requests,
            "--json",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        args.extend(["--chain".to_string(), chain.to_string()]);
        if envoy {
            args.push("--envoy".into());
        }
        args
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, output) = moonshift(&refs);
        let report: serde_json::Value =
            serde_json::from_str(output.trim()).unwrap_or_else(|e| panic!("{e}: {output}"));
        (code, report)
    };

    let (code, report) = run(args(&in_order, true));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        (report["same"].as_u64(), report["requests"].as_u64()),
        (Some(4), Some(4)),
        "{report:#}"
    );

    let (code, report) = run(args(&reversed, false));
    assert_eq!(code, 1, "{report:#}");
    let difference = report["verdicts"][0]["difference"]
        .as_str()
        .unwrap_or_default();
    assert!(difference.contains("x-order"), "{report:#}");
}

/// Issue 21.12, in Envoy: a script that never returns holds its worker; the request gets no
/// answer within the client's timeout, which `compare --envoy` reports as a difference (status
/// 0, and why), exit 1, instead of failing the command.
#[test]
fn a_script_that_never_returns_in_envoy_is_a_difference() {
    let (code, output) =
        support::compare_a_script_that_never_returns("compare-loop-envoy", &["--envoy"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("DIFFERS  GET / (in Envoy)")
            && output.contains("no response within the client's timeout"),
        "{output}"
    );
}

/// `--envoy` compares the request line the upstream got: a plugin that rewrites `:path` or
/// `:authority` where the Lua does not is a difference in Envoy too (it once compared the
/// upstream's headers without them, and said "same").
#[test]
fn compare_in_envoy_sees_a_rewritten_request_line() {
    let dir = out_dir("compare-envoy-request-line");
    let wasm = root().join("target/filters/request-decorator.wasm");
    let wasm = wasm.to_string_lossy().into_owned();
    let requests = write(&dir, "requests.jsonl", "{\"path\": \"/a\"}\n");
    let lua = write(&dir, "noop.lua", "function envoy_on_request(h)\nend\n");
    for (name, value) in [
        (":path", "/other%REQ(:path)%"),
        (":authority", "elsewhere.test"),
    ] {
        let config = write(
            &dir,
            "config.json",
            &serde_json::json!({"operations": [{"action": "set", "name": name, "value": value, "rewrite": true}]})
                .to_string(),
        );
        let args = [
            "compare",
            "--lua",
            &lua,
            "--wasm",
            &wasm,
            "--config",
            &config,
            "--requests",
            &requests,
            "--envoy",
            "--json",
        ];
        let (code, output) = moonshift(&args);
        assert_eq!(code, 1, "{output}");
        let report: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
        assert_eq!(report["same"].as_u64(), Some(0), "{name}: {report}");
        let in_envoy = report["verdicts"][1]["difference"]
            .as_str()
            .unwrap_or_default();
        assert!(in_envoy.contains(name), "{name}: {report}");
    }
}
