//! Issue 22: the wrong conversions, each now converted correctly or refused, and the
//! evaluation's constructs, each compared in-process (and in Envoy where it matters).

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::{moonshift, out_dir};

fn run(name: &str, file: &str, extra: &[&str]) -> (i32, String, std::path::PathBuf) {
    let out = out_dir(name);
    let mut args = vec!["migrate", file, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, output) = moonshift(&args);
    (code, output, out)
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(out: &std::path::Path) -> Value {
    serde_json::from_str(&read(&out.join("pipeline-config.json"))).unwrap()
}

/// 22 (a): `if method == "OPTIONS" then return end` before a 401 gate guards the gate and
/// every later effect with its negation; OPTIONS gets 200 from both, in real Envoys too. The
/// gate makes the manifests fail closed, and the report says why.
#[test]
fn an_early_return_before_a_gate_guards_everything_after_it_in_envoy_too() {
    let (code, output, out) = run(
        "cors-gate",
        "cli/tests/envoyfilters/cors-gate.yaml",
        &["--envoy"],
    );
    assert_eq!(code, 0, "{output}");
    let not_options = json!({"not": {"method": ["OPTIONS"]}});
    let filters = config(&out)["filters"].clone();
    assert_eq!(
        filters[0]["config"]["rules"][0]["when"],
        json!([not_options, {"header": {"name": "authorization", "present": false}}])
    );
    assert_eq!(
        filters[1]["config"]["operations"][0]["when"],
        json!([not_options, {"header": {"name": "authorization", "present": true}}])
    );
    assert!(output.contains("same     OPTIONS / (in Envoy)"), "{output}");
    assert!(!output.contains("DIFFERS"), "{output}");
    let plugin = read(&out.join("wasmplugin.yaml"));
    assert!(plugin.contains("failStrategy: FAIL_CLOSE"), "{plugin}");
    let report = read(&out.join("report.md"));
    assert!(
        report.contains("## Fail strategy: FAIL_CLOSE") && report.contains("answers 401"),
        "{report}"
    );
    // Every request's verdict is in the report.
    assert!(
        report.contains("| same | `OPTIONS /` |")
            && report.contains("| same | `OPTIONS / (in Envoy)` |"),
        "{report}"
    );
    let (code, output, out) = run(
        "cors-gate-open",
        "cli/tests/envoyfilters/cors-gate.yaml",
        &["--fail-strategy", "FAIL_OPEN"],
    );
    assert_eq!(code, 0, "{output}");
    assert!(read(&out.join("wasmplugin.yaml")).contains("failStrategy: FAIL_OPEN"));
}

/// A difference puts the manifests under rejected/ (nothing deployable in the out folder) and
/// the exit status is 1. Here a real one: Envoy answers a path with a fragment with 400
/// before any filter; the Lua's envoy_on_response still runs on that reply, no Wasm module
/// sees it (docs/envoy.md §7).
#[test]
fn a_difference_rejects_the_manifests() {
    let dir = out_dir("rejected-requests");
    let requests = support::write(&dir, "r.jsonl", "{\"path\": \"/a#b\"}\n");
    let (code, output, out) = run(
        "rejected",
        "cli/tests/corpus/01-response-api-version.yaml",
        &["--requests", &requests, "--envoy"],
    );
    assert_eq!(code, 1, "{output}");
    assert!(!out.join("wasmplugin.yaml").exists() && !out.join("pipeline-config.json").exists());
    assert!(
        out.join("rejected/wasmplugin.yaml").exists()
            && out.join("rejected/pipeline-config.json").exists()
    );
    let report = read(&out.join("report.md"));
    assert!(
        report.contains("**Verdict: differs.**")
            && report.contains("| DIFFERS | `GET /a#b (in Envoy)` |")
            && report.contains("### DIFFERS: GET /a#b (in Envoy)"),
        "{report}"
    );
}

/// 22 (b): LuaPerRoute is never ignored: each route that changes the script is named.
#[test]
fn per_route_lua_is_refused_by_route_name() {
    let (code, output, out) = run("per-route", "cli/tests/envoyfilters/per-route.yaml", &[]);
    assert_eq!(code, 1, "{output}");
    assert!(!out.join("pipeline-config.json").exists());
    let report = read(&out.join("report.md"));
    for line in [
        "route `legacy` (match prefix /legacy) runs its own inline `source_code` in place of the default",
        "route `health` (match path /healthz) disables the Lua filter",
    ] {
        assert!(report.contains(line), "{line:?} missing from\n{report}");
    }
}

/// 22 (d): `kubectl get -o yaml` (kind: List) and a multi-document file keep the
/// EnvoyFilter's name, namespace and selector.
#[test]
fn a_list_and_a_multi_document_file_keep_name_namespace_and_selector() {
    let one = read(&support::root().join("cli/tests/envoyfilters/cors-gate.yaml"));
    let dir = out_dir("lists");
    let item: String = one
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
        .collect();
    let list = format!("apiVersion: v1\nkind: List\nitems:\n{item}");
    let multi = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: other, namespace: elsewhere}}\n---\n{one}");
    for (name, text) in [("list.yaml", list), ("multi.yaml", multi)] {
        let file = support::write(&dir, name, &text);
        let (code, output, out) = run(&format!("lists-{name}"), &file, &["--no-compare"]);
        assert_eq!(code, 0, "{name}: {output}");
        let plugin = read(&out.join("wasmplugin.yaml"));
        for line in [
            "name: orders-auth-moonshift",
            "namespace: shop",
            "app: orders",
        ] {
            assert!(
                plugin.contains(line),
                "{name}: {line} missing from\n{plugin}"
            );
        }
    }
}

/// `--no-compare` writes the configuration with the verdict "unverified", never "converted";
/// `--json` prints the same result for CI.
#[test]
fn no_compare_is_unverified_and_json_says_the_same() {
    let (code, output, out) = run(
        "unverified",
        "cli/tests/envoyfilters/cors-gate.yaml",
        &["--no-compare", "--json"],
    );
    assert_eq!(code, 0, "{output}");
    let result: Value =
        serde_json::from_str(output.trim()).unwrap_or_else(|e| panic!("{e}: {output}"));
    assert_eq!(result["verdict"], "unverified");
    assert_eq!(result["requests"], 0);
    let report = read(&out.join("report.md"));
    assert!(
        report.contains("**Verdict: unverified.**") && !report.contains("converted."),
        "{report}"
    );
    let (code, output, _) = run("json", "cli/tests/envoyfilters/cors-gate.yaml", &["--json"]);
    assert_eq!(code, 0, "{output}");
    let result: Value = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(result["verdict"], "converted");
    assert_eq!(result["same"], result["requests"]);
    assert!(
        result["branches"]["exercised"].as_u64().unwrap() >= 2,
        "{result}"
    );
}

/// The constructs teams write (issue 22's list): local constants, a local function helper
/// that replies, early return, `get == nil then add` (set_if_absent), a names-collecting
/// `pairs(headers)` loop (remove_prefix), `sub(1, 5)` as a prefix test, `method == "GET" or
/// method == "DELETE"` as one method list, `path:find("#")`.
#[test]
fn the_constructs_teams_write_convert_and_compare_equal() {
    let (code, output, out) = run("constructs", "cli/tests/envoyfilters/constructs.lua", &[]);
    assert_eq!(code, 0, "{output}");
    let text = config(&out).to_string();
    for piece in [
        r#"{"action":"set_if_absent","name":"x-request-id","value":"generated","when":[{"not":{"method":["OPTIONS"]}}]}"#,
        r#"{"action":"remove_prefix","name":"x-internal-","when":[{"not":{"method":["OPTIONS"]}}]}"#,
        r#"{"header":{"name":":path","prefix":"/old/"}}"#,
        r#"{"method":["GET","DELETE"]}"#,
        r##"{"header":{"name":":path","lua_pattern":"#"}}"##,
        r#"Bearer realm=\"orders\""#,
    ] {
        assert!(text.contains(piece), "{piece} missing from {text}");
    }
    assert!(!output.contains("DIFFERS"), "{output}");
    let report = read(&out.join("report.md"));
    assert!(report.contains("branches exercised"), "{report}");
}

/// `string.format` with `%s` (and `%%`) is a template; a constant one is a constant.
#[test]
fn string_format_with_s_becomes_a_template() {
    let dir = out_dir("format");
    let file = support::write(&dir, "fmt.lua", "local PREFIX = \"svc\"\nfunction envoy_on_request(h)\n  local host = h:headers():get(\":authority\")\n  h:headers():replace(\"x-route\", string.format(\"%s/%s\", PREFIX, host))\n  h:headers():replace(\"x-pct\", (\"100%% %s\"):format(\"done\"))\nend\n");
    let (code, output, out) = run("format-out", &file, &[]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        config(&out)["filters"][0]["config"]["operations"],
        json!([
            {"action": "set", "name": "x-route", "value": "svc/%REQ(:authority)%"},
            {"action": "set", "name": "x-pct", "value": "100% done"},
        ])
    );
    assert!(!output.contains("DIFFERS"), "{output}");
}

/// A header removed inside `pairs(headers)` raises in Envoy; a body that logs once per header
/// would log once in the plugin: both are refused with the line.
#[test]
fn removing_while_iterating_and_per_header_effects_are_refused() {
    let dir = out_dir("iterating");
    let cases = [
        ("strip.lua", "function envoy_on_request(h)\n  for name, _ in pairs(h:headers()) do\n    if name:sub(1, 11) == \"x-internal-\" then\n      h:headers():remove(name)\n    end\n  end\nend\n", "| 4:7 | `h:headers():remove(name)` | a header removed inside `pairs(headers)`"),
        ("log.lua", "function envoy_on_request(h)\n  for name, _ in pairs(h:headers()) do\n    h:logInfo(\"seen\")\n  end\nend\n", "| 2:3 | `for name, _ in pairs(h:headers()) do h:logInfo(\"seen\") end` | a loop body that logs, replies or changes headers once per header name"),
    ];
    for (name, lua, want) in cases {
        let file = support::write(&dir, name, lua);
        let (code, output, out) = run(&format!("iterating-{name}"), &file, &[]);
        assert_eq!(code, 1, "{name}: {output}");
        let report = read(&out.join("report.md"));
        assert!(
            report.contains(want),
            "{name}: {want:?} missing from\n{report}"
        );
    }
}

/// Issue 21.11 and 21.15: what it cannot convert is reported as such, never as a bug: 1,000
/// nested blocks (no stack overflow), an empty envoy_on_request, an 8 KiB literal.
#[test]
fn hostile_scripts_are_refused_with_a_reason() {
    let dir = out_dir("hostile");
    let deep = format!(
        "function envoy_on_request(h)\n{}{}end\n",
        "if h then\n".repeat(1000),
        "end\n".repeat(1000)
    );
    let big = format!(
        "function envoy_on_request(h)\n  h:headers():add(\"x-big\", \"{}\")\nend\n",
        "a".repeat(9000)
    );
    let cases = [
        (
            "deep.lua",
            deep,
            "nests blocks and brackets more than 200 deep",
        ),
        (
            "empty.lua",
            "function envoy_on_request(h)\nend\n".to_string(),
            "the script does nothing a plugin would do",
        ),
        ("big.lua", big, "a literal of 9000 bytes"),
        (
            "many.yaml",
            many_patches(17),
            "filters must hold 1 to 16 filters, got 17",
        ),
    ];
    for (name, text, why) in cases {
        let file = support::write(&dir, name, &text);
        let (code, output, out) = run(&format!("hostile-{name}"), &file, &[]);
        assert_eq!(code, 1, "{name}: {output}");
        let report = read(&out.join("report.md"));
        assert!(
            report.contains(why) && !report.contains("Moonshift bug"),
            "{name}: {report}"
        );
    }
}

/// An EnvoyFilter with `n` Lua patches, each INSERT_BEFORE the router, each logging.
fn many_patches(n: usize) -> String {
    let mut out = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: many, namespace: shop}\nspec:\n  configPatches:\n".to_string();
    for i in 0..n {
        out.push_str(&format!("  - applyTo: HTTP_FILTER\n    match: {{context: SIDECAR_INBOUND, listener: {{filterChain: {{filter: {{name: envoy.filters.network.http_connection_manager, subFilter: {{name: envoy.filters.http.router}}}}}}}}}}\n    patch:\n      operation: INSERT_BEFORE\n      value:\n        name: envoy.filters.http.lua\n        typed_config:\n          \"@type\": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua\n          inline_code: |\n            function envoy_on_request(h) h:logInfo(\"script {i}\") end\n"));
    }
    out
}

/// Issue 21.12: a script that never ends does not hang the compare: the harness bounds each
/// call, and the bound shows as a difference.
#[test]
fn a_script_that_loops_forever_is_a_difference_not_a_hang() {
    let (code, output) = support::compare_a_script_that_never_returns("loops", &[]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("DIFFERS")
            && output.contains("moonshift-harness: the script ran more than"),
        "{output}"
    );
}
