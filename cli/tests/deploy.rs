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

/// The Istio guide's example keys, which no manifest Moonshift writes may carry.
const EXAMPLE_KEYS: [&str; 2] = ["key-123", "key-456"];

/// Issue 21.5: every path that writes a manifest without a configuration: `moonshift deploy`
/// of each filter without --config, and `make deploy`'s committed deploy/ folder. A filter with
/// credentials is refused (nothing written); the others' manifests hold no example key.
#[test]
fn no_manifest_written_without_a_config_carries_example_keys() {
    let root = moonshift_harness::artifacts::workspace_root();
    for facts in moonshift_oci::facts::all(&root).unwrap() {
        let out = out_dir(&format!("deploy-no-config-{}", facts.filter));
        let (code, output) = moonshift(&["deploy", &facts.filter, "--out", out.to_str().unwrap()]);
        match &facts.credentials {
            Some(fields) => {
                assert_eq!(code, 2, "{}: {output}", facts.filter);
                assert!(
                    output.contains(fields.as_str()) && output.contains("--config"),
                    "{output}"
                );
                assert!(!out.exists(), "{}: nothing written", facts.filter);
            }
            None => assert_eq!(code, 0, "{}: {output}", facts.filter),
        }
        for file in std::fs::read_dir(&out).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(file.path()).unwrap();
            for key in EXAMPLE_KEYS {
                assert!(!text.contains(key), "{}: {key}", file.path().display());
            }
        }
        for file in std::fs::read_dir(root.join("deploy").join(&facts.filter)).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for key in EXAMPLE_KEYS {
                assert!(!text.contains(key), "{}: {key}", path.display());
            }
        }
    }
}

/// Issue 21.6: a plugin that can deny a request fails closed, a decorator fails open, and
/// `--fail-strategy` overrides; the manifest says which and why.
#[test]
fn a_plugin_that_can_deny_fails_closed_unless_told_otherwise() {
    let out = out_dir("deploy-fail-strategy");
    let gate = write(
        &out,
        "gate.json",
        r#"{"filters": [{"filter": "request-decorator", "config": {"operations": [{"action": "remove", "name": "x-debug"}]}}, {"filter": "local-reply", "config": {"rules": [{"when": [{"header": {"name": "authorization", "present": false}}], "status": 401}]}}]}"#,
    );
    let decorate = write(
        &out,
        "decorate.json",
        r#"{"operations": [{"action": "set", "name": "x-team", "value": "a"}]}"#,
    );
    let cases: [(&str, &str, &[&str], &str, &str); 4] = [
        (
            "pipeline",
            &gate,
            &[],
            "FAIL_CLOSE",
            "filters[1] (local-reply: rules[0] answers 401",
        ),
        (
            "request-decorator",
            &decorate,
            &[],
            "FAIL_OPEN",
            "nothing in it can deny a request",
        ),
        (
            "pipeline",
            &gate,
            &["--fail-strategy", "FAIL_OPEN"],
            "FAIL_OPEN",
            "--fail-strategy FAIL_OPEN (Moonshift would choose FAIL_CLOSE",
        ),
        (
            "request-decorator",
            &decorate,
            &["--fail-strategy", "FAIL_CLOSE"],
            "FAIL_CLOSE",
            "--fail-strategy FAIL_CLOSE",
        ),
    ];
    for (filter, config, extra, want, why) in cases {
        let dir = out.join(format!("{filter}-{want}"));
        let mut args = vec![
            "deploy",
            filter,
            "--config",
            config,
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (code, output) = moonshift(&args);
        assert_eq!(code, 0, "{output}");
        assert!(output.contains(why), "{output}");
        let plugin = manifest(&dir, "wasmplugin.yaml");
        assert_eq!(
            plugin["spec"]["failStrategy"],
            json!(want),
            "{filter} {extra:?}"
        );
        let text = std::fs::read_to_string(dir.join("wasmplugin.yaml")).unwrap();
        assert!(text.contains(&format!("# failStrategy {want}: ")), "{text}");
    }
}

/// Issue 21.10: values YAML 1.1 (kubectl's reader) would read as booleans, timestamps or
/// numbers come back as the strings written. Read back with PyYAML, a YAML 1.1 reader.
#[test]
fn manifests_read_back_the_same_with_a_yaml_1_1_reader() {
    let out = out_dir("deploy-yaml-1-1");
    let tricky = [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "n",
        "Y",
        "NO",
        "2024-01-01",
        "1_000",
        "012",
        "0x1f",
        ".inf",
        "~",
        "null",
        "1e3",
        "+1",
        ":x",
        "- a",
        "#c",
        "a: b",
        "multi\nline\n",
    ];
    let operations: Vec<Value> = tricky
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"action": "set", "name": format!("x-v{i}"), "value": v.replace('\n', " ")}))
        .collect();
    let config = write(
        &out,
        "config.json",
        &json!({"operations": operations}).to_string(),
    );
    let dir = out.join("manifests");
    let (code, output) = moonshift(&[
        "deploy",
        "request-decorator",
        "--config",
        &config,
        "--selector",
        "app=on",
        "--selector",
        "version=1_000",
        "--namespace",
        "no",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{output}");
    for name in ["wasmplugin.yaml", "trafficextension.yaml"] {
        let path = dir.join(name);
        let read = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            ])
            .arg(&path)
            .output()
            .expect("python3 with PyYAML (Debian's python3-yaml: make setup)");
        assert!(
            read.status.success(),
            "{}",
            String::from_utf8_lossy(&read.stderr)
        );
        let back: Value = serde_json::from_slice(&read.stdout).unwrap();
        let ours: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, ours, "{name}: YAML 1.1 reads what YAML 1.2 reads");
        assert_eq!(back["metadata"]["namespace"], json!("no"));
        assert_eq!(back["spec"]["selector"]["matchLabels"]["app"], json!("on"));
        let config = match name {
            "wasmplugin.yaml" => &back["spec"]["pluginConfig"],
            _ => &back["spec"]["wasm"]["pluginConfig"],
        };
        for (i, v) in tricky.iter().enumerate() {
            assert_eq!(
                config["operations"][i]["value"],
                json!(v.replace('\n', " ")),
                "{name} {v}"
            );
        }
    }
}
