//! A rewrite of `:path` or `:authority` (request-decorator's `"rewrite": true`, the Lua's
//! `headers:replace(":path", ...)`): does Envoy pick the route again on the new value? Played
//! in a real Envoy whose routes tell the answer apart: the rewritten request matches a route to
//! the upstream, the original one a direct 404.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::Request;
use moonshift_tests::runner::{filter_entry, Flavour};
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};

fn routes() -> Value {
    json!({"virtual_hosts": [
        {"name": "rewritten", "domains": ["api.internal"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "upstream"}},
        ]},
        {"name": "original", "domains": ["*"], "routes": [
            {"match": {"prefix": "/v2/"}, "route": {"cluster": "upstream"}},
            {"match": {"prefix": "/"}, "direct_response": {"status": 404, "body": {"inline_string": "the route before the rewrite"}}},
        ]},
    ]})
}

fn status_after(flavour: Flavour, operation: Value) -> u16 {
    let upstream = Upstream::start();
    let config = json!({"operations": [operation]});
    let dir = envoy::scratch_dir("rewrite-routing");
    let entry = filter_entry("request-decorator", Some(&config), flavour, &dir).expect("entry");
    let envoy = Envoy::try_start_with("rewrite-routing", &Launch::default(), |port, admin| {
        let mut config = envoy::bootstrap(port, admin, upstream.port, std::slice::from_ref(&entry));
        config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"]["route_config"] = routes();
        config
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    envoy.send(&Request::get("/api/users")).status
}

#[test]
fn a_rewritten_path_or_authority_is_routed_again_by_lua_and_wasm_alike() {
    let path =
        json!({"action": "set", "name": ":path", "value": "/v2%REQ(:path)%", "rewrite": true});
    let authority =
        json!({"action": "set", "name": ":authority", "value": "api.internal", "rewrite": true});
    let mut observed = Vec::new();
    for (what, operation) in [(":path", path), (":authority", authority)] {
        for flavour in [Flavour::Lua, Flavour::Wasm] {
            observed.push((what, flavour, status_after(flavour, operation.clone())));
        }
    }
    eprintln!("{observed:?}");
    assert!(
        observed.iter().all(|(_, _, status)| *status == 200),
        "200: routed on the rewritten value; 404: on the original: {observed:?}"
    );
}
