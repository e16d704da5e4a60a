use super::*;
use serde::Deserialize;

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Probe {
    name: String,
    inner: Inner,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Inner {
    count: u32,
}

#[test]
#[allow(clippy::type_complexity)]
fn from_json_table() {
    let cases: [(&str, Option<&[u8]>, Result<Probe, &str>); 8] = [
        ("no configuration", None, Ok(Probe::default())),
        ("empty bytes", Some(b""), Ok(Probe::default())),
        ("blank bytes", Some(b" \n"), Ok(Probe::default())),
        ("empty object", Some(b"{}"), Ok(Probe::default())),
        (
            "nested value",
            Some(br#"{"inner":{"count":3},"name":"a"}"#),
            Ok(Probe {
                name: "a".into(),
                inner: Inner { count: 3 },
            }),
        ),
        (
            "unknown field names the path",
            Some(br#"{"inner":{"cuont":3}}"#),
            Err("inner.cuont: unknown field `cuont`, expected `count`"),
        ),
        (
            "wrong type names the path",
            Some(br#"{"inner":{"count":"3"}}"#),
            Err("inner.count: invalid type: string \"3\", expected u32"),
        ),
        (
            "trailing garbage",
            Some(br#"{} x"#),
            Err("configuration: trailing characters at line 1 column 4"),
        ),
    ];
    for (name, bytes, want) in cases {
        let got = from_json::<Probe>(bytes).map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_string), "case: {name}");
    }
}

#[test]
fn header_name_table() {
    let cases = [
        ("x-request-timestamp", Ok("x-request-timestamp")),
        ("X-Lua-Processed", Ok("x-lua-processed")),
        (
            "",
            Err(r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got """#),
        ),
        (
            "x y",
            Err(r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "x y""#),
        ),
        (
            ":path",
            Err(
                r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got ":path""#,
            ),
        ),
        (
            "é",
            Err(r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "é""#),
        ),
    ];
    for (input, want) in cases {
        let got = header_name("f", input).map_err(|e| e.to_string());
        assert_eq!(
            got,
            want.map(str::to_string).map_err(str::to_string),
            "input {input:?}"
        );
    }
}

#[test]
fn readable_request_header_table() {
    let cases = [
        (":path", Ok(":path")),
        (":Authority", Ok(":authority")),
        ("User-Agent", Ok("user-agent")),
        (
            ":status",
            Err(
                r#"f must be a header name or one of :authority, :method, :path, :scheme, got ":status""#,
            ),
        ),
        (
            "a(b",
            Err(r#"f must be a non-empty HTTP header name (RFC 9110 token characters), got "a(b""#),
        ),
    ];
    for (input, want) in cases {
        let got = readable_request_header("f", input).map_err(|e| e.to_string());
        assert_eq!(
            got,
            want.map(str::to_string).map_err(str::to_string),
            "input {input:?}"
        );
    }
}

#[test]
fn long_strings_are_quoted_by_a_bounded_prefix() {
    let long = "%Y".repeat(20_000);
    let message = ConfigError::invalid("format", "must be short", &long).to_string();
    assert_eq!(
        message,
        format!(
            "format must be short, got \"{}\"… (40000 bytes)",
            "%Y".repeat(32)
        )
    );
    assert_eq!(
        ConfigError::invalid("f", "r", "short").to_string(),
        r#"f r, got "short""#
    );
}

#[test]
fn writable_header_names_table() {
    let long = "x".repeat(MAX_HEADER_NAME + 1);
    let cases = [
        ("x-ok", Ok("x-ok".to_string())),
        ("Content-Length", Err(r#"h must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "Content-Length""#.to_string())),
        ("transfer-encoding", Err(r#"h must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "transfer-encoding""#.to_string())),
        ("host", Err(r#"h must not be a framing or hop-by-hop header (content-length, transfer-encoding, connection, upgrade, te, trailer, keep-alive, proxy-connection, host), got "host""#.to_string())),
        (long.as_str(), Err("h must be at most 256 bytes, got 257 bytes".to_string())),
    ];
    for (input, want) in cases {
        assert_eq!(
            writable_header_name("h", input).map_err(|e| e.to_string()),
            want,
            "{input}"
        );
    }
}

#[test]
fn values_are_bounded_and_never_quoted() {
    let secret = "SECRET-TOKEN-123\n";
    let typed = ConfigError::new(format!(
        "allowed_keys: invalid type: string \"{}\", expected a sequence",
        secret.trim()
    ))
    .without_secrets(&["allowed_keys"]);
    assert_eq!(
        typed.message(),
        "allowed_keys: invalid type: string (not shown: this field holds credentials), expected a sequence"
    );
    let other = ConfigError::new("api_key_header: invalid type: string \"x\", expected y");
    assert_eq!(other.clone().without_secrets(&["allowed_keys"]), other);
    let message = header_value("value", secret).map_err(|e| e.to_string());
    assert_eq!(
        message,
        Err("value must not contain NUL, CR or LF, got a 17-byte value with LF at byte 16 (values are not quoted: they may be credentials)".to_string())
    );
    let huge = "v".repeat(MAX_HEADER_VALUE + 1);
    assert_eq!(
        header_value("value", &huge).map_err(|e| e.to_string()),
        Err("value must be at most 8192 bytes, got 8193 bytes".to_string())
    );
    assert_eq!(
        bounded_value("body", &"b".repeat(MAX_BODY), MAX_BODY),
        Ok(())
    );
    assert_eq!(
        bounded_list("list", MAX_LIST + 1).map_err(|e| e.to_string()),
        Err("list must hold at most 64 entries, got 65".to_string())
    );
}

#[test]
fn header_value_table() {
    let cases = [
        ("true", Ok(())),
        ("", Ok(())),
        ("a b\tc", Ok(())),
        (
            "a\r\nb",
            Err("v must not contain NUL, CR or LF, got a 4-byte value with CR at byte 1 (values are not quoted: they may be credentials)"),
        ),
        (
            "a\0",
            Err("v must not contain NUL, CR or LF, got a 2-byte value with NUL at byte 1 (values are not quoted: they may be credentials)"),
        ),
    ];
    for (input, want) in cases {
        let got = header_value("v", input).map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_string), "input {input:?}");
    }
}
