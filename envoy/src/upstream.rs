//! An HTTP/1.1 upstream that records each request exactly as Envoy forwarded it.

use crate::http::{read_chunked, read_headers, Header};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub method: String,
    pub path: Vec<u8>,
    /// In the order received, names lowercased, values raw.
    pub headers: Vec<Header>,
    /// The body, framed by content-length or chunked (trailers read and left out).
    pub body: Vec<u8>,
}

impl Received {
    /// Every value of `name`, in order, lossily decoded.
    pub fn values(&self, name: &str) -> Vec<String> {
        crate::http::values_of(&self.headers, name)
    }
}

/// What the upstream answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Names and raw value bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: std::time::Duration,
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            status: 200,
            headers: vec![("x-upstream".into(), b"moonshift".to_vec())],
            body: moonshift_harness::exchange::UPSTREAM_BODY.to_vec(),
            delay: std::time::Duration::ZERO,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    received: Vec<Received>,
    reply: Reply,
}

/// A running upstream on a loopback port. Its threads end with the test process.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Upstream {
    /// [`Upstream::try_start`], for tests.
    #[cfg(feature = "fixture")]
    #[allow(clippy::expect_used)]
    pub fn start() -> Self {
        Self::try_start().expect("start the recording upstream")
    }

    /// Listens on a free loopback port and serves each connection on a thread of its own.
    pub fn try_start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                thread::spawn(move || serve(stream, &state));
            }
        });
        Ok(Self { port, state })
    }

    /// Every request received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state).received.clone()
    }

    pub fn set_reply(&self, reply: Reply) {
        lock(&self.state).reply = reply;
    }
}

/// The state, also after a serving thread panicked while holding it (what it recorded stays
/// readable).
fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The largest request body the upstream reads; a longer one ends the connection.
const MAX_BODY: usize = 16 << 20;

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let mut parts = text.trim_end().splitn(3, ' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().as_bytes().to_vec();
        let Ok(headers) = read_headers(&mut reader) else {
            return;
        };
        let chunked = headers.iter().any(|(k, v)| {
            k == "transfer-encoding" && String::from_utf8_lossy(v).contains("chunked")
        });
        let body = if chunked {
            match read_chunked(&mut reader) {
                Ok((body, _trailers)) => body,
                Err(_) => return,
            }
        } else {
            let length = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| String::from_utf8_lossy(v).trim().parse::<usize>().ok())
                .unwrap_or(0);
            if length > MAX_BODY {
                return;
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let reply = {
            let mut state = lock(state);
            state.received.push(Received {
                method,
                path,
                headers,
                body,
            });
            state.reply.clone()
        };
        thread::sleep(reply.delay);
        let mut out = format!("HTTP/1.1 {} Moonshift\r\n", reply.status).into_bytes();
        for (name, value) in &reply.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if matches!(reply.status, 204 | 304) {
            // No body, and no content-length, may follow these (RFC 9110 §6.4.1).
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(
                format!("content-length: {}\r\n\r\n", reply.body.len()).as_bytes(),
            );
            out.extend_from_slice(&reply.body);
        }
        if writer.write_all(&out).is_err() {
            return;
        }
    }
}
