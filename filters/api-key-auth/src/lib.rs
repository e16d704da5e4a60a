#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod config;
pub mod keys;

use alloc::borrow::Cow;
use alloc::string::String;
use config::Settings;
use moonshift_kit::host::{self, LogLevel, Map};
use moonshift_kit::{Action, Filter};
use moonshift_shared::condition;
use moonshift_shared::headers::lua_get;
use moonshift_shared::template;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(ApiKeyAuth, [request_headers, response_headers]);

/// The header the seed's plugin adds to an admitted request.
pub const VALIDATED: &str = "x-validated";

/// The reply to a missing or unknown key: the seed's.
const UNAUTHORIZED: &[u8] = br#"{"error":"unauthorized"}"#;

/// The plugin: its validated settings.
#[derive(Debug)]
pub struct ApiKeyAuth {
    settings: Settings,
    /// Requests refused: no key (`missing_key`), a key not allowed (`unknown_key`).
    missing_key: Option<host::Counter>,
    unknown_key: Option<host::Counter>,
}

/// Logs a host refusal; the request goes on (the refusal is Envoy's, not the client's).
fn done(what: &str, result: Result<(), moonshift_kit::abi::Status>) {
    if let Err(status) = result {
        log::warn!("api-key-auth: {what}: the host refused the change: {status}");
    }
}

impl ApiKeyAuth {
    /// `line` is the whole log line, never the key; `counter` counts why.
    fn deny(line: &[u8], counter: Option<host::Counter>) -> Action {
        host::log(LogLevel::Warn, line);
        host::count(counter);
        let headers: [(&str, &[u8]); 1] = [("content-type", b"application/json")];
        match host::send_local_response(401, &headers, UNAUTHORIZED) {
            Ok(()) => Action::Pause,
            // A reply the host will not send must not let the request through.
            Err(status) => {
                log::error!("api-key-auth: the host refused the 401: {status}");
                let _ = host::send_local_response(500, &[], b"");
                Action::Pause
            }
        }
    }
}

impl Filter for ApiKeyAuth {
    const NAME: &'static str = "api-key-auth";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        let settings = config::parse(config)?;
        Ok(Self {
            settings,
            missing_key: host::Counter::of(Self::NAME, "missing_key"),
            unknown_key: host::Counter::of(Self::NAME, "unknown_key"),
        })
    }

    fn on_request_headers(&self, _stream: &mut ()) -> Action {
        let s = &self.settings;
        let request = Map::Request;
        // The whole map, read once (from the host, or as the kit kept it for this VM entry): the
        // path and the key come from it, a repeated key header's values joined as Lua's `get`
        // joins them.
        let mut headers = request.all();
        // What the client may have sent to pass for an admitted or named request goes first.
        // Removing an absent header changes nothing, so the host is asked to only when the
        // client sent one; then the map is read again, so that no key comes from it.
        // Envoy's names are lowercase, as the configured ones are after validation.
        let consumer = s.consumer_header.as_deref().map(str::as_bytes);
        let spoofed = |name: &[u8]| name == VALIDATED.as_bytes() || Some(name) == consumer;
        if headers.iter().any(|(name, _)| spoofed(name)) {
            done(VALIDATED, request.remove(VALIDATED));
            if let Some(name) = &s.consumer_header {
                done(name, request.remove(name));
            }
            headers = request.all();
        }
        let path = lua_get(headers.iter(), ":path").unwrap_or_default();
        // Exemptions test the path without its query and fragment: `/admin?x=.png` is not
        // exempt by `suffix: .png`.
        let url_path = condition::url_path(&path);
        if s.exempt.iter().any(|m| m.test(url_path)) {
            return Action::Continue;
        }
        let from_header = lua_get(headers.iter(), &s.header).filter(|k| !k.is_empty());
        let key = from_header.or_else(|| {
            let name = s.query_param.as_deref()?;
            template::query_param(&path, name.as_bytes()).map(Cow::Borrowed)
        });
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return Self::deny(b"api-key-auth: missing API key", self.missing_key);
        };
        let Some(consumer) = keys::find(&s.allowed, &key) else {
            return Self::deny(b"api-key-auth: unknown API key", self.unknown_key);
        };
        let stripped = match (s.strip_key, &s.query_param) {
            (true, Some(name)) => Some(keys::strip_query(&path, name.as_bytes()))
                .filter(|stripped| stripped[..] != path[..]),
            _ => None,
        };
        // The map read goes before the changes: the kit keeps its copy true across them
        // (`moonshift_kit::seen`) for the filters after this one, without copying it.
        drop(headers);
        if s.strip_key {
            done(&s.header, request.remove(&s.header));
            if let Some(stripped) = stripped {
                done(":path", request.replace(":path", &stripped));
            }
        }
        if let (Some(name), Some(consumer)) = (&s.consumer_header, consumer) {
            done(name, request.add(name, consumer.as_bytes()));
        }
        done(VALIDATED, request.add(VALIDATED, b"true"));
        Action::Continue
    }

    /// The seed's `x-powered-by`, on every response, the 401s included.
    fn on_response_headers(&self, _stream: &mut ()) -> Action {
        if let Some(value) = &self.settings.powered_by {
            done(
                "x-powered-by",
                Map::Response.add("x-powered-by", value.as_bytes()),
            );
        }
        Action::Continue
    }
}
