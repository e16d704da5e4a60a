//! Where a Lua script's `metadata()` and a Wasm module's `xds.route_metadata` read a route's
//! metadata, observed in a real Envoy (`docs/envoy.md` §7): what `%METADATA(ROUTE:ns:key)%` and
//! its Lua reference rely on. The route's value arrives upstream in a header.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::exchange::RouteMetadata;
use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::Request;
use moonshift_tests::runner::{filter_entry, Flavour};
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};

/// What the upstream saw in `x-team` for a request through `entry` on a route with `metadata`.
fn team_upstream(entry: Value, metadata: Value) -> Option<String> {
    let upstream = Upstream::start();
    let metadata: RouteMetadata = serde_json::from_value(metadata).expect("route metadata");
    let envoy = Envoy::try_start_with("route-metadata", &Launch::default(), |port, admin| {
        envoy::with_route_metadata(
            envoy::bootstrap(port, admin, upstream.port, std::slice::from_ref(&entry)),
            &metadata,
        )
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    assert_eq!(envoy.send(&Request::get("/")).status, 200);
    let received = upstream.received();
    let request = received.first().expect("the request reached the upstream");
    request
        .headers
        .iter()
        .find(|(name, _)| name == "x-team")
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
}

/// A Lua filter named `name` that copies `metadata():get("team")` into `x-team`.
fn lua_named(name: &str) -> Value {
    json!({
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": "function envoy_on_request(h)\n  local team = h:metadata():get(\"team\")\n  if team then h:headers():add(\"x-team\", team) end\nend\n"},
        },
    })
}

#[test]
fn lua_reads_its_own_name_then_the_canonical_one() {
    let both = json!({"my-lua": {"team": "own"}, "envoy.filters.http.lua": {"team": "canonical"}});
    let canonical_only = json!({"envoy.filters.http.lua": {"team": "canonical"}});
    let other_only = json!({"moonshift": {"team": "other"}});
    let observed = [
        team_upstream(lua_named("my-lua"), both),
        team_upstream(lua_named("my-lua"), canonical_only.clone()),
        team_upstream(lua_named("my-lua"), other_only),
        team_upstream(lua_named("envoy.filters.http.lua"), canonical_only),
    ];
    assert_eq!(
        observed,
        [
            Some("own".to_string()),
            Some("canonical".to_string()),
            None,
            Some("canonical".to_string())
        ],
    );
}

#[test]
fn wasm_reads_any_namespace_strings_and_numbers() {
    let decorator = |value: &str| {
        let config = json!({"operations": [{"action": "set", "name": "x-team", "value": value}]});
        let dir = envoy::scratch_dir("route-metadata");
        filter_entry("request-decorator", Some(&config), Flavour::Wasm, &dir).expect("entry")
    };
    let metadata = json!({
        "moonshift": {"team": "payments", "tier": 2, "canary": true, "limits": {"rpm": 60}, "none": null},
        "istio": {"config": "/apis/networking.istio.io/v1/namespaces/a/virtual-service/b"},
    });
    let observed: Vec<Option<String>> = ["team", "tier", "canary", "limits", "none", "absent"]
        .iter()
        .map(|key| {
            team_upstream(
                decorator(&format!("<%METADATA(ROUTE:moonshift:{key})%>")),
                metadata.clone(),
            )
        })
        .collect();
    // A number as Lua writes it (`tostring`), a bool, a struct or null as missing.
    let want: Vec<Option<String>> = ["<payments>", "<2>", "<>", "<>", "<>", "<>"]
        .iter()
        .map(|v| Some(v.to_string()))
        .collect();
    assert_eq!(observed, want);
}
