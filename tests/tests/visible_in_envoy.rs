//! What a team sees of a plugin in a real Envoy 1.40: a refused configuration, with the filter's
//! own message, and the counters of what the filters decide in `/stats`.

use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;

#[test]
fn invalid_configuration_is_refused_with_the_filters_message() {
    let cases = [
        (
            "timestamp-header",
            r#"{"format":"%Y %s"}"#,
            r#"timestamp-header: invalid configuration: format must use only the conversions"#,
        ),
        (
            "path-logger",
            r#"{"level":"loud"}"#,
            "path-logger: invalid configuration: level: unknown variant `loud`",
        ),
        (
            "local-ratelimit",
            r#"{"token_bucket":{"fill_interval":"10ms"}}"#,
            r#"local-ratelimit: invalid configuration: token_bucket.fill_interval must be >= 50ms, got "10ms""#,
        ),
        (
            "response-decorator",
            r#"{"operations":[{"action":"add","name":"x"}]}"#,
            r#"response-decorator: invalid configuration: operations[0].value is required"#,
        ),
        (
            "request-decorator",
            r#"{"operations":[{"action":"set","name":"x","value":"1","when":[{"path":{"lua_pattern":"%b()"}}]}]}"#,
            "request-decorator: invalid configuration: operations[0].when[0].path.lua_pattern must be a Lua pattern with a regex equivalent",
        ),
        (
            "local-reply",
            r#"{"rules":[{"status":302}]}"#,
            "local-reply: invalid configuration: rules[0].headers must hold a location header",
        ),
        // An auth filter with no key does not start open.
        (
            "api-key-auth",
            "",
            "api-key-auth: invalid configuration: allowed_keys, allowed_key_hashes or keys must hold at least one key",
        ),
        (
            "api-key-auth",
            r#"{"allowed_keys":["SECRET-KEY-1\r"]}"#,
            "api-key-auth: invalid configuration: allowed_keys[0] must not contain NUL, CR or LF",
        ),
        // Issue 12: configurations that used to be accepted.
        (
            "response-decorator",
            r#"{"operations":[{"action":"set","name":"content-length","value":"abc"}]}"#,
            "response-decorator: invalid configuration: operations[0].name must not be a framing or hop-by-hop header",
        ),
        (
            "response-decorator",
            r#"{"operations":[{"action":"set","name":"authorization","value":"SECRET-TOKEN-123\n"}]}"#,
            "response-decorator: invalid configuration: operations[0].value must not contain NUL, CR or LF, got a 17-byte value with LF at byte 16",
        ),
        (
            "local-ratelimit",
            r#"{"client_key":{"remote_address":{}},"max_client_keys":4294967295}"#,
            "local-ratelimit: invalid configuration: max_client_keys must be in 1..=1000000, got 4294967295",
        ),
    ];
    for (filter, config, message) in cases {
        let entry = envoy::wasm_filter(filter, Some(config));
        let failure = Envoy::try_start(&format!("invalid-{filter}"), &[entry], 9, 1)
            .expect_err("Envoy must refuse an invalid configuration");
        assert_eq!(failure.exit_code, Some(1), "{filter}: {}", failure.log);
        assert!(
            failure.log.contains(message),
            "{filter}: expected {message:?} in:\n{}",
            failure.log
        );
        assert!(!failure.log.contains("SECRET"), "a value was echoed");
    }
}

/// What the filters decide, counted (issue 24.4): api-key-auth's refusals by reason,
/// local-reply's replies, and each plugin's accepted configurations, `wasmcustom.moonshift.<filter>.<what>` in Envoy's `/stats`, summed
/// over two workers. An admitted request moves nothing: Envoy counts requests already.
#[test]
fn decisions_are_counted_in_envoys_stats() {
    let upstream = Upstream::start();
    let reply = envoy::wasm_filter(
        "local-reply",
        Some(r#"{"rules":[{"when":[{"path":{"exact":"/healthz"}}],"status":200,"body":"ok"}]}"#),
    );
    let auth = envoy::wasm_filter(
        "api-key-auth",
        Some(r#"{"api_key_header":"x-api-key","allowed_keys":["key-1"]}"#),
    );
    let envoy = Envoy::start("counters", &[reply, auth], upstream.port, 2);
    let statuses: Vec<u16> = [
        Request::get("/healthz"),
        Request::get("/"),
        Request::get("/").header("x-api-key", "nope"),
        Request::get("/").header("x-api-key", "nope-2"),
        Request::get("/").header("x-api-key", "key-1"),
        Request::get("/").header("x-api-key", "key-1"),
    ]
    .iter()
    .map(|r| envoy.send(r).status)
    .collect();
    assert_eq!(statuses, [200, 401, 401, 401, 200, 200]);
    let stat = |name: &str| envoy.counter(&format!("wasmcustom.moonshift.{name}"));
    assert_eq!(
        [
            stat("local_reply.replied"),
            stat("api_key_auth.missing_key"),
            stat("api_key_auth.unknown_key"),
        ],
        [1, 1, 2]
    );
    // Each plugin's configuration, accepted once in each VM: the one Envoy loads the plugin
    // in first, the main thread's and each worker's (observed: 4 with two workers). What
    // `rollout.sh` waits for, at any log level.
    assert_eq!(
        [
            stat("local_reply.config_accepted"),
            stat("api_key_auth.config_accepted"),
        ],
        [4, 4]
    );
}
