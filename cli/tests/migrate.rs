//! `moonshift migrate` on real-looking EnvoyFilters: the ones it converts (their plugin config,
//! their manifests validated against Istio's CRDs, the compare verdicts) and the ones it must
//! refuse (their reports asserted).

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::{assert_all_same, config, manifests_validate, moonshift, out_dir};

fn migrate(fixture: &str) -> (i32, String, std::path::PathBuf) {
    let out = out_dir(fixture);
    let file = match fixture {
        // The seed's EnvoyFilter is the repository's example (`make demo` migrates it).
        "seed" => "examples/istio/seed-envoyfilter.yaml".to_string(),
        _ => format!("cli/tests/envoyfilters/{fixture}.yaml"),
    };
    let (code, output) = moonshift(&["migrate", &file, "--out", out.to_str().unwrap()]);
    (code, output, out)
}

#[test]
fn the_seeds_script_becomes_one_pipeline_plugin_and_compares_equal() {
    let (code, output, out) = migrate("seed");
    assert_eq!(code, 0, "{output}");
    let want = json!({"filters": [
        {"filter": "response-decorator", "config": {"operations": [{"action": "add", "name": "x-lua-processed", "value": "true"}]}},
        {"filter": "path-logger", "config": {"level": "info", "message": "Request path: %REQ(:path)%"}},
        {"filter": "request-decorator", "config": {"operations": [{"action": "add", "name": "x-request-timestamp", "value": "%START_TIME(%Y-%m-%dT%H:%M:%SZ)%"}]}}
    ]});
    assert_eq!(config(&out), want);
    // The copy the benchmarks count the seed's pipeline with (moonshift-bench --costs).
    let example =
        moonshift_tests::paths::workspace_root().join("examples/istio/seed-pipeline.json");
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&example).unwrap()).unwrap(),
        want,
        "{} is not what migrate makes of the seed",
        example.display()
    );
    // GET, POST, and the methods a gate would treat apart: OPTIONS, HEAD.
    assert!(
        output.contains("4 of 4 requests behave the same"),
        "{output}"
    );
    manifests_validate(&out);
    let plugin = std::fs::read_to_string(out.join("wasmplugin.yaml")).unwrap();
    for line in [
        "namespace: istio-system",
        "app: my-app",
        "mode: SERVER",
        "pluginName: pipeline",
        // No registry given: a placeholder no cluster pulls, and the command says so.
        "url: \"oci://registry.invalid/push-the-images-first/moonshift-bundle:",
    ] {
        assert!(plugin.contains(line), "{line} missing from\n{plugin}");
    }
    // spec.sha256 is the bundle image's manifest digest, bare hex, as the CRD takes it.
    let sha = plugin
        .lines()
        .find_map(|l| l.trim().strip_prefix("sha256: "))
        // The YAML writer quotes a digest that YAML 1.1 could read as a number or a date.
        .map(|sha| sha.trim_matches('"'))
        .expect("sha256");
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
}

#[test]
fn headers_conditions_and_replies_convert_and_compare_equal() {
    let (code, output, out) = migrate("security-headers");
    assert_eq!(code, 0, "{output}");
    let generated = config(&out);
    let filters: Vec<&str> = generated["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filter"].as_str().unwrap())
        .collect();
    assert_eq!(
        filters,
        ["response-decorator", "request-decorator", "local-reply"]
    );
    let rules = &generated["filters"][2]["config"]["rules"];
    assert_eq!(
        rules[0]["when"],
        // `headers:get(":path")` is the whole path, query included: a header test on `:path`.
        json!([{"header": {"name": "authorization", "present": false}}, {"header": {"name": ":path", "lua_pattern": "^/admin"}}])
    );
    assert_eq!(rules[1]["status"], 302);
    assert!(
        output.contains("requests behave the same") && !output.contains("DIFFERS"),
        "{output}"
    );
    manifests_validate(&out);
    let plugin = std::fs::read_to_string(out.join("wasmplugin.yaml")).unwrap();
    assert!(
        plugin.contains("namespace: shop") && plugin.contains("tier: front"),
        "{plugin}"
    );
}

#[test]
fn path_and_authority_rewrites_convert_as_deliberate_rewrites_and_compare_equal() {
    let (code, output, out) = migrate("path-rewrite");
    assert_eq!(code, 0, "{output}");
    let when = json!([{"header": {"name": "x-api-version", "exact": "1"}}]);
    assert_eq!(
        config(&out)["filters"],
        json!([{"filter": "request-decorator", "config": {"operations": [
            {"action": "set", "name": ":authority", "rewrite": true, "value": "legacy.internal", "when": when},
            {"action": "set", "name": ":path", "rewrite": true, "value": "/v1%REQ(:path)%", "when": when},
        ]}}])
    );
    assert!(
        output.contains("requests behave the same") && !output.contains("DIFFERS"),
        "{output}"
    );
    manifests_validate(&out);
}

/// Issue 22 (c): a script that raises when the route lacks the metadata key it reads is not
/// converted as if every route had it: `"team=" .. nil` raises in Lua, the plugin would render
/// `team=`. With a default (`or ""`) it converts, and the compare runs on a route with the key
/// and on one without.
#[test]
fn a_route_metadata_read_without_a_default_is_refused_and_with_one_compares_on_routes_without_it() {
    let (code, output, out) = migrate("route-team");
    assert_eq!(code, 1, "{output}");
    assert!(!out.join("pipeline-config.json").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| 5:3 |") && report.contains("which is nil on a route without `team`"),
        "{report}"
    );
    let (code, output, out) = migrate("route-team-default");
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        config(&out)["filters"],
        json!([{"filter": "request-decorator", "config": {"operations": [
            {"action": "set", "name": "x-owner-team", "value": "team=%METADATA(ROUTE:envoy.filters.http.lua:team)%"},
        ]}}])
    );
    assert!(
        output.contains("same     GET / (route without metadata)"),
        "{output}"
    );
    manifests_validate(&out);
}

/// `a or b` of two header reads is Envoy's `%REQ(a?b)%`; when both may be missing the Lua
/// passes nil to `replace` (it raises), so the script is refused with the line and the guard to
/// write, not converted into a plugin that sets an empty header.
#[test]
fn a_header_or_another_that_can_be_nil_is_refused_with_the_guard_to_write() {
    let (code, output, out) = migrate("client-ip");
    assert_eq!(code, 1, "{output}");
    assert!(!out.join("pipeline-config.json").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("which raises in Lua when x-forwarded-for is absent")
            && report.contains("guard it with the header's presence"),
        "{report}"
    );
}

/// Without user-agent the Lua raises at line 3 and stops; the plugin would stop there too, but
/// its later log line's guard (user-agent present) tests a header line 4 replaces, which the
/// plugin would see replaced: refused, and the exit status says so.
#[test]
fn an_unguarded_header_read_is_refused_and_the_exit_status_says_so() {
    let (code, output, _) = migrate("outbound-user-agent");
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("the Lua raises here")
            && output.contains("it tests or reads user-agent, which line 4 changed before"),
        "{output}"
    );
    // Guarded as the report advises, the same script converts and compares equal.
    let (code, output, out) = migrate("outbound-user-agent-guarded");
    assert_eq!(code, 0, "{output}");
    assert!(std::fs::read_to_string(out.join("wasmplugin.yaml"))
        .unwrap()
        .contains("mode: CLIENT"));
}

#[test]
fn a_script_with_no_equivalent_is_refused_with_a_report_and_no_config() {
    let (code, output, out) = migrate("refused-stateful");
    assert_eq!(code, 1, "{output}");
    assert!(
        !out.join("pipeline-config.json").exists(),
        "a partial config was written"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for line in [
        "**Not converted: 4 statement(s).**",
        "| 4:3 | `count = count + 1` | assigns the module-level `count`, which keeps its value between requests",
        "| 6:5 | `request_handle:logInfo(name)` | a header name from pairs() as a value",
        "| 8:3 | `local body = request_handle:body()` |",
        "Envoy's ext_proc",
        "| 9:3 | `request_handle:httpCall(",
        "Envoy's ext_authz",
    ] {
        assert!(report.contains(line), "{line:?} missing from\n{report}");
    }
}

#[test]
fn files_without_one_script_are_refused_with_a_reason() {
    let out = out_dir("no-lua");
    std::fs::create_dir_all(&out).unwrap();
    let empty = out.join("empty.yaml");
    std::fs::write(
        &empty,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let (code, output) = moonshift(&[
        "migrate",
        empty.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("no Lua filter found"), "{output}");
}

/// `if / elseif / else`: each arm under its own condition and the negation of every earlier
/// one; in the response phase too, where the compared upstream replies carry the header the
/// script tests.
#[test]
fn if_elseif_else_becomes_negated_conditions_and_compares_equal() {
    let (code, output, out) = migrate("tenant-tier");
    assert_eq!(code, 0, "{output}");
    let tenant = json!({"header": {"name": "x-tenant", "exact": "internal"}});
    let key = json!({"header": {"name": "x-api-key", "present": true}});
    let cache = json!({"header": {"name": "x-cache", "present": true}});
    let op = |action: &str, name: &str, value: Option<&str>, when: Value| {
        let mut op = json!({"action": action, "name": name, "when": when});
        if let Some(value) = value {
            op["value"] = json!(value);
        }
        op
    };
    assert_eq!(
        config(&out),
        json!({"filters": [
            {"filter": "response-decorator", "config": {"operations": [
                op("add", "x-served-by", Some("cache"), json!([cache])),
                op("add", "x-served-by", Some("origin"), json!([{"header": {"name": "x-cache", "present": false}}])),
            ]}},
            {"filter": "request-decorator", "config": {"operations": [
                op("add", "x-tier", Some("gold"), json!([tenant])),
                op("add", "x-tier", Some("silver"), json!([{"not": tenant}, key])),
                op("remove", "x-debug", None, json!([{"not": tenant}, key])),
                op("add", "x-tier", Some("bronze"), json!([{"not": tenant}, {"header": {"name": "x-api-key", "present": false}}])),
            ]}},
        ]})
    );
    assert!(
        output.contains("same     GET / (upstream replies x-cache: moonshift)"),
        "{output}"
    );
    assert_all_same(&output);
    manifests_validate(&out);
}

/// An `else` after a test of several conditions is their negation, written as disjoint cases;
/// an arm that changes a header a later operation's condition tests is refused (the Lua tests
/// once, the operations as they run).
#[test]
fn an_else_of_several_tests_converts_and_a_change_of_a_tested_header_is_refused() {
    let dir = out_dir("migrate-else");
    let several = support::write(&dir, "several.lua", "function envoy_on_request(h)\n  if h:headers():get(\"x-a\") and h:headers():get(\"x-b\") then\n    h:headers():add(\"x-both\", \"1\")\n  else\n    h:headers():add(\"x-both\", \"0\")\n  end\nend\n");
    let out = dir.join("several");
    let (code, output) = moonshift(&["migrate", &several, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}");
    let ops = config(&out)["filters"][0]["config"]["operations"].clone();
    let a = json!({"header": {"name": "x-a", "present": true}});
    let b = json!({"header": {"name": "x-b", "present": true}});
    assert_eq!(ops[0]["when"], json!([a, b]));
    assert_eq!(
        ops[1]["when"],
        json!([{"header": {"name": "x-a", "present": false}}])
    );
    assert_eq!(
        ops[2]["when"],
        json!([a, {"header": {"name": "x-b", "present": false}}])
    );
    assert_all_same(&output);
    let changes = support::write(&dir, "changes.lua", "function envoy_on_request(h)\n  if h:headers():get(\"x-a\") then\n    h:headers():remove(\"x-a\")\n  else\n    h:headers():add(\"x-a\", \"1\")\n  end\nend\n");
    let out = dir.join("changes");
    let (code, output) = moonshift(&["migrate", &changes, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{output}");
    assert!(!out.join("pipeline-config.json").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| 5:5 | `h:headers():add(\"x-a\", \"1\")` | it tests or reads x-a, which line 3 changed before"),
        "{report}"
    );
}

/// `--envoy`: the script as Envoy's Lua filter runs it and the plugin, in two real Envoys, on
/// a route carrying the metadata the script reads (route-team reads `metadata():get("team")`).
#[test]
fn migrate_envoy_compares_in_real_envoys_with_the_route_metadata() {
    let out = out_dir("route-team-envoy");
    let (code, output) = moonshift(&[
        "migrate",
        "cli/tests/envoyfilters/route-team-default.yaml",
        "--out",
        out.to_str().unwrap(),
        "--envoy",
    ]);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("same     GET / (in Envoy)"), "{output}");
    assert!(
        output.contains("same     GET / (in Envoy) (route without metadata)"),
        "{output}"
    );
    assert_all_same(&output);
    let lua = std::fs::read_to_string(out.join("original.lua")).unwrap();
    assert!(lua.contains("metadata()"), "{lua}");
}

/// The script the benchmark's "string work" case counts (`bench/string-work.lua`: a capture, a
/// substitution, a metadata test) converts, equal on every request, into the pipeline the
/// benchmark counts against it (`bench/string-work.json`).
#[test]
fn the_benchmarks_string_work_is_what_migrate_makes_of_its_script() {
    let root = moonshift_tests::paths::workspace_root();
    let out = out_dir("bench-string-work");
    let script = root.join("bench/string-work.lua");
    let (code, output) = moonshift(&[
        "migrate",
        script.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    assert_all_same(&output);
    let counted = root.join("bench/string-work.json");
    assert_eq!(
        config(&out),
        serde_json::from_str::<Value>(&std::fs::read_to_string(&counted).unwrap()).unwrap(),
        "{} is not what migrate makes of bench/string-work.lua",
        counted.display()
    );
}

/// Where the script raises, the plugin logs the line the Lua logs there, learned from the Lua
/// in-process; this holds only if the in-process Lua says what Envoy's says. Three raises: a
/// capture used untested (`replace`'s argument nil: Envoy's `luaL_checkstring` message), a
/// header absent under a string function (LuaJIT's own message), a log of an absent header
/// (no argument at all).
/// Compared in two real Envoys, every line equal.
#[test]
fn where_the_script_raises_the_plugin_logs_what_envoy_logs() {
    let dir = out_dir("raises-in-envoy");
    let script = support::write(
        &dir,
        "raises.lua",
        "function envoy_on_request(h)\n  local cert = h:headers():get(\"x-client-cert\")\n  if cert then\n    h:headers():replace(\"x-sa\", cert:match(\"sa/([^;]+)\"))\n  end\n  local env = h:headers():get(\"x-env\")\n  h:headers():add(\"x-env-lower\", env:lower())\n  h:logInfo(h:headers():get(\"x-user\"))\nend\n",
    );
    let out = dir.join("out");
    let (code, output) = moonshift(&[
        "migrate",
        &script,
        "--out",
        out.to_str().unwrap(),
        "--envoy",
    ]);
    assert_eq!(code, 0, "{output}");
    assert_all_same(&output);
    assert!(output.contains("(in Envoy)"), "{output}");
    let config = std::fs::read_to_string(out.join("pipeline-config.json")).unwrap();
    for line in [
        r#"]:4: bad argument #2 to 'replace' (string expected, got nil)"#,
        r#"]:7: attempt to index local 'env' (a nil value)"#,
        // `get` of an absent header returns no value at all (docs/envoy.md §1).
        r#"]:8: bad argument #1 to 'logInfo' (string expected, got no value)"#,
    ] {
        assert!(config.contains(line), "{line} in {config}");
    }
}
