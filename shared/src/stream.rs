//! The live stream as templates and conditions read it, through the host (`moonshift-kit`).
//!
//! Pseudo-headers are read one host call each (Envoy never repeats them, so the first value is
//! Lua's `get`); a regular header needs the whole map, to join repeated values as Lua's `get`
//! does, so the map is copied once and kept until the filter changes it ([`Live::changed`]).

use crate::headers::lua_get;
use crate::template::{Context, Phase};
use moonshift_kit::host::{self, Map};
use moonshift_kit::wire::HeaderList;

/// One phase's view of the stream; create it per callback.
#[derive(Debug, Default)]
pub struct Live {
    request: Option<HeaderList>,
    response: Option<HeaderList>,
}

fn map(phase: Phase) -> Map {
    match phase {
        Phase::Request => Map::Request,
        Phase::Response => Map::Response,
    }
}

impl Live {
    /// Forgets the copy of `phase`'s map after the filter changed it.
    pub fn changed(&mut self, phase: Phase) {
        match phase {
            Phase::Request => self.request = None,
            Phase::Response => self.response = None,
        }
    }
}

impl Context for Live {
    fn header(&mut self, phase: Phase, name: &str) -> Option<Vec<u8>> {
        if name.starts_with(':') {
            return map(phase).get(name);
        }
        let cached = match phase {
            Phase::Request => &mut self.request,
            Phase::Response => &mut self.response,
        };
        lua_get(cached.get_or_insert_with(|| map(phase).all()), name)
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
}
