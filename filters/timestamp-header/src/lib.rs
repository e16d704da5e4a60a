#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod config;
pub use moonshift_shared::strftime;

use alloc::string::String;
use config::{OnExisting, Settings};
use moonshift_kit::host::{self, Map};
use moonshift_kit::{Action, Filter};
use moonshift_shared::clock;
use moonshift_shared::strftime::Stamp;

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(TimestampHeader, [request_headers]);

/// The plugin: its validated settings, and its format as a [`Stamp`], so a second's requests
/// format the value once.
#[derive(Debug)]
pub struct TimestampHeader {
    settings: Settings,
    stamp: Stamp,
}

impl Filter for TimestampHeader {
    const NAME: &'static str = "timestamp-header";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        let settings = config::parse(config)?;
        Ok(Self {
            stamp: Stamp::new(settings.format.clone()),
            settings,
        })
    }

    fn on_request_headers(&self, _stream: &mut ()) -> Action {
        let settings = &self.settings;
        let second = clock::epoch_seconds(host::now());
        let value = self.stamp.render(i64::try_from(second).unwrap_or(i64::MAX));
        let header = settings.header.as_str();
        let headers = Map::Request;
        let done = match settings.on_existing {
            OnExisting::Append => headers.add(header, value.as_bytes()),
            OnExisting::Replace => headers.replace(header, value.as_bytes()),
            OnExisting::Keep => match headers.get(header) {
                Some(_) => Ok(()),
                None => headers.add(header, value.as_bytes()),
            },
        };
        if let Err(status) = done {
            log::warn!("timestamp-header: {header}: the host refused the change: {status}");
        }
        Action::Continue
    }
}
