#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// A stream as the tests give it: both header maps, the clock, the addresses.
#[derive(Debug, Default)]
pub(crate) struct Fake {
    pub request: Vec<(String, Vec<u8>)>,
    pub response: Vec<(String, Vec<u8>)>,
    pub now: i64,
    pub remote: Option<Vec<u8>>,
    pub san: Option<Vec<u8>>,
}

impl Context for Fake {
    fn header(&mut self, phase: Phase, name: &str) -> Option<Vec<u8>> {
        let map = match phase {
            Phase::Request => &self.request,
            Phase::Response => &self.response,
        };
        crate::headers::lua_get(map, name)
    }
    fn now_seconds(&mut self) -> i64 {
        self.now
    }
    fn remote_address(&mut self) -> Option<Vec<u8>> {
        self.remote.clone()
    }
    fn peer_uri_san(&mut self) -> Option<Vec<u8>> {
        self.san.clone()
    }
}

pub(crate) fn fake() -> Fake {
    let h = |k: &str, v: &str| (k.to_string(), v.as_bytes().to_vec());
    Fake {
        request: vec![
            h(":path", "/api/v1?user=ada&empty=&flag&user=bob"),
            h(":method", "GET"),
            h("x-a", "1"),
            h("x-a", "2"),
            h("cookie", "session=abc; theme=dark;lang=en"),
        ],
        response: vec![h(":status", "404"), h("server", "up")],
        now: 1_795_737_600,
        remote: Some(b"[2001:db8::1]:40000".to_vec()),
        san: Some(b"spiffe://cluster.local/ns/a/sa/b".to_vec()),
    }
}

#[test]
fn render_table() {
    let cases: &[(Phase, &str, &str)] = &[
        (Phase::Request, "plain", "plain"),
        (Phase::Request, "100% plain %", "100% plain %"),
        (Phase::Request, "%REQ(:path", "%REQ(:path"),
        (Phase::Request, "%REQ(X-A)%|%REQ(x-none)%|", "1,2|~|"),
        (Phase::Request, "%%REQ(:method)%%", "%GET%"),
        (
            Phase::Request,
            "ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% full=%DOWNSTREAM_REMOTE_ADDRESS%",
            "ip=2001:db8::1 full=[2001:db8::1]:40000",
        ),
        (
            Phase::Request,
            "%DOWNSTREAM_PEER_URI_SAN%",
            "spiffe://cluster.local/ns/a/sa/b",
        ),
        (
            Phase::Request,
            "%QUERY_PARAM(user)%,%QUERY_PARAM(empty)%,%QUERY_PARAM(flag)%,%QUERY_PARAM(none)%",
            "ada,,,~",
        ),
        (
            Phase::Request,
            "%COOKIE(session)% %COOKIE(lang)% %COOKIE(nope)% %COOKIE(theme)%",
            "abc en ~ dark",
        ),
        (
            Phase::Request,
            "%START_TIME(%Y-%m-%dT%H:%M:%SZ)%",
            "2026-11-27T00:00:00Z",
        ),
        (
            Phase::Response,
            "%RESPONSE_CODE% %RESP(Server)% %RESP(x-none)%",
            "404 up ~",
        ),
    ];
    for (phase, text, want) in cases {
        let template = Template::parse("value", text, *phase).unwrap();
        let got = template.render(&mut fake(), b"~");
        assert_eq!(String::from_utf8_lossy(&got), *want, "{text}");
    }
}

#[test]
fn refusals_table() {
    let cases: &[(Phase, &str, &str)] = &[
        (Phase::Request, "%RESP(server)%", "value %RESP(server)% reads the response, which the request phase has not got"),
        (Phase::Request, "%RESPONSE_CODE%", "value %RESPONSE_CODE% reads the response, which the request phase has not got"),
        (Phase::Response, "%REQ(:path)%", "value %REQ(:path)% reads the request, which a response-phase Lua script cannot read"),
        (Phase::Request, "a %UPSTREAM_HOST% b", "value %UPSTREAM_HOST% is not a command Moonshift renders; the commands are REQ(name), RESP(name), RESPONSE_CODE, START_TIME(format), DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, QUERY_PARAM(name), COOKIE(name)"),
        (Phase::Request, "%REQ(a b)%", r#"value %REQ(a b)% must be a non-empty HTTP header name (RFC 9110 token characters), got "a b""#),
        (Phase::Request, "%START_TIME%", "value %START_TIME% needs a format, as Lua's os.date does: %START_TIME(%Y-%m-%dT%H:%M:%SZ)%"),
        (Phase::Request, "%START_TIME(%Q)%", r#"value %START_TIME(%Q)%: Unsupported("%Q") (the format is Lua's os.date subset)"#),
        (Phase::Request, "%COOKIE()%", "value %COOKIE()% is not a command Moonshift renders; the commands are REQ(name), RESP(name), RESPONSE_CODE, START_TIME(format), DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, QUERY_PARAM(name), COOKIE(name)"),
    ];
    for (phase, text, want) in cases {
        let got = Template::parse("value", text, *phase).map_err(|e| e.to_string());
        assert_eq!(got.err().as_deref(), Some(*want), "{text}");
    }
}

#[test]
fn addresses_queries_and_cookies() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"10.0.0.7:40000", b"10.0.0.7"),
        (b"[::1]:1", b"::1"),
        (b"[::1", b"[::1"),
        (b"::1", b"::1"),
        (b"10.0.0.7", b"10.0.0.7"),
    ];
    for (address, want) in cases {
        assert_eq!(without_port(address), *want, "{address:?}");
    }
    assert_eq!(query_param(b"/a?x=1&x=2", b"x"), Some(&b"1"[..]));
    assert_eq!(query_param(b"/a?y=%20", b"y"), Some(&b"%20"[..]));
    assert_eq!(query_param(b"/a", b"x"), None);
    assert_eq!(query_param(b"/a?xx=1", b"x"), None);
    assert_eq!(cookie(b"a=1;  b=2", b"b"), Some(&b"2"[..]));
    assert_eq!(cookie(b"a", b"a"), None);
    assert_eq!(cookie(b"a=\"q\"", b"a"), Some(&b"\"q\""[..]));
}
