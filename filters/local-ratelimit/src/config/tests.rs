use super::*;

fn full(numerator: u32) -> Fraction {
    Fraction {
        numerator,
        denominator: 100,
    }
}

fn defaults() -> Settings {
    Settings {
        stat_prefix: "http_local_rate_limiter".into(),
        bucket: TokenBucket::new(100, 100, 60_000),
        max_tokens: 100,
        status: 429,
        body: "local_rate_limited".into(),
        response_headers_to_add: vec![],
        request_headers_to_add_when_not_enforced: vec![],
        x_ratelimit_headers: false,
        filter_enabled: full(100),
        filter_enforced: full(100),
        scope: Scope::Process,
        client_key: None,
        max_client_keys: 10_000,
        ignored_runtime_keys: vec![],
    }
}

/// The seed's native EnvoyFilter `typed_config`, as Istio would hand it over in JSON.
const SEED_NATIVE: &str = r#"{
  "stat_prefix": "http_local_rate_limiter",
  "token_bucket": {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"},
  "filter_enabled": {"runtime_key": "local_rate_limit_enabled",
                     "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
  "filter_enforced": {"runtime_key": "local_rate_limit_enforced",
                      "default_value": {"numerator": 100, "denominator": "HUNDRED"}}
}"#;

#[test]
fn valid_configs() {
    let seed = Settings {
        ignored_runtime_keys: vec![
            "local_rate_limit_enabled".into(),
            "local_rate_limit_enforced".into(),
        ],
        ..defaults()
    };
    let everything = Settings {
        stat_prefix: "api.limits".into(),
        bucket: TokenBucket::new(3, 1, 1_500),
        max_tokens: 3,
        status: 503,
        body: "slow down".into(),
        response_headers_to_add: vec![("x-local-rate-limit".into(), "true".into())],
        request_headers_to_add_when_not_enforced: vec![("x-shadow".into(), "1".into())],
        x_ratelimit_headers: true,
        filter_enabled: Fraction {
            numerator: 5_000,
            denominator: 10_000,
        },
        filter_enforced: Fraction {
            numerator: 0,
            denominator: 1_000_000,
        },
        scope: Scope::Worker,
        client_key: Some(ClientKey::RequestHeader("x-api-key".into())),
        max_client_keys: 2,
        ignored_runtime_keys: vec![],
    };
    let cases: [(&str, &str, Settings); 5] = [
        ("no configuration", "", defaults()),
        ("empty object", "{}", defaults()),
        ("the seed's native config", SEED_NATIVE, seed),
        (
            "every field",
            r#"{"stat_prefix":"api.limits",
                "token_bucket":{"max_tokens":3,"tokens_per_fill":1,"fill_interval":"1.5s"},
                "status":{"code":503},"body":"slow down",
                "response_headers_to_add":[{"header":{"key":"X-Local-Rate-Limit","value":"true"}}],
                "request_headers_to_add_when_not_enforced":[{"header":{"key":"x-shadow","value":"1"}}],
                "enable_x_ratelimit_headers":"DRAFT_VERSION_03",
                "filter_enabled":{"default_value":{"numerator":5000,"denominator":"TEN_THOUSAND"}},
                "filter_enforced":{"default_value":{"numerator":0,"denominator":"MILLION"}},
                "scope":"worker","client_key":{"request_header":"X-Api-Key"},"max_client_keys":2}"#,
            everything,
        ),
        (
            "remote address key",
            r#"{"client_key":{"remote_address":{}}}"#,
            Settings {
                client_key: Some(ClientKey::RemoteAddress),
                ..defaults()
            },
        ),
    ];
    for (name, json, want) in cases {
        assert_eq!(parse(Some(json.as_bytes())), Ok(want), "case: {name}");
    }
}

#[test]
fn invalid_configs() {
    let mb = "a".repeat(1 << 20);
    let huge_prefix = format!(r#"{{"stat_prefix":"{mb}"}}"#);
    let huge_body = format!(r#"{{"body":"{mb}"}}"#);
    let many_headers = format!(
        r#"{{"response_headers_to_add":[{}]}}"#,
        vec![r#"{"header":{"key":"x","value":"1"}}"#; 10_000].join(",")
    );
    let issue_12: [(&str, String); 5] = [
        (
            r#"{"client_key":{"remote_address":{}},"max_client_keys":4294967295}"#,
            "max_client_keys must be in 1..=1000000, got 4294967295".into(),
        ),
        (
            huge_prefix.as_str(),
            format!("stat_prefix must be 1 to 128 bytes of ASCII letters, digits, '_' and '.', got \"{}\"… (1048576 bytes)", "a".repeat(64)),
        ),
        (huge_body.as_str(), "body must be at most 65536 bytes, got 1048576 bytes".into()),
        (many_headers.as_str(), "response_headers_to_add must hold at most 64 entries, got 10000".into()),
        (
            r#"{"response_headers_to_add":[{"header":{"key":"Content-Length","value":"abc"}}]}"#,
            r#"response_headers_to_add[0].header.key must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "Content-Length""#.into(),
        ),
    ];
    for (json, want) in &issue_12 {
        assert_eq!(
            parse(Some(json.as_bytes()))
                .map_err(|e| e.to_string())
                .err()
                .as_ref(),
            Some(want)
        );
    }
    let cases: [(&str, &str); 17] = [
        (r#"{"token_bucket":{"max_tokens":0}}"#, "token_bucket.max_tokens must be > 0, got 0"),
        (r#"{"token_bucket":{"tokens_per_fill":0}}"#, "token_bucket.tokens_per_fill must be > 0, got 0"),
        (r#"{"token_bucket":{"fill_interval":"10ms"}}"#, r#"token_bucket.fill_interval must be >= 50ms, got "10ms""#),
        (r#"{"token_bucket":{"fill_interval":"0.049s"}}"#, r#"token_bucket.fill_interval must be >= 50ms, got "0.049s""#),
        (
            r#"{"token_bucket":{"fill_interval":"1m"}}"#,
            r#"token_bucket.fill_interval must be a duration like "60s", "1.5s" or "50ms", got "1m""#,
        ),
        (
            r#"{"token_bucket":{"max_tokens":-1}}"#,
            "token_bucket.max_tokens: invalid value: integer `-1`, expected u32",
        ),
        (r#"{"status":{"code":302}}"#, "status.code must be in 400..=599, got 302"),
        (r#"{"status":{"code":600}}"#, "status.code must be in 400..=599, got 600"),
        (r#"{"body":"a\nb"}"#, "body must not contain NUL, CR or LF, got a 3-byte value with LF at byte 1 (values are not quoted: they may be credentials)"),
        (
            r#"{"response_headers_to_add":[{"header":{"key":"x y","value":"1"}}]}"#,
            r#"response_headers_to_add[0].header.key must be a non-empty HTTP header name (RFC 9110 token characters), got "x y""#,
        ),
        (
            r#"{"response_headers_to_add":[{"append":false,"header":{"key":"x","value":"1"}}]}"#,
            "response_headers_to_add[0].append: unknown field `append`, expected `header`",
        ),
        (
            r#"{"filter_enforced":{"default_value":{"numerator":101}}}"#,
            "filter_enforced.default_value.numerator must be <= the denominator (100), got 101",
        ),
        (
            r#"{"enable_x_ratelimit_headers":"DRAFT_VERSION_04"}"#,
            "enable_x_ratelimit_headers: unknown variant `DRAFT_VERSION_04`, expected `OFF` or `DRAFT_VERSION_03`",
        ),
        (
            r#"{"scope":"connection"}"#,
            "scope: unknown variant `connection`, expected `process` or `worker`",
        ),
        (
            r#"{"client_key":{"request_header":":status"}}"#,
            r#"client_key.request_header must be a header name or one of :authority, :method, :path, :scheme, got ":status""#,
        ),
        (r#"{"client_key":{"remote_address":{}},"max_client_keys":0}"#, "max_client_keys must be in 1..=1000000, got 0"),
        (
            r#"{"stat_prefix":"a b"}"#,
            r#"stat_prefix must be 1 to 128 bytes of ASCII letters, digits, '_' and '.', got "a b""#,
        ),
    ];
    for (json, want) in cases {
        let got = parse(Some(json.as_bytes())).map_err(|e| e.to_string());
        assert_eq!(got, Err(want.to_string()), "config {json}");
    }
}
