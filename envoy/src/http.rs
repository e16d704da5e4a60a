//! A raw HTTP/1.1 client: one request per connection, any header bytes.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A header as it travels: name and raw value bytes.
pub type Header = (String, Vec<u8>);

/// What the client got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// In the order received, names lowercased.
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

/// Every value of `name` in `headers`, in order, lossily decoded.
pub fn values_of(headers: &[Header], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

impl Response {
    /// Every value of `name`, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        values_of(&self.headers, name)
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.values(name).into_iter().next()
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: Vec<u8>,
    /// Sent as `host` (HTTP/1.1) or `:authority` (HTTP/2).
    pub authority: String,
    pub headers: Vec<Header>,
    /// Sent with a `content-length` (HTTP/1.1) unless a header frames it already.
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            path: path.as_bytes().to_vec(),
            authority: "moonshift.test".into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same request with `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_string();
        self
    }

    /// The same request with `body`.
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_string(), value.as_ref().to_vec()));
        self
    }

    /// Sends the request to `127.0.0.1:port` and reads the whole response.
    pub fn send(&self, port: u16) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(&self.to_bytes())?;
        let mut reader = BufReader::new(stream);
        match self.method == "HEAD" {
            // A HEAD response has no body, whatever its content-length says (RFC 9110 §9.3.2).
            true => read_head(&mut reader),
            false => read_response(&mut reader),
        }
    }

    /// The request as HTTP/1.1 bytes, with `connection: close`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_on(true)
    }

    /// The request as HTTP/1.1 bytes; without `close`, for a connection that carries more.
    pub fn to_bytes_on(&self, close: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(self.method.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(&self.path);
        bytes.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        bytes.extend_from_slice(self.authority.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        if close {
            bytes.extend_from_slice(b"connection: close\r\n");
        }
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        let framed = self.headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
        });
        if !self.body.is_empty() && !framed {
            bytes.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

/// Reads the status line and headers of a response to HEAD.
pub fn read_head(reader: &mut impl BufRead) -> std::io::Result<Response> {
    let (status, headers) = read_status_and_headers(reader)?;
    Ok(Response {
        status,
        headers,
        body: Vec::new(),
    })
}

/// A response's status line and headers.
fn read_status_and_headers(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<Header>)> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    let status_line = String::from_utf8_lossy(&line).into_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(&format!("bad status line {status_line:?}")))?;
    Ok((status, read_headers(reader)?))
}

/// Reads a status line, headers and a body framed by content-length, chunked encoding, or EOF.
pub fn read_response(reader: &mut impl BufRead) -> std::io::Result<Response> {
    let (status, headers) = read_status_and_headers(reader)?;
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let mut body = Vec::new();
    if let Some(length) = find("content-length") {
        let length: usize = length
            .trim()
            .parse()
            .map_err(|_| invalid("bad content-length"))?;
        if length > MAX_BODY {
            return Err(invalid("content-length over 64 MiB"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        body = read_chunked(reader)?.0;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The largest body [`read_chunked`] reads.
const MAX_BODY: usize = 64 << 20;

/// A chunked body and its trailers (RFC 9112 §7.1): chunks up to the last (size 0), then
/// trailer fields up to a blank line. Chunk extensions are ignored.
pub fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<(Vec<u8>, Vec<Header>)> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let digits = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(digits, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            return Ok((body, read_headers(reader)?));
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(invalid("chunked body over 64 MiB"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(body.get_mut(start..).unwrap_or_default())?;
        let mut end = [0u8; 2];
        reader.read_exact(&mut end)?;
        if &end != b"\r\n" {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
}

/// Reads header lines up to the blank line; names lowercased, values raw.
pub fn read_headers(reader: &mut impl BufRead) -> std::io::Result<Vec<Header>> {
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(invalid("connection closed inside the header block"));
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            return Ok(headers);
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| invalid("header without ':'"))?;
        let (name, rest) = line.split_at(colon);
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let value = rest.get(1..).unwrap_or_default();
        let start = value
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .unwrap_or(value.len());
        headers.push((name, value.get(start..).unwrap_or_default().to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_body_goes_with_its_length_unless_a_header_frames_it() {
        let sent = Request::get("/p").method("POST").body("abc").to_bytes();
        let text = String::from_utf8_lossy(&sent);
        assert!(text.starts_with("POST /p HTTP/1.1\r\n"), "{text}");
        assert!(text.ends_with("content-length: 3\r\n\r\nabc"), "{text}");
        let chunked = Request::get("/p")
            .method("POST")
            .header("transfer-encoding", "chunked")
            .body("3\r\nabc\r\n0\r\n\r\n")
            .to_bytes();
        assert!(!String::from_utf8_lossy(&chunked).contains("content-length"));
        let bodyless = String::from_utf8_lossy(&Request::get("/").to_bytes()).into_owned();
        assert!(!bodyless.contains("content-length"), "{bodyless}");
    }

    #[test]
    fn chunked_bodies_are_read_with_their_trailers_and_nothing_after() {
        let wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
            3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nx-checksum: 42\r\n\r\nNEXT";
        let mut reader = BufReader::new(&wire[..]);
        let response = read_response(&mut reader).expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"abcde");
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).expect("the rest");
        assert_eq!(
            rest, b"NEXT",
            "the trailers are consumed, the next response is not"
        );
    }

    #[test]
    fn framing_that_lies_is_an_error_not_a_panic() {
        for wire in [
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"nonsense",
        ] {
            assert!(
                read_response(&mut BufReader::new(wire)).is_err(),
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}
