//! What a Lua script's dynamic metadata and a Wasm module's `set_property` are in a real Envoy,
//! the difference `docs/migrating.md` tells users about (`docs/envoy.md` §8). The module is
//! `tests/wasm/state-probe.wat` (assembled here by binaryen's `wasm-as`): on the request it
//! sets the property `moonshift_probe`; on the response it logs the Lua's dynamic metadata as it
//! reads it. The Lua after it lists the dynamic metadata it sees and sets its own. The access
//! log shows where each landed.

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;
use serde_json::json;

const LUA: &str = r#"
function envoy_on_request(h)
  local seen = {}
  for namespace, _ in pairs(h:streamInfo():dynamicMetadata()) do seen[#seen + 1] = namespace end
  h:logInfo("lua sees dynamic metadata: [" .. table.concat(seen, ",") .. "]")
  h:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "lua_key", "set-by-lua")
end
"#;

#[test]
fn set_property_writes_filter_state_and_a_module_reads_dynamic_metadata() {
    let dir = envoy::scratch_dir("filter-state");
    let module = moonshift_tests::probe("state-probe", &dir);
    let access_log = dir.join("access.log");
    let probe = envoy::wasm_filter_at("probe", &module, None);
    let lua = json!({
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": LUA},
        },
    });
    let upstream = Upstream::start();
    // Envoy's default launch logs at info, which the module's and the script's lines need.
    let envoy = Envoy::try_start_with("filter-state", &Launch::default(), |port, admin| {
        let mut config = envoy::bootstrap(port, admin, upstream.port, &[probe.clone(), lua.clone()]);
        config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"]["access_log"] = json!([{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": access_log,
                "log_format": {"text_format_source": {"inline_string":
                    "fs=%FILTER_STATE(wasm.moonshift_probe:PLAIN)% dm=%DYNAMIC_METADATA(envoy.filters.http.lua:lua_key)% wasm_dm=%DYNAMIC_METADATA(wasm)%\n"}},
            },
        }]);
        config
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    assert_eq!(envoy.send(&Request::get("/")).status, 200);
    // The module's property is not dynamic metadata: the Lua after it sees none.
    assert!(
        envoy
            .wait_for_log("lua sees dynamic metadata: []")
            .is_some(),
        "{}",
        envoy.log()
    );
    // A module reads the Lua's dynamic metadata (the `metadata` property).
    assert!(
        envoy.wait_for_log("wasm reads: set-by-lua").is_some(),
        "{}",
        envoy.log()
    );
    // The access log is written when the stream ends.
    let mut logged = String::new();
    for _ in 0..50 {
        logged = std::fs::read_to_string(&access_log).unwrap_or_default();
        if !logged.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        logged.trim_end(),
        "fs=set-by-wasm dm=set-by-lua wasm_dm=-",
        "set_property is filter state `wasm.<name>`, never dynamic metadata"
    );
}
