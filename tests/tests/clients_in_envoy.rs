//! The clients and the recording upstream `moonshift compare --envoy` stands on, through a real
//! Envoy: HEAD (a response without a body, whatever its content-length says), OPTIONS, and
//! request bodies, by length and chunked with trailers, over HTTP/1.1 and HTTP/2.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::Envoy;
use moonshift_tests::h2client;
use moonshift_tests::http::Request;
use moonshift_tests::upstream::Upstream;

#[derive(Debug, Clone, Copy)]
enum Over {
    Http1,
    Http2,
}

fn send(envoy: &Envoy, request: &Request, over: Over) -> moonshift_tests::http::Response {
    match over {
        Over::Http1 => request.send(envoy.port),
        Over::Http2 => h2client::send(request, envoy.port),
    }
    .unwrap_or_else(|e| panic!("{over:?} {}: {e}\n{}", request.method, envoy.log_tail()))
}

#[test]
fn head_options_and_bodies_go_through_envoy_both_ways() {
    let upstream = Upstream::start();
    let envoy = Envoy::start("clients", &[], upstream.port, 1);
    for over in [Over::Http1, Over::Http2] {
        let seen = upstream.received().len();
        // HEAD: Envoy passes the upstream's content-length (11) on; no body follows it.
        let head = send(&envoy, &Request::get("/h").method("HEAD"), over);
        assert_eq!(head.status, 200, "{over:?}");
        assert!(head.body.is_empty(), "{over:?}: {:?}", head.body);
        let options = send(&envoy, &Request::get("/o").method("OPTIONS"), over);
        assert_eq!(
            (options.status, &options.body[..]),
            (200, &b"upstream ok"[..])
        );
        let body: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let post = send(&envoy, &Request::get("/p").method("POST").body(&body), over);
        assert_eq!(post.status, 200, "{over:?}");
        let received = upstream.received();
        let methods: Vec<&str> = received[seen..].iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["HEAD", "OPTIONS", "POST"], "{over:?}");
        assert_eq!(
            received[seen + 2].body,
            body,
            "{over:?}: the body arrives whole"
        );
    }
    // A chunked body with a trailer, as a client streams it: Envoy forwards the body (its own
    // framing upstream); the upstream reads past the trailer to the next request.
    let seen = upstream.received().len();
    let chunked = Request::get("/c")
        .method("POST")
        .header("transfer-encoding", "chunked")
        .body("5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 1\r\n\r\n");
    assert_eq!(send(&envoy, &chunked, Over::Http1).status, 200);
    assert_eq!(
        send(&envoy, &Request::get("/after"), Over::Http1).status,
        200
    );
    let received = upstream.received();
    assert_eq!(received[seen].body, b"hello world");
    assert_eq!(received[seen + 1].path, b"/after");
}

#[test]
fn an_envoy_that_fails_says_its_last_lines_and_where_the_rest_is() {
    let broken = serde_json::json!({"name": "envoy.filters.http.nonexistent", "typed_config": {
        "@type": "type.googleapis.com/google.protobuf.Struct"}});
    let failure = Envoy::try_start("clients-broken", &[broken], 9, 1).expect_err("refused");
    let shown = failure.to_string();
    let first = shown.lines().next().unwrap_or_default();
    assert!(first.starts_with("Envoy exited with status "), "{shown}");
    let tail_header = shown.lines().nth(1).unwrap_or_default();
    assert!(
        tail_header.starts_with("The last ") && tail_header.contains("envoy.log):"),
        "{shown}"
    );
    assert!(
        shown.lines().count() <= 32,
        "at most 30 lines of log: {shown}"
    );
    assert!(
        shown.contains("nonexistent"),
        "Envoy's reason is among them: {shown}"
    );
    let path = tail_header
        .split("(all of it: ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("):"))
        .expect("a path");
    assert!(std::path::Path::new(path).exists(), "{path}");
}
