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
use support::{moonshift, out_dir};

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

fn config(out: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("pipeline-config.json")).unwrap())
        .unwrap()
}

fn manifests_validate(out: &std::path::Path) {
    for name in [
        "wasmplugin.yaml",
        "trafficextension.yaml",
        "trafficextension-lua.yaml",
    ] {
        for (doc, errors) in moonshift_tests::crd::validate_file(&out.join(name)).unwrap() {
            assert!(errors.is_empty(), "{name} document {doc}: {errors:?}");
        }
    }
}

#[test]
fn the_seeds_script_becomes_one_pipeline_plugin_and_compares_equal() {
    let (code, output, out) = migrate("seed");
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        config(&out),
        json!({"filters": [
            {"filter": "response-decorator", "config": {"operations": [{"action": "add", "name": "x-lua-processed", "value": "true"}]}},
            {"filter": "path-logger", "config": {"level": "info", "message": "Request path: %REQ(:path)%"}},
            {"filter": "request-decorator", "config": {"operations": [{"action": "add", "name": "x-request-timestamp", "value": "%START_TIME(%Y-%m-%dT%H:%M:%SZ)%"}]}}
        ]})
    );
    assert!(
        output.contains("2 of 2 requests behave the same"),
        "{output}"
    );
    manifests_validate(&out);
    let plugin = std::fs::read_to_string(out.join("wasmplugin.yaml")).unwrap();
    for line in [
        "namespace: istio-system",
        "app: my-app",
        "mode: SERVER",
        "pluginName: pipeline",
        "url: oci://ghcr.io/moonshift/moonshift-bundle:",
    ] {
        assert!(plugin.contains(line), "{line} missing from\n{plugin}");
    }
    // spec.sha256 is the bundle image's manifest digest, bare hex, as the CRD takes it.
    let sha = plugin
        .lines()
        .find_map(|l| l.trim().strip_prefix("sha256: "))
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
        json!([{"header": {"name": "authorization", "present": false}}, {"path": {"lua_pattern": "^/admin"}}])
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
fn an_unguarded_header_read_is_shown_to_differ_and_the_exit_status_says_so() {
    let (code, output, _) = migrate("outbound-user-agent");
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("raises in Lua when user-agent is absent"),
        "{output}"
    );
    assert!(output.contains("DIFFERS  GET /"), "{output}");
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
        "**Not converted: 6 statement(s).**",
        "| 1:1 | `local count = 0` | code outside envoy_on_request and envoy_on_response",
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
