#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(target_arch = "wasm32", not(any(test, feature = "schema"))),
    no_std
)]

extern crate alloc;

pub mod config;

use alloc::string::String;
use alloc::vec::Vec;
use config::Rule;
use moonshift_kit::{host, Action, Filter};
use moonshift_shared::condition;
use moonshift_shared::stream::Live;
use moonshift_shared::template::{Budget, Phase};

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(LocalReply, [request_headers]);

/// The plugin: the rules, in order.
#[derive(Debug)]
pub struct LocalReply {
    rules: Vec<Rule>,
    /// Local replies sent.
    replied: Option<host::Counter>,
}

impl Filter for LocalReply {
    const NAME: &'static str = "local-reply";
    type Stream = ();

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        let rules = config::parse(config)?;
        Ok(Self {
            rules,
            replied: host::Counter::of(Self::NAME, "replied"),
        })
    }

    /// The first rule that holds answers; the reply then runs back through the response phase
    /// of the filters before this one, as Envoy does with every local reply.
    fn on_request_headers(&self, _stream: &mut ()) -> Action {
        let mut live = Live::default();
        let Some(rule) = self
            .rules
            .iter()
            .find(|rule| condition::all_hold(&rule.when, &mut live, Phase::Request))
        else {
            return Action::Continue;
        };
        // One budget for the reply's headers and body together (shared::template::Budget).
        let mut budget = Budget::per_phase();
        let values: Vec<(&str, Vec<u8>)> = rule
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.render(&mut live, b"", &mut budget)))
            .collect();
        let headers: Vec<(&str, &[u8])> = values.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let body = rule.body.render(&mut live, b"", &mut budget);
        match host::send_local_response(rule.status, &headers, &body) {
            Ok(()) => {
                host::count(self.replied);
                Action::Pause
            }
            Err(status) => {
                log::warn!("local-reply: the host refused the reply: {status}");
                Action::Continue
            }
        }
    }
}
