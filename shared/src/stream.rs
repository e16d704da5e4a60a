//! The live stream as templates and conditions read it, through the host (`moonshift-kit`).
//!
//! Pseudo-headers are read one host call each (Envoy never repeats them, so the first value is
//! Lua's `get`); a regular header needs the whole map, to join repeated values as Lua's `get`
//! does. The kit reads a map from the host once a VM entry and keeps it true across the
//! filter's own changes (`moonshift_kit::seen`), so the view keeps no copy of its own.

use crate::headers::lua_get;
use crate::template::{Context, Phase};
use alloc::vec::Vec;
use moonshift_kit::host::{self, Map};

/// One phase's view of the stream; create it per callback.
#[derive(Debug, Default)]
pub struct Live {
    /// When the request's headers came, in ms since the epoch (`%RESPONSE_DURATION%`).
    started_ms: Option<u64>,
    /// The route's serialized metadata, read once (`None` inside: the host gave none).
    route_metadata: Option<Option<Vec<u8>>>,
    /// The request's `:path` and `:method` as the filter kept them from its request phase, for
    /// the response phase, where the host no longer shows them.
    request_line: Option<RequestLine>,
}

/// The request's `:path` and `:method`, kept from the request phase for conditions checked in
/// the response phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLine {
    pub path: Option<Vec<u8>>,
    pub method: Option<Vec<u8>>,
}

impl RequestLine {
    /// Read in the request phase (two host calls).
    pub fn read() -> Self {
        Self {
            path: Map::Request.get(":path"),
            method: Map::Request.get(":method"),
        }
    }
}

fn map(phase: Phase) -> Map {
    match phase {
        Phase::Request => Map::Request,
        Phase::Response => Map::Response,
    }
}

impl Live {
    /// A view whose `%RESPONSE_DURATION%` counts from `started_ms`
    /// (`clock::epoch_millis(host::now())` when the request's headers came).
    pub fn since(started_ms: Option<u64>) -> Self {
        Self {
            started_ms,
            ..Self::default()
        }
    }

    /// This view, reading the request's `:path` and `:method` from `line` (kept from the
    /// request phase) rather than from the host.
    pub fn with_request_line(mut self, line: Option<RequestLine>) -> Self {
        self.request_line = line;
        self
    }

    /// The route's serialized metadata, read from the host once per view.
    fn serialized_route_metadata(&mut self) -> Option<&[u8]> {
        self.route_metadata
            .get_or_insert_with(|| host::property(&["xds", "route_metadata"]))
            .as_deref()
    }
}

impl Context for Live {
    fn header(&mut self, phase: Phase, name: &str) -> Option<Vec<u8>> {
        if let (Phase::Request, Some(line)) = (phase, &self.request_line) {
            match name {
                ":path" => return line.path.clone(),
                ":method" => return line.method.clone(),
                _ => {}
            }
        }
        if name.starts_with(':') {
            return map(phase).get(name);
        }
        lua_get(map(phase).all().iter(), name).map(alloc::borrow::Cow::into_owned)
    }

    fn now_seconds(&mut self) -> i64 {
        i64::try_from(crate::clock::epoch_seconds(host::now())).unwrap_or(i64::MAX)
    }

    fn remote_address(&mut self) -> Option<Vec<u8>> {
        host::property(&["source", "address"])
    }

    fn peer_uri_san(&mut self) -> Option<Vec<u8>> {
        host::property(&["connection", "uri_san_peer_certificate"])
    }

    fn response_duration_ms(&mut self) -> Option<u64> {
        let now = crate::clock::epoch_millis(host::now());
        self.started_ms.map(|start| now.saturating_sub(start))
    }

    fn random_bytes(&mut self) -> Option<[u8; 16]> {
        host::random()
    }

    fn route_metadata(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        let serialized = self.serialized_route_metadata()?;
        crate::metadata::route_string(serialized, namespace, key).map(<[u8]>::to_vec)
    }

    fn route_metadata_rendered(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        let serialized = self.serialized_route_metadata()?;
        crate::metadata::route_scalar(serialized, namespace, key)
            .map(alloc::borrow::Cow::into_owned)
    }

    fn route_metadata_truthy(&mut self, namespace: &str, key: &str) -> bool {
        self.serialized_route_metadata()
            .is_some_and(|serialized| crate::metadata::route_truthy(serialized, namespace, key))
    }
}
