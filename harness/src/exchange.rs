//! What goes into a filter and what comes out, the same for both hosts.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A header: lowercase name, raw value bytes.
pub type Header = (String, Vec<u8>);

/// The route's `filter_metadata`: namespace, then key, then value.
pub type RouteMetadata =
    std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>;

/// Log levels, as Envoy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl Level {
    /// proxy-wasm's numbering (`LogLevel`).
    pub fn from_proxy_wasm(level: u32) -> Self {
        match level {
            0 => Self::Trace,
            1 => Self::Debug,
            2 => Self::Info,
            3 => Self::Warn,
            4 => Self::Error,
            _ => Self::Critical,
        }
    }
}

/// One line a filter logged.
#[derive(Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: Vec<u8>,
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:?}] {}", self.level, show_bytes(&self.message))
    }
}

/// As text, as a person reads a log line, never a list of byte values.
impl fmt::Debug for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// One request through the filter: its headers (pseudo-headers included, in order), and the
/// response the upstream gives if the request reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub request_headers: Vec<Header>,
    /// `ip:port` of the downstream peer.
    pub remote_address: String,
    /// The URI SANs of the client's certificate; empty: no TLS, or no URI SAN.
    pub peer_uri_sans: Vec<String>,
    pub upstream_status: u16,
    pub upstream_headers: Vec<Header>,
    /// How long the upstream takes to answer: the clock moves this far between a request that
    /// reaches it and the response phase.
    pub upstream_delay_ms: u64,
    /// The matched route's metadata.
    pub route_metadata: RouteMetadata,
}

impl Exchange {
    /// A plain `GET path` to `authority` with a user agent, from 127.0.0.1, answered 200 with
    /// no headers: the request benchmarks send.
    pub fn get(authority: &str, path: &str) -> Self {
        Self {
            request_headers: vec![
                (":authority".into(), authority.as_bytes().to_vec()),
                (":path".into(), path.as_bytes().to_vec()),
                (":method".into(), b"GET".to_vec()),
                (":scheme".into(), b"http".to_vec()),
                ("user-agent".into(), b"moonshift-bench".to_vec()),
            ],
            remote_address: "127.0.0.1:40000".into(),
            peer_uri_sans: Vec::new(),
            upstream_status: 200,
            upstream_headers: Vec::new(),
            upstream_delay_ms: 0,
            route_metadata: RouteMetadata::new(),
        }
    }
}

/// The response the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// In order, without `:status`.
    pub headers: Vec<Header>,
    /// `None` when the upstream's body passes through untouched.
    pub body: Option<Vec<u8>>,
}

/// Everything observable about one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The request headers as the upstream saw them; `None` for a local reply.
    pub upstream_request: Option<Vec<Header>>,
    pub response: Response,
    pub logs: Vec<LogLine>,
}

/// Builds a local reply's headers the way Envoy's `sendLocalReply` does for both `respond()`
/// and `proxy_send_local_response`: the given headers, then `content-type: text/plain` when there
/// is a body and no content type was given.
pub fn local_reply_headers(mut headers: Vec<Header>, body: &[u8]) -> Vec<Header> {
    if !body.is_empty() && !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), b"text/plain".to_vec()));
    }
    headers
}

/// A local reply a filter asked for: status, headers, body.
pub type LocalReply = (u16, Vec<Header>, Vec<u8>);

/// The response phase of an exchange, as Envoy sets it up for a filter's response callback:
/// the filter's own local reply if it sent one, else the upstream's response.
#[derive(Debug, Clone)]
pub struct ResponsePhase {
    upstream_request: Option<Vec<Header>>,
    status: u16,
    /// The body as the filters leave it: a local reply's, or the upstream's
    /// ([`UPSTREAM_BODY`]); `None` when the response has none.
    body: Option<Vec<u8>>,
}

/// What the upstream answers in its body, in-process and in Envoy (the real-Envoy runner's
/// upstream sends the same), unless its status says there is none.
pub const UPSTREAM_BODY: &[u8] = b"upstream ok";

/// An upstream's headers as Envoy hands them to the filters: with the `content-length` the
/// real-Envoy runner's upstream sends after them ([`UPSTREAM_BODY`]'s, on every status but 1xx,
/// 204 and 304), unless the scenario frames the response itself.
fn with_content_length(status: u16, mut headers: Vec<Header>) -> Vec<Header> {
    let framed = headers
        .iter()
        .any(|(k, _)| k == "content-length" || k == "transfer-encoding");
    if !framed && has_body(status, None) {
        headers.push((
            "content-length".to_string(),
            UPSTREAM_BODY.len().to_string().into_bytes(),
        ));
    }
    headers
}

/// Whether a response with `status` to a request with `method` has a body: not for 1xx, 204
/// and 304 (RFC 9110 §6.4.1), nor for HEAD.
pub fn has_body(status: u16, method: Option<&[u8]>) -> bool {
    !(status < 200 || status == 204 || status == 304 || method == Some(b"HEAD"))
}

impl ResponsePhase {
    /// Starts the response phase (after the upstream's delay on `clock` when the request
    /// reached it); returns it and the response header map the filter sees (`:status` first).
    pub fn start(
        local_reply: Option<LocalReply>,
        exchange: &Exchange,
        request_headers: &[Header],
        clock: &crate::clock::Clock,
    ) -> (Self, Vec<Header>) {
        if local_reply.is_none() {
            clock.set_nanos(clock.nanos() + exchange.upstream_delay_ms * 1_000_000);
        }
        let (phase, headers) = match local_reply {
            Some((status, headers, body)) => {
                let headers = local_reply_headers(headers, &body);
                (
                    Self {
                        upstream_request: None,
                        status,
                        body: Some(body),
                    },
                    headers,
                )
            }
            None => {
                let method = request_headers
                    .iter()
                    .find(|(k, _)| k == ":method")
                    .map(|(_, v)| v.as_slice());
                (
                    Self {
                        upstream_request: Some(request_headers.to_vec()),
                        status: exchange.upstream_status,
                        body: has_body(exchange.upstream_status, method)
                            .then(|| UPSTREAM_BODY.to_vec()),
                    },
                    with_content_length(
                        exchange.upstream_status,
                        exchange.upstream_headers.clone(),
                    ),
                )
            }
        };
        let mut map = vec![(":status".to_string(), phase.status.to_string().into_bytes())];
        map.extend(headers);
        (phase, map)
    }

    /// The response body the next filter back sees, and may replace.
    pub fn body_mut(&mut self) -> &mut Option<Vec<u8>> {
        &mut self.body
    }

    /// The outcome, from the response header map as the filter left it. An upstream's body
    /// no filter replaced is `None` ("the upstream's").
    pub fn finish(self, mut headers: Vec<Header>, logs: Vec<LogLine>) -> Outcome {
        let status = headers
            .iter()
            .position(|(k, _)| k == ":status")
            .map(|i| headers.remove(i).1)
            .and_then(|v| String::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(self.status);
        let body = match (&self.upstream_request, self.body) {
            (Some(_), Some(body)) if body == UPSTREAM_BODY => None,
            (Some(_), None) => None,
            (_, body) => body,
        };
        Outcome {
            upstream_request: self.upstream_request,
            response: Response {
                status,
                headers,
                body,
            },
            logs,
        }
    }
}

/// Bytes as text where they are UTF-8, `\xNN` where they are not.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Lua `headers():get()` on a header list: every value joined with `,`.
pub fn joined(headers: &[Header], name: &str) -> Option<Vec<u8>> {
    let mut values = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone());
    let first = values.next()?;
    Some(values.fold(first, |mut acc, v| {
        acc.push(b',');
        acc.extend_from_slice(&v);
        acc
    }))
}

/// Envoy's `setCopy` (Lua `replace`, proxy-wasm `replace_header_map_value`): every entry of
/// `name` goes and one entry with `value` is appended at the end (observed in Envoy 1.40: the
/// header moves to the end, it does not keep the first entry's place).
pub fn replace_header(headers: &mut Vec<Header>, name: &str, value: &[u8]) {
    let name = name.to_ascii_lowercase();
    headers.retain(|(k, _)| *k != name);
    headers.push((name, value.to_vec()));
}

/// Removes every entry of `name`.
pub fn remove_header(headers: &mut Vec<Header>, name: &str) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
}

/// `outcome` with a local reply's headers in name order (each name's values kept in order), for
/// comparing with a Lua reply: `respond()` takes its headers as a Lua table, whose order LuaJIT
/// does not define (it seeds string hashing per state), and Envoy sends them in that order.
pub fn reply_headers_by_name(outcome: &Outcome) -> Outcome {
    let mut out = outcome.clone();
    if out.upstream_request.is_none() {
        out.response.headers.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

mod unique_ids;
pub use unique_ids::{is_uuid_v4, mask_unique_ids, mask_uuids, renders_unique_ids, UNIQUE_ID_MASK};

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn replace_removes_every_entry_and_appends_one() {
        let cases = [
            (
                vec![("a", "1"), ("x", "1"), ("b", "2"), ("x", "2")],
                vec![("a", "1"), ("b", "2"), ("x", "new")],
            ),
            (vec![("a", "1")], vec![("a", "1"), ("x", "new")]),
            (vec![], vec![("x", "new")]),
        ];
        for (before, after) in cases {
            let mut headers = map(&before);
            replace_header(&mut headers, "X", b"new");
            assert_eq!(headers, map(&after), "{before:?}");
        }
    }

    #[test]
    fn joined_and_removed() {
        let mut headers = map(&[("x", "1"), ("y", ""), ("x", "2")]);
        assert_eq!(joined(&headers, "X"), Some(b"1,2".to_vec()));
        assert_eq!(joined(&headers, "y"), Some(Vec::new()));
        assert_eq!(joined(&headers, "z"), None);
        remove_header(&mut headers, "x");
        assert_eq!(headers, map(&[("y", "")]));
    }

    #[test]
    fn local_reply_content_type_rule() {
        assert_eq!(
            local_reply_headers(vec![], b"body"),
            map(&[("content-type", "text/plain")])
        );
        assert_eq!(local_reply_headers(vec![], b""), map(&[]));
        let given = map(&[("content-type", "application/json")]);
        assert_eq!(local_reply_headers(given.clone(), b"{}"), given);
    }

    #[test]
    fn bytes_are_shown_readably() {
        assert_eq!(show_bytes(b"ok \xff\x00"), "ok \\xff\u{0}");
    }
}
