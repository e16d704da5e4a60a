//! `moonshift migrate` on EnvoyFilters with several Lua filters: one plugin when their order is
//! settled by the file, a refusal with the reason when it is not.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use support::{assert_all_same, config, manifests_validate, moonshift, out_dir};

/// Two Lua filters in one EnvoyFilter, both INSERT_BEFORE the router: one plugin whose members
/// keep Envoy's order. The first script's `respond()` also goes through the second script's
/// `envoy_on_response` in Envoy (a Lua filter's response function runs even when its request
/// function did not), so every script's response steps come first in the pipeline. Compared
/// in-process and in two real Envoys, one with the two Lua filters.
#[test]
fn two_lua_filters_of_one_envoyfilter_become_one_plugin_and_compare_equal_in_envoy() {
    let out = out_dir("two-scripts");
    let (code, output) = moonshift(&[
        "migrate",
        "cli/tests/envoyfilters/two-scripts.yaml",
        "--out",
        out.to_str().unwrap(),
        "--envoy",
    ]);
    assert_eq!(code, 0, "{output}");
    let members: Vec<Value> = config(&out)["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["filter"].clone())
        .collect();
    assert_eq!(
        members,
        [
            "response-decorator",
            "response-decorator",
            "request-decorator",
            "local-reply",
            "request-decorator",
            "path-logger"
        ]
    );
    assert!(
        output.contains("Lua filter 1 of 2") && output.contains("Lua filter 2 of 2"),
        "{output}"
    );
    assert_all_same(&output);
    assert!(output.contains("same     GET / (in Envoy)"), "{output}");
    for name in ["original-1.lua", "original-2.lua"] {
        assert!(out.join(name).exists(), "{name}");
    }
    manifests_validate(&out);
    // The stay-on-Lua option, asked for: one TrafficExtension per script, in chain order.
    let lua = out_dir("two-scripts-lua");
    let (code, output) = moonshift(&[
        "migrate",
        "cli/tests/envoyfilters/two-scripts.yaml",
        "--out",
        lua.to_str().unwrap(),
        "--no-compare",
        "--kind",
        "lua",
    ]);
    assert_eq!(code, 0, "{output}");
    manifests_validate(&lua);
    let stay = std::fs::read_to_string(lua.join("trafficextension-lua.yaml")).unwrap();
    assert!(
        stay.contains("name: edge-scripts-lua-1") && stay.contains("priority: 2"),
        "{stay}"
    );
    assert!(
        stay.contains("name: edge-scripts-lua-2") && stay.contains("priority: 1"),
        "{stay}"
    );
}

/// Several Lua filters whose order this file does not settle are refused, with the reason:
/// INSERT_FIRST puts each before the last; different anchors; several documents.
#[test]
fn lua_filters_in_an_order_the_file_does_not_settle_are_refused() {
    let two =
        std::fs::read_to_string(support::root().join("cli/tests/envoyfilters/two-scripts.yaml"))
            .unwrap();
    let out = out_dir("unordered");
    std::fs::create_dir_all(&out).unwrap();
    let cases = [
        (
            two.replacen("operation: INSERT_BEFORE", "operation: INSERT_FIRST", 1),
            "a patch inserts its Lua with `INSERT_FIRST`, not INSERT_BEFORE",
        ),
        (
            two.replacen("context: SIDECAR_INBOUND", "context: SIDECAR_OUTBOUND", 1),
            "their `match` differs",
        ),
        (
            format!(
                "{}\n---\n{}",
                two,
                two.replace("name: edge-scripts", "name: more")
            ),
            "Lua in 2 documents",
        ),
    ];
    for (i, (text, why)) in cases.iter().enumerate() {
        let file = out.join(format!("unordered-{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let (code, output) = moonshift(&[
            "migrate",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{output}");
        assert!(output.contains(why), "{why:?} not in {output}");
    }
}
