//! An HTTP/2 (prior knowledge, cleartext) client for one request, on the `h2` crate.

use crate::http::{Header, Request, Response};
use std::io;

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Whether `request` can travel over HTTP/2 through the `http` crate's types (a path that is
/// not valid URI text, or a control character in a header value, cannot).
pub fn representable(request: &Request) -> bool {
    build(request).is_ok()
}

fn build(request: &Request) -> io::Result<http::Request<()>> {
    let path = std::str::from_utf8(&request.path).map_err(other)?;
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(format!("http://{}{path}", request.authority));
    for (name, value) in &request.headers {
        let value = http::HeaderValue::from_bytes(value).map_err(other)?;
        builder = builder.header(name.as_str(), value);
    }
    builder.body(()).map_err(other)
}

/// Sends `request` over a new HTTP/2 connection to `127.0.0.1:port`.
pub fn send(request: &Request, port: u16) -> io::Result<Response> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http_request = build(request)?;
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let (client, connection) = h2::client::handshake(tcp).await.map_err(other)?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.map_err(other)?;
        let (response, mut stream) = client
            .send_request(http_request, request.body.is_empty())
            .map_err(other)?;
        if !request.body.is_empty() {
            stream.reserve_capacity(request.body.len());
            stream
                .send_data(bytes::Bytes::from(request.body.clone()), true)
                .map_err(other)?;
        }
        let response = response.await.map_err(other)?;
        let (parts, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(other)?;
            let _ = body.flow_control().release_capacity(chunk.len());
            bytes.extend_from_slice(&chunk);
        }
        driver.abort();
        // `http::HeaderMap` keeps the order of distinct names, with a name's repeated values
        // together: the order the client can observe.
        let headers: Vec<Header> = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
            .collect();
        Ok(Response {
            status: parts.status.as_u16(),
            headers,
            body: bytes,
        })
    })
}
