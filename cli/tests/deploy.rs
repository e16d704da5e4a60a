//! `moonshift deploy`: manifests for a filter and for a pipeline, placed where asked, valid
//! against Istio's CRD schemas, with the image's real digest and a configuration checked first.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::{moonshift, out_dir, write};

fn manifest(out: &std::path::Path, name: &str) -> Value {
    let path = out.join(name);
    for (doc, errors) in moonshift_tests::crd::validate_file(&path).unwrap() {
        assert!(errors.is_empty(), "{name} document {doc}: {errors:?}");
    }
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn digest_of(module: &str) -> String {
    let root = moonshift_harness::artifacts::workspace_root();
    moonshift_oci::built(&root, module, env!("CARGO_PKG_VERSION"))
        .unwrap()
        .digest()
        .trim_start_matches("sha256:")
        .to_string()
}

#[test]
fn a_filter_deployed_where_asked_with_its_own_facts_and_digest() {
    let out = out_dir("deploy-filter");
    let config = write(
        &out,
        "config.yaml",
        "operations:\n- {action: set, name: x-team, value: payments}\n",
    );
    let (code, output) = moonshift(&[
        "deploy",
        "request-decorator",
        "--namespace",
        "payments",
        "--selector",
        "app=checkout",
        "--selector",
        "tier=web",
        "--mode",
        "CLIENT",
        "--config",
        &config,
        "--image-prefix",
        "registry.example.com/platform",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    let sha = digest_of("request-decorator");
    assert!(output.contains(&format!("spec.sha256: {sha}")), "{output}");
    let plugin = manifest(&out, "wasmplugin.yaml");
    assert_eq!(
        plugin["metadata"],
        json!({"name": "request-decorator", "namespace": "payments"})
    );
    let spec = &plugin["spec"];
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"app": "checkout", "tier": "web"}})
    );
    assert_eq!(spec["match"], json!([{"mode": "CLIENT"}]));
    assert_eq!(
        spec["url"],
        json!(format!(
            "oci://registry.example.com/platform/request-decorator:{}",
            env!("CARGO_PKG_VERSION")
        ))
    );
    assert_eq!(spec["sha256"], json!(sha));
    assert_eq!(
        spec["pluginConfig"],
        json!({"operations": [{"action": "set", "name": "x-team", "value": "payments"}]})
    );
    assert!(
        spec.get("pluginName").is_none(),
        "a filter's own image has one plugin"
    );
    // The crate's facts (filters/request-decorator/Cargo.toml).
    let facts = moonshift_oci::facts::of(
        &moonshift_harness::artifacts::workspace_root(),
        "request-decorator",
    )
    .unwrap();
    assert_eq!(spec["phase"], json!(facts.phase));
    assert_eq!(spec["failStrategy"], json!(facts.fail_strategy));
    let extension = manifest(&out, "trafficextension.yaml");
    assert_eq!(extension["spec"]["wasm"]["sha256"], json!(sha));
    assert_eq!(
        extension["spec"]["phase"],
        json!(facts.traffic_extension_phase())
    );
}

#[test]
fn a_pipeline_on_a_gateway_fails_closed_when_a_member_does() {
    let out = out_dir("deploy-pipeline");
    let config = write(
        &out,
        "pipeline.json",
        r#"{"filters": [{"filter": "response-decorator"}, {"filter": "local-ratelimit", "config": {"token_bucket": {"max_tokens": 10, "tokens_per_fill": 10, "fill_interval": "1s"}}}]}"#,
    );
    let (code, output) = moonshift(&[
        "deploy",
        "pipeline",
        "--name",
        "edge-rules",
        "--namespace",
        "istio-ingress",
        "--target-ref",
        "Gateway/edge",
        "--config",
        &config,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    let plugin = manifest(&out, "wasmplugin.yaml");
    let spec = &plugin["spec"];
    assert_eq!(spec["pluginName"], json!("pipeline"));
    assert_eq!(spec["sha256"], json!(digest_of("moonshift-bundle")));
    assert_eq!(
        spec["targetRefs"],
        json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}])
    );
    assert!(spec.get("selector").is_none());
    assert_eq!(
        spec["failStrategy"],
        json!("FAIL_CLOSE"),
        "local-ratelimit fails closed"
    );
    assert_eq!(
        spec["phase"],
        json!("UNSPECIFIED_PHASE"),
        "members in different phases"
    );
    manifest(&out, "trafficextension.yaml");
}

#[test]
fn refusals_say_why_and_write_nothing() {
    let out = out_dir("deploy-refused");
    let bad = write(
        &out,
        "bad.json",
        r#"{"operations": [{"action": "set", "name": "content-length", "value": "1"}]}"#,
    );
    let dir = out.join("manifests");
    let dir = dir.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (&["deploy", "request-decorator", "--config", &bad, "--out", dir], 1, "request-decorator: invalid configuration: operations[0].name must not be a framing or hop-by-hop header"),
        (&["deploy", "pipeline", "--out", dir], 2, "a pipeline needs --config"),
        (&["deploy", "request-decorator", "--selector", "app=x", "--target-ref", "Gateway/g", "--out", dir], 2, "--selector and --target-ref exclude each other"),
        (&["deploy", "request-decorator", "--mode", "INBOUND", "--out", dir], 2, "--mode must be SERVER, CLIENT or CLIENT_AND_SERVER"),
        (&["deploy", "lua", "--out", dir], 2, "no filter is named \"lua\""),
    ];
    for (args, want_code, want) in cases {
        let (code, output) = moonshift(args);
        assert_eq!(code, want_code, "{args:?}: {output}");
        assert!(output.contains(want), "{args:?}: {output}");
    }
    assert!(!out.join("manifests").exists(), "nothing written");
}
