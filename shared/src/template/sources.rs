//! What each command reads from the stream: headers, the clock, the client's address and
//! certificate, the query, cookies, route metadata, a fresh UUID.

use super::{Context, Phase, Source};
use alloc::string::ToString;
use alloc::vec::Vec;

/// What `source` renders to; `None` when it is missing.
pub fn read(source: &Source, context: &mut impl Context) -> Option<Vec<u8>> {
    match source {
        Source::RequestHeader(name) => context.header(Phase::Request, name),
        Source::ResponseHeader(name) => context.header(Phase::Response, name),
        Source::ResponseCode => context.header(Phase::Response, ":status"),
        Source::StartTime(stamp) => Some(stamp.render(context.now_seconds()).into_bytes()),
        Source::RemoteAddress => context.remote_address(),
        Source::RemoteAddressWithoutPort => context.remote_address().map(|mut address| {
            // Cut in place: no copy of what the host gave.
            let (start, end) = ip_span(&address);
            address.truncate(end);
            address.drain(..start);
            address
        }),
        Source::PeerUriSan => context.peer_uri_san(),
        Source::QueryParam(name) => context
            .header(Phase::Request, ":path")
            .and_then(|path| query_param(&path, name.as_bytes()).map(<[u8]>::to_vec)),
        Source::Cookie(name) => context
            .header(Phase::Request, "cookie")
            .and_then(|cookies| cookie(&cookies, name.as_bytes()).map(<[u8]>::to_vec)),
        Source::RouteMetadata { namespace, key } => context.route_metadata_rendered(namespace, key),
        Source::ResponseDuration => context
            .response_duration_ms()
            .map(|ms| ms.to_string().into_bytes()),
        Source::UniqueId => context.random_bytes().map(uuid_v4),
    }
}

/// `random` as a version 4 (random) UUID, RFC 9562 §5.4: the version nibble set to 4 and the
/// variant bits to `10`, in lowercase hex, 8-4-4-4-12. What Envoy's `%UNIQUE_ID%` renders.
pub fn uuid_v4(mut random: [u8; 16]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    let mut out = Vec::with_capacity(36);
    for (i, byte) in random.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        for nibble in [byte >> 4, byte & 0x0f] {
            out.extend(HEX.get(usize::from(nibble)));
        }
    }
    out
}

/// `[v6]:port` gives `v6`, `v4:port` gives `v4`; anything else is returned as it is.
pub fn without_port(address: &[u8]) -> &[u8] {
    let (start, end) = ip_span(address);
    address.get(start..end).unwrap_or(address)
}

/// Where [`without_port`]'s answer lies in `address`, as `(start, end)`.
fn ip_span(address: &[u8]) -> (usize, usize) {
    let whole = (0, address.len());
    if address.first() == Some(&b'[') {
        return match address.iter().position(|&b| b == b']') {
            Some(close) => (1, close),
            None => whole,
        };
    }
    match address.iter().position(|&b| b == b':') {
        Some(colon) if !address.get(colon + 1..).unwrap_or_default().contains(&b':') => (0, colon),
        _ => whole,
    }
}

/// The first `name=value` of `path`'s query (after the first `?`), raw; `name` without `=`
/// gives an empty value.
pub fn query_param<'a>(path: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let start = path.iter().position(|&b| b == b'?')?;
    path.get(start + 1..)?
        .split(|&b| b == b'&')
        .find_map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => {
                (pair.get(..eq) == Some(name)).then(|| pair.get(eq + 1..).unwrap_or_default())
            }
            None => (pair == name).then_some(&[][..]),
        })
}

/// The first `name=value` cookie of a `cookie` header (`a=1; b=2`), raw.
pub fn cookie<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.get(
            pair.iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count()..,
        )?;
        let eq = pair.iter().position(|&b| b == b'=')?;
        (pair.get(..eq) == Some(name)).then(|| pair.get(eq + 1..).unwrap_or_default())
    })
}
