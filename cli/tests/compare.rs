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
use support::{moonshift, out_dir, root};

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

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_foreign_module_compares_equal_to_its_lua_and_a_wrong_lua_does_not() {
    let module = foreign_module();
    let dir = out_dir("compare-foreign");
    let requests = write(
        &dir,
        "requests.jsonl",
        "# one request per line\n{\"path\": \"/a\"}\n{\"method\": \"POST\", \"path\": \"/b?x=1\", \"headers\": [[\"x-a\", \"1\"]]}\n{\"path\": \"/c\", \"upstream\": {\"status\": 503}}\n",
    );
    let lua = write(
        &dir,
        "same.lua",
        "function envoy_on_request(h)\n  h:headers():add(\"x-foreign\", \"yes\")\nend\nfunction envoy_on_response(h)\n  h:headers():add(\"x-foreign-response\", h:headers():get(\":status\"))\nend\n",
    );
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
}
