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
    pub random: Option<[u8; 16]>,
    /// How many header reads the rendering asked for.
    pub header_reads: usize,
}

impl Context for Fake {
    fn header(&mut self, phase: Phase, name: &str) -> Option<Vec<u8>> {
        self.header_reads += 1;
        let map = match phase {
            Phase::Request => &self.request,
            Phase::Response => &self.response,
        };
        crate::headers::lua_get(map.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())), name)
            .map(alloc::borrow::Cow::into_owned)
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
    fn response_duration_ms(&mut self) -> Option<u64> {
        Some(12)
    }
    fn random_bytes(&mut self) -> Option<[u8; 16]> {
        self.random
    }
    fn route_metadata(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        (namespace == "envoy.filters.http.lua" && key == "team").then(|| b"payments".to_vec())
    }
    fn route_metadata_rendered(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        match (namespace, key) {
            ("envoy.filters.http.lua", "weight") => Some(b"2.5".to_vec()),
            _ => self.route_metadata(namespace, key),
        }
    }
    fn route_metadata_truthy(&mut self, namespace: &str, key: &str) -> bool {
        namespace == "envoy.filters.http.lua" && matches!(key, "team" | "canary")
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
            // {"sub":"alice","n":42,"admin":true,"roles":["a","b"],"realm":{"team":"payments"}}
            h("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsIm4iOjQyLCJhZG1pbiI6dHJ1ZSwicm9sZXMiOlsiYSIsImIiXSwicmVhbG0iOnsidGVhbSI6InBheW1lbnRzIn19.c2ln"),
            // base64url of {"sub":"a\nb"}: a line break, decoded.
            h("x-jwt-payload", "eyJzdWIiOiJhXG5iIn0"),
        ],
        response: vec![h(":status", "404"), h("server", "up")],
        now: 1_795_737_600,
        remote: Some(b"[2001:db8::1]:40000".to_vec()),
        san: Some(b"spiffe://cluster.local/ns/a/sa/b".to_vec()),
        random: Some(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"),
        header_reads: 0,
    }
}

/// `render_whole` (an operation's `missing: skip`) stops at the first missing command: what
/// follows would be thrown away, so it is not read.
#[test]
fn a_whole_rendering_stops_at_the_first_missing_command() {
    let parse = |text| Template::parse("value", text, Phase::Request).unwrap();
    let mut context = fake();
    let stops = parse("%REQ(x-absent)%-%REQ(x-a)%-%REQ(:method)%");
    assert_eq!(
        stops.render_whole(&mut context, &mut Budget::per_phase()),
        None
    );
    assert_eq!(context.header_reads, 1);
    let mut context = fake();
    let whole = parse("%REQ(x-a)%-%REQ(:method)%");
    assert_eq!(
        whole.render_whole(&mut context, &mut Budget::per_phase()),
        Some(b"1,2-GET".to_vec())
    );
    assert_eq!(context.header_reads, 2);
}

#[test]
fn render_table() {
    let cases: &[(Phase, &str, &str)] = &[
        (Phase::Request, "plain", "plain"),
        (Phase::Request, "100% plain %", "100% plain %"),
        (Phase::Request, "%REQ(:path", "%REQ(:path"),
        (Phase::Request, "%REQ(X-A)%|%REQ(x-none)%|", "1,2|~|"),
        (Phase::Request, "%%REQ(:method)%%", "%GET%"),
        // A value that begins the rendering is kept as read, then what follows is appended.
        (Phase::Request, "%REQ(X-A)%", "1,2"),
        (Phase::Request, "%REQ(X-A)%%REQ(:method)%-", "1,2GET-"),
        (
            Phase::Request,
            "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
            "2001:db8::1",
        ),
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
        (Phase::Request, "%REQ(x-none?x-a)%|%REQ(:method?x-a)%|%REQ(x-none?x-nope)%", "1,2|GET|~"),
        (Phase::Request, "%REQ(:path):4%|%COOKIE(session):2%|%REQ(x-none?x-a):1%|%REQ(x-none):3%", "/api|ab|1|~"),
        (Phase::Request, "%REQ(:path):99%", "/api/v1?user=ada&empty=&flag&user=bob"),
        (Phase::Request, "%REQ(:path):x% %REQ(:path):%", "%REQ(:path):x% %REQ(:path):%"),
        (Phase::Response, "%RESP(x-none?server):1%", "u"),
        (
            Phase::Request,
            "%METADATA(ROUTE:envoy.filters.http.lua:team)% %METADATA(ROUTE:other:team)% %METADATA(ROUTE:envoy.filters.http.lua:none)%",
            "payments ~ ~",
        ),
        (
            Phase::Response,
            "%METADATA(ROUTE:envoy.filters.http.lua:team)%",
            "payments",
        ),
        // A number, as Lua writes it (the source reads what a template renders).
        (
            Phase::Request,
            "w=%METADATA(ROUTE:envoy.filters.http.lua:weight)%",
            "w=2.5",
        ),
        // The fake's random bytes 00 11 .. ff: version nibble 6 -> 4, variant bits 8 -> 10.
        (Phase::Request, "id=%UNIQUE_ID%", "id=00112233-4455-4677-8899-aabbccddeeff"),
        (Phase::Response, "%UNIQUE_ID%:8%", "00112233-4455-4677-8899-aabbccddeeff:8%"),
        // Transforms, left to right, as Lua's string functions (path /api/v1?user=ada&...).
        (Phase::Request, "%REQ(:path):sub(2,4)%|%REQ(:path):sub(-3)%|%REQ(:path):sub(5,2)%|%REQ(:path):sub(0,1)%", "api|bob||/"),
        (Phase::Request, "%REQ(:method):lower%|%COOKIE(theme):upper%|%REQ(x-none):lower%", "get|DARK|~"),
        (Phase::Request, "%REQ(:path):match(user=(%a+))%|%REQ(:path):match(^/(%a+)/v(%d))%|%REQ(:path):match(%d%d%d)%", "ada|api|~"),
        (Phase::Request, "%REQ(:path):match(^/[^/]+)%|%REQ(:path):match([)](x))%", "/api|~"),
        (Phase::Request, "%DOWNSTREAM_PEER_URI_SAN%|%COOKIE(session):upper:sub(2):3%", "spiffe://cluster.local/ns/a/sa/b|BC"),
        (Phase::Request, "%REQ(:path):match(user=(%a+)):upper:sub(1,2)%!", "AD!"),
        // gsub: Supabase's apikey strip on `user`, a `%)` in the replacement, a missing value.
        (Phase::Request, "%REQ(:path):gsub(([&?])user=[^&]+&?,%1):gsub(&$,)%", "/api/v1?empty=&flag"),
        (Phase::Request, "%REQ(:method):gsub(E,%%%)):lower%|%REQ(x-none):gsub(a,b)%|%COOKIE(theme):gsub(%w,<%0>)%", "g%)t|~|<d><a><r><k>"),
        // Not a chain: literal text.
        (Phase::Request, "%REQ(:path):nope%", "%REQ(:path):nope%"),
        // Decoding: a bearer token's claims, unverified; a decoded line break is missing.
        (Phase::Request, "%REQ(authorization):jwt_payload:json(sub)%|%REQ(authorization):jwt_payload:json(n)%|%REQ(authorization):jwt_payload:json(realm.team):upper%", "alice|42|PAYMENTS"),
        (Phase::Request, "%REQ(authorization):jwt_payload:json(roles)%|%REQ(authorization):jwt_payload:json(admin)%|%REQ(authorization):jwt_payload:json(none)%", "a,b|true|~"),
        (Phase::Request, "%REQ(x-jwt-payload):base64url:json(sub)%|%REQ(x-jwt-payload):base64url%|%REQ(x-a):jwt_payload%", "~|{\"sub\":\"a\\nb\"}|~"),
        // GET decodes to 0x18 0x44: a control byte, so missing.
        (Phase::Request, "%REQ(:method):base64url%|%REQ(x-none):json(a)%", "~|~"),
    ];
    for (phase, text, want) in cases {
        let template = Template::parse("value", text, *phase).unwrap();
        let got = template.render(&mut fake(), b"~", &mut Budget::per_phase());
        assert_eq!(String::from_utf8_lossy(&got), *want, "{text}");
    }
}

#[test]
fn a_response_log_message_renders_the_duration() {
    let template =
        Template::parse_response_log("m", "%RESPONSE_CODE% in %RESPONSE_DURATION% ms").unwrap();
    assert!(template.is_timed());
    assert_eq!(
        template.render(&mut fake(), b"-", &mut Budget::per_phase()),
        b"404 in 12 ms"
    );
    assert!(!Template::parse_response_log("m", "%RESPONSE_CODE%")
        .unwrap()
        .is_timed());
    let refused = Template::parse_response_log("m", "%REQ(:path)%").map_err(|e| e.to_string());
    assert_eq!(
        refused.err().as_deref(),
        Some("m %REQ(:path)% reads the request, which a response-phase Lua script cannot read")
    );
}

#[test]
fn refusals_table() {
    let cases: &[(Phase, &str, &str)] = &[
        (Phase::Request, "%RESP(server)%", "value %RESP(server)% reads the response, which the request phase has not got"),
        (Phase::Request, "%RESPONSE_CODE%", "value %RESPONSE_CODE% reads the response, which the request phase has not got"),
        (Phase::Response, "%REQ(:path)%", "value %REQ(:path)% reads the request, which a response-phase Lua script cannot read"),
        (Phase::Request, "a %UPSTREAM_HOST% b", "value %UPSTREAM_HOST% is not a command Moonshift renders; the commands are REQ(name), RESP(name), RESPONSE_CODE, START_TIME(format), DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, QUERY_PARAM(name), COOKIE(name), METADATA(ROUTE:namespace:key), UNIQUE_ID"),
        (Phase::Request, "%REQ(a b)%", r#"value %REQ(a b)% must be a non-empty HTTP header name (RFC 9110 token characters), got "a b""#),
        (Phase::Request, "%START_TIME%", "value %START_TIME% needs a format, as Lua's os.date does: %START_TIME(%Y-%m-%dT%H:%M:%SZ)%"),
        (Phase::Request, "%START_TIME(%Q)%", r#"value %START_TIME(%Q)%: the %START_TIME% format (Lua's os.date subset) must use only the conversions %% %a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %p %P %r %R %S %T %u %U %V %w %W %x %X %y %Y %z %Z, got "%Q""#),
        (Phase::Request, "%COOKIE()%", "value %COOKIE()% is not a command Moonshift renders; the commands are REQ(name), RESP(name), RESPONSE_CODE, START_TIME(format), DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, DOWNSTREAM_PEER_URI_SAN, QUERY_PARAM(name), COOKIE(name), METADATA(ROUTE:namespace:key), UNIQUE_ID"),
        (Phase::Request, "%REQ(:path):0%", "value %REQ(:path):0% keeps at most N bytes: N must be a number from 1"),
        (Phase::Request, "%REQ(:path):sub(1,2,3)%", "value %REQ(:path):sub(1,2,3)%: :sub(1,2,3) must be sub(i) or sub(i,j) with whole numbers, as Lua's string.sub"),
        (Phase::Request, "%REQ(:path):match(a()b)%", "value %REQ(:path):match(a()b)%: :match(a()b) is not a pattern Moonshift cuts values with: the position capture `()` at byte 1 gives a number, not a value"),
        (Phase::Request, "%REQ(:path):gsub(a,%2)%", "value %REQ(:path):gsub(a,%2)%: :gsub(a,%2) is not a substitution Moonshift makes: the replacement's `%2` at byte 0 names a capture the pattern does not have (it has 0): Lua raises \"invalid capture index\""),
        // `%)` is an escaped parenthesis: the replacement never closes, so this is no chain.
        (Phase::Request, "%REQ(:path):gsub(a,b%):1%", "value %REQ(:path):gsub(a,b%)% must be a header name or one of :authority, :method, :path, :scheme, got \":path):gsub(a,b%\""),
        (Phase::Request, "%REQ(:path):match(%b())%", "value %REQ(:path):match(%b())%: :match(%b()) is not a pattern Moonshift cuts values with: %b at byte 0 has no regular-expression equivalent"),
        (Phase::Request, "%REQ(x-a?a b)%", r#"value %REQ(a b)% must be a non-empty HTTP header name (RFC 9110 token characters), got "a b""#),
        (Phase::Response, "%RESPONSE_DURATION%", "value %RESPONSE_DURATION% is rendered in a response log message only (path-logger's response.message)"),
        (Phase::Request, "%METADATA(DYNAMIC:ns:key)%", "value %METADATA(DYNAMIC:ns:key)% must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"),
        (Phase::Request, "%METADATA(ROUTE:ns)%", "value %METADATA(ROUTE:ns)% must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"),
        (Phase::Request, "%METADATA(ROUTE::key)%", "value %METADATA(ROUTE::key)% must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"),
        (Phase::Request, "%METADATA(ROUTE:ns:)%", "value %METADATA(ROUTE:ns:)% must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"),
        (Phase::Request, "%METADATA(ROUTE:ns:a:b)%", "value %METADATA(ROUTE:ns:a:b)% must be METADATA(ROUTE:namespace:key): route metadata, one key deep (what Lua's metadata():get(key) reads)"),
        (Phase::Request, "%REQ(authorization):json(a..b)%", "value %REQ(authorization):json(a..b)%: :json(a..b) must name 1 to 8 keys joined with `.` (`:json(realm_access.roles)`), none empty or holding `%`, `:` or white space"),
        (Phase::Request, "%REQ(authorization):json()%", "value %REQ(authorization):json()%: :json() must name 1 to 8 keys joined with `.` (`:json(realm_access.roles)`), none empty or holding `%`, `:` or white space"),
        (Phase::Request, "%REQ(authorization):json(a.b.c.d.e.f.g.h.i)%", "value %REQ(authorization):json(a.b.c.d.e.f.g.h.i)%: :json(a.b.c.d.e.f.g.h.i) must name 1 to 8 keys joined with `.` (`:json(realm_access.roles)`), none empty or holding `%`, `:` or white space"),
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

/// A UUID is 36 bytes, version 4 and variant `10` whatever the random bytes, and every other bit
/// comes from them.
#[test]
fn uuid_v4_table() {
    let cases: &[([u8; 16], &str)] = &[
        ([0; 16], "00000000-0000-4000-8000-000000000000"),
        ([0xff; 16], "ffffffff-ffff-4fff-bfff-ffffffffffff"),
        (
            *b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x0f\xed\xcb\xa9\x87\x65\x43\x21",
            "12345678-9abc-4ef0-8fed-cba987654321",
        ),
    ];
    for (random, want) in cases {
        assert_eq!(String::from_utf8(uuid_v4(*random)).unwrap(), *want);
    }
}

/// With no random source the command is missing, like any other.
#[test]
fn unique_id_without_a_random_source_is_missing() {
    let template = Template::parse("value", "[%UNIQUE_ID%]", Phase::Request).unwrap();
    let mut context = Fake {
        random: None,
        ..fake()
    };
    assert_eq!(
        template.render(&mut context, b"-", &mut Budget::per_phase()),
        b"[-]"
    );
}

/// Issue 21: what one request can make a template render is bounded, whatever the configuration
/// accepted. Each row: the template, the `x-big` header's size, the budget, the value's length
/// and whether it was cut.
#[test]
fn rendering_is_bounded_per_value_and_per_phase() {
    let many = "%REQ(x-big)%".repeat(MAX_COMMANDS);
    let cases: &[(&str, &str, usize, usize, usize, bool)] = &[
        (
            "a value that fits",
            "<%REQ(x-big)%>",
            10,
            PHASE_BUDGET,
            12,
            false,
        ),
        (
            "a value over MAX_RENDERED is cut there",
            "%REQ(x-big)%%REQ(x-big)%",
            40_000,
            PHASE_BUDGET,
            MAX_RENDERED,
            true,
        ),
        (
            "64 reads of 59 KiB: cut at MAX_RENDERED",
            &many,
            59 * 1024,
            PHASE_BUDGET,
            MAX_RENDERED,
            true,
        ),
        (
            "a spent budget renders nothing more",
            "%REQ(x-big)%-%REQ(x-big)%",
            100,
            100,
            100,
            true,
        ),
        (
            "a truncated read still costs its whole read",
            "%REQ(x-big):1%%REQ(x-big):1%x",
            500,
            300,
            1,
            true,
        ),
        ("an empty budget renders nothing", "literal", 1, 0, 0, true),
    ];
    for (name, text, big, budget, want_len, want_cut) in cases {
        let template = Template::parse("value", text, Phase::Request).unwrap();
        let mut context = fake();
        context.request.push(("x-big".into(), vec![b'p'; *big]));
        let mut budget = Budget::of(*budget);
        let value = template.render(&mut context, b"-", &mut budget);
        assert_eq!(value.len(), *want_len, "{name}");
        assert_eq!(budget.cut(), *want_cut, "{name}");
    }
}

/// A template holds at most MAX_COMMANDS commands; the error names the field and the count.
#[test]
fn a_template_with_too_many_commands_is_refused() {
    let text = "%REQ(:path)%".repeat(MAX_COMMANDS + 1);
    let error = Template::parse("message", &text, Phase::Request).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "message must hold at most {MAX_COMMANDS} commands, got {}",
            MAX_COMMANDS + 1
        )
    );
    assert!(Template::parse(
        "message",
        &"%REQ(:path)%".repeat(MAX_COMMANDS),
        Phase::Request
    )
    .is_ok());
}
