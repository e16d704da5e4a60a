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
}

impl Request {
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            path: path.as_bytes().to_vec(),
            authority: "moonshift.test".into(),
            headers: Vec::new(),
        }
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
        bytes.extend_from_slice(b"\r\n");
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
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
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
        let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
        let mut value = &line[colon + 1..];
        while value.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            value = &value[1..];
        }
        headers.push((name, value.to_vec()));
    }
}
