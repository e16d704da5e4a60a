//! response-decorator's `replace_body` where the upstream's body is not one plain chunk: sent
//! chunked over time, ended by trailers, and larger than Envoy's buffer limit. The Lua reference
//! (`response_handle:body():setBytes(...)`) and the module play each in Envoy, and the client
//! must see the same answer from both: status, headers, body and trailers.
//!
//! The upstream is a raw socket here, since the recording upstream answers with one
//! content-length body. Trailers cross Envoy's HTTP/1.1 codecs only where enabled
//! (`enable_trailers`), on the cluster and on the listener alike.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::http::{read_chunked, read_headers};
use moonshift_tests::runner::{self, Flavour};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Past Envoy's default buffer limit (1 MiB a connection).
const BIG: usize = 2 << 20;

/// The upstream's answer to `path`, written in pieces with pauses, so that Envoy hands the
/// filter several body chunks.
fn answer(path: &str, stream: &mut TcpStream) -> std::io::Result<()> {
    let head = |framing: &str| {
        format!("HTTP/1.1 404 Not Found\r\nx-upstream: raw\r\ncontent-type: text/plain\r\n{framing}\r\n\r\n")
    };
    let pause = || std::thread::sleep(Duration::from_millis(30));
    match path {
        "/chunked" | "/trailers" => {
            stream.write_all(head("transfer-encoding: chunked").as_bytes())?;
            for piece in ["hello", ", upstream", " body"] {
                pause();
                stream.write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes())?;
                stream.flush()?;
            }
            pause();
            match path {
                "/trailers" => stream.write_all(b"0\r\nx-checksum: 42\r\n\r\n")?,
                _ => stream.write_all(b"0\r\n\r\n")?,
            }
        }
        "/trailers-only" => {
            stream.write_all(head("transfer-encoding: chunked").as_bytes())?;
            pause();
            stream.write_all(b"0\r\nx-checksum: 42\r\n\r\n")?;
        }
        "/slow" => {
            // The headers now, the body when the client has long gone.
            stream.write_all(head("content-length: 5").as_bytes())?;
            stream.flush()?;
            std::thread::sleep(Duration::from_millis(300));
            stream.write_all(b"late!")?;
        }
        "/big" => {
            stream.write_all(head(&format!("content-length: {BIG}")).as_bytes())?;
            let piece = vec![b'a'; 64 << 10];
            for _ in 0..BIG / piece.len() {
                stream.write_all(&piece)?;
            }
        }
        _ => stream
            .write_all(b"HTTP/1.1 200 OK\r\nx-upstream: raw\r\ncontent-length: 7\r\n\r\nupright")?,
    }
    stream.flush()
}

/// A raw upstream on a loopback port: one answer a connection, by the request's path.
fn raw_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
                    if read_headers(&mut reader).is_err() {
                        return;
                    }
                    let mut stream = stream.try_clone().unwrap();
                    if answer(&path, &mut stream).is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    port
}

/// What the client saw: status line, headers (without the ones that vary), body and trailers.
#[derive(PartialEq, Eq)]
struct Seen {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

/// A 2 MiB body is shown by its length and first bytes.
impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.body[..self.body.len().min(64)];
        f.debug_struct("Seen")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .field("body", &String::from_utf8_lossy(shown))
            .field("trailers", &self.trailers)
            .finish()
    }
}

/// `GET path` over HTTP/1.1 with `connection: close`, read to the end.
fn fetch(port: u16, path: &str) -> Seen {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to Envoy");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: moonshift.test\r\nte: trailers\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).expect("a status line");
    let headers = read_headers(&mut reader).expect("headers");
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && text(v).contains("chunked"));
    let (body, trailers) = match chunked {
        true => read_chunked(&mut reader).expect("a chunked body"),
        false => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).expect("the body");
            (body, Vec::new())
        }
    };
    let keep = |(k, v): &(String, Vec<u8>)| {
        (!matches!(k.as_str(), "date" | "x-envoy-upstream-service-time"))
            .then(|| (k.clone(), text(v)))
    };
    Seen {
        status: status.trim_end().to_string(),
        headers: headers.iter().filter_map(keep).collect(),
        body,
        trailers: trailers.iter().filter_map(keep).collect(),
    }
}

/// The upstream's 404 becomes a JSON answer, as in the filter's scenario.
fn config() -> Value {
    json!({"operations": [
        {"action": "set", "name": "content-type", "value": "application/json", "when": [{"status": [404]}]},
        {"action": "replace_body", "value": "{\"message\":\"not here\"}", "when": [{"status": [404]}]},
    ]})
}

/// Envoy with response-decorator as `flavour` in front of the raw upstream, trailers enabled on
/// both HTTP/1.1 sides.
fn start(flavour: Flavour, upstream: u16) -> Envoy {
    let label = format!("replace-body-{flavour:?}");
    let dir = envoy::scratch_dir(&label);
    let entry = runner::filter_entry("response-decorator", Some(&config()), flavour, &dir)
        .expect("the filter entry");
    let launch = Launch::default();
    Envoy::try_start_with(&label, &launch, |port, admin| {
        let mut config = envoy::bootstrap(port, admin, upstream, std::slice::from_ref(&entry));
        let trailers = [
            (
                "/static_resources/clusters/0",
                "typed_extension_protocol_options",
                json!({"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http_protocol_options": {"enable_trailers": true}},
                }}),
            ),
            (
                "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config",
                "http_protocol_options",
                json!({"enable_trailers": true}),
            ),
        ];
        for (at, key, value) in trailers {
            let object = config.pointer_mut(at).and_then(Value::as_object_mut);
            object.unwrap().insert(key.into(), value);
        }
        config
    })
    .unwrap_or_else(|failure| panic!("Envoy did not start: {}", failure.log))
}

/// `seen` without its framing: `content-length`, `transfer-encoding` and trailers.
fn unframed(seen: &Seen) -> Seen {
    Seen {
        status: seen.status.clone(),
        headers: seen
            .headers
            .iter()
            .filter(|(k, _)| k != "content-length" && k != "transfer-encoding")
            .cloned()
            .collect(),
        body: seen.body.clone(),
        trailers: Vec::new(),
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_replaced_body_is_the_luas_whatever_the_upstreams_body_looks_like() {
    let upstream = raw_upstream();
    let lua = start(Flavour::Lua, upstream);
    let wasm = start(Flavour::Wasm, upstream);
    let play = |path: &str| {
        let (from_lua, from_wasm) = (fetch(lua.port, path), fetch(wasm.port, path));
        eprintln!("{path}: Lua  {from_lua:?}\n{path}: Wasm {from_wasm:?}");
        (from_lua, from_wasm)
    };
    let logs = || format!("Wasm log: {}\nLua log: {}", wasm.log_tail(), lua.log_tail());
    let replaced = br#"{"message":"not here"}"#.to_vec();

    // A body framed by content-length, untouched or replaced, and trailers with no body before
    // them (Lua's body() is nil there, and the module has nothing to write over): the same.
    for path in ["/ok", "/trailers-only"] {
        let (from_lua, from_wasm) = play(path);
        assert_eq!(from_wasm, from_lua, "{path}\n{}", logs());
    }

    // A chunked body, ended by its last chunk or by trailers: the same answer and body. The Lua
    // frames the new body by the content-length setBytes writes, and Envoy's HTTP/1.1 codec then
    // drops the upstream's trailers; the module writes content-length only over the upstream's
    // own, so the new body stays chunked and the trailers pass (a listed difference, framing
    // only: compare and the scenarios set framing aside).
    for (path, trailers) in [
        ("/chunked", vec![]),
        (
            "/trailers",
            vec![("x-checksum".to_string(), "42".to_string())],
        ),
    ] {
        let (from_lua, from_wasm) = play(path);
        assert_eq!(
            unframed(&from_wasm),
            unframed(&from_lua),
            "{path}\n{}",
            logs()
        );
        assert_eq!(from_wasm.body, replaced, "{path}");
        assert_eq!(header(&from_lua, "content-length"), Some("22"), "{path}");
        assert_eq!(header(&from_lua, "transfer-encoding"), None, "{path}");
        assert!(
            from_lua.trailers.is_empty(),
            "{path}: {:?}",
            from_lua.trailers
        );
        assert_eq!(header(&from_wasm, "content-length"), None, "{path}");
        assert_eq!(
            header(&from_wasm, "transfer-encoding"),
            Some("chunked"),
            "{path}"
        );
        assert_eq!(from_wasm.trailers, trailers, "{path}");
    }

    // A body past Envoy's buffer limit (1 MiB): the Lua's body() buffers it and Envoy answers
    // 500, where the module, which buffers nothing, answers what the configuration says (a
    // listed difference).
    let (from_lua, from_wasm) = play("/big");
    assert_eq!(
        from_lua.status,
        "HTTP/1.1 500 Internal Server Error",
        "{}",
        logs()
    );
    assert_eq!(from_lua.body, b"Internal Server Error");
    assert_eq!(from_wasm.status, "HTTP/1.1 404 Not Found", "{}", logs());
    assert_eq!(header(&from_wasm, "content-length"), Some("22"));
    assert_eq!(header(&from_wasm, "content-type"), Some("application/json"));
    assert_eq!(from_wasm.body, replaced);
}

/// A client that goes away between the headers and the body leaves the module's entry for that
/// stream (a module is not told of a reset); past `MAX_BODIES_WAITING` (1,024) entries the oldest
/// are dropped. After more resets than that, the module still replaces bodies and Envoy logged
/// no Wasm failure.
#[test]
fn streams_reset_before_their_body_leave_the_module_serving() {
    let upstream = raw_upstream();
    let wasm = start(Flavour::Wasm, upstream);
    for _ in 0..1_100 {
        let mut stream = TcpStream::connect(("127.0.0.1", wasm.port)).expect("connect to Envoy");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nhost: moonshift.test\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("a status line");
        assert!(status.contains(" 404 "), "{status}");
        read_headers(&mut reader).expect("headers");
        // Dropped here: the client resets the stream before the body.
    }
    let after = fetch(wasm.port, "/chunked");
    assert_eq!(after.body, br#"{"message":"not here"}"#, "{after:?}");
    let log = wasm.log();
    for failure in [
        "panicked",
        "Function: proxy_on_response",
        "wasm log: error",
        "VM failed",
    ] {
        assert!(
            !log.contains(failure),
            "Envoy logged {failure:?}:\n{}",
            wasm.log_tail()
        );
    }
}
