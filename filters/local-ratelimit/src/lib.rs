#![doc = include_str!("../README.md")]
// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(
    all(
        target_arch = "wasm32",
        not(any(test, feature = "schema", feature = "host"))
    ),
    no_std
)]

extern crate alloc;

pub mod bucket;
pub mod clients;
pub mod config;
pub mod decide;
pub mod duration;
pub mod limiter;
#[cfg(feature = "host")]
pub mod native;
pub mod stores;

use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use clients::{Client, Table};
use config::{ClientKey, Scope, Settings};
use core::cell::{Cell, RefCell};
use decide::{Counter, Sampler, Verdict};
use limiter::{Decision, Store};
use moonshift_kit::host::{self, Map};
use moonshift_kit::{Action, Filter, Phases};
use moonshift_shared::headers::lua_get;
use moonshift_shared::{clock, json, ConfigError};
use stores::{SharedData, WorkerMap};

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
moonshift_kit::export_filter!(
    LocalRateLimit,
    [request_headers, response_headers],
    per_stream
);

/// The counters of native `local_ratelimit`, `<stat_prefix>.http_local_rate_limit.<name>`
/// (`wasmcustom.` in front in Envoy's `/stats`), plus `undecided`, in [`Counter::ALL`]'s order.
/// A counter the host refuses to define is not counted, and the filter still limits: losing a
/// statistic must not turn the limiter off (nor refuse a configuration offline, in `moonshift
/// validate`, where there is no host).
#[derive(Debug, Clone)]
struct Counters([Option<host::Counter>; Counter::ALL.len()]);

impl Counters {
    fn define(stat_prefix: &str) -> Self {
        let define = |counter: Counter| {
            let full = format!("{stat_prefix}.http_local_rate_limit.{}", counter.name());
            host::Counter::define(&full)
                .map_err(|status| {
                    log::warn!(
                        "local-ratelimit: metric {} is not counted: the host refused to define it: {status}",
                        json::quote(&full)
                    );
                })
                .ok()
        };
        Self(Counter::ALL.map(define))
    }

    fn increment(&self, counter: Counter) {
        if let Some(Some(c)) = self.0.get(counter as usize) {
            c.increment();
        }
    }
}

/// The plugin: settings, counters, this worker's buckets and its sampling generator.
#[derive(Debug)]
pub struct LocalRateLimit {
    settings: Settings,
    /// Prefix of every key this plugin writes to shared data (or to its worker map).
    namespace: String,
    /// The default bucket's key, computed once.
    default_key: String,
    /// The per-client buckets' table.
    table: Table,
    counters: Counters,
    worker_buckets: RefCell<WorkerMap>,
    /// The generator for `filter_enabled` / `filter_enforced` fractions.
    sampler: Cell<Sampler>,
}

fn property(path: &[&str]) -> String {
    host::property(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

impl LocalRateLimit {
    fn new(config: Option<&[u8]>, member: Option<usize>) -> Result<Self, ConfigError> {
        let settings = config::parse(config)?;
        for key in &settings.ignored_runtime_keys {
            log::warn!(
                "local-ratelimit: runtime_key {} is ignored: a Wasm filter cannot read Envoy's runtime; default_value applies",
                json::quote(key)
            );
        }
        let mut namespace = format!(
            "moonshift.local-ratelimit/{}/{}/",
            property(&["plugin_name"]),
            property(&["plugin_root_id"])
        );
        if let Some(member) = member {
            namespace.push_str(&format!("filters[{member}]/"));
        }
        let seed = clock::epoch_millis(host::now()) ^ 0x9E37_79B9_7F4A_7C15;
        Ok(Self {
            counters: Counters::define(&settings.stat_prefix),
            table: Table::new(settings.max_client_keys),
            settings,
            default_key: limiter::default_key(&namespace),
            namespace,
            worker_buckets: RefCell::default(),
            sampler: Cell::new(Sampler::new(seed)),
        })
    }
}

impl LocalRateLimit {
    /// Runs `f` with this worker's sampler.
    fn with_sampler<T>(&self, f: impl FnOnce(&mut Sampler) -> T) -> T {
        let mut sampler = self.sampler.get();
        let out = f(&mut sampler);
        self.sampler.set(sampler);
        out
    }

    fn count(&self, verdict: Verdict) {
        for counter in decide::counters(verdict) {
            self.counters.increment(*counter);
        }
    }

    /// Runs `f` on this plugin's store for its scope; `None` if the worker map is in use
    /// (cannot happen: the host calls one context at a time).
    fn with_store<T>(&self, f: impl FnOnce(&mut dyn Store) -> T) -> Option<T> {
        match self.settings.scope {
            Scope::Process => Some(f(&mut SharedData)),
            Scope::Worker => {
                let mut map = self.worker_buckets.try_borrow_mut().ok()?;
                Some(f(&mut *map))
            }
        }
    }
}

fn now_millis() -> u64 {
    // Whole milliseconds, like the Lua's `handle:timestamp()`, so both do the same arithmetic.
    clock::epoch_millis(host::now())
}

/// A stream's state: the bucket its request consulted, for the `x-ratelimit-*` response
/// headers. `Some(None)`: the default bucket; `Some(Some(client))`: a client's.
#[derive(Debug, Default)]
pub struct Consulted(Option<Option<Client>>);

impl LocalRateLimit {
    fn client(&self) -> Option<Vec<u8>> {
        match self.settings.client_key.as_ref()? {
            ClientKey::RequestHeader(name) => {
                lua_get(Map::Request.all().iter(), name).map(alloc::borrow::Cow::into_owned)
            }
            ClientKey::RemoteAddress => host::property(&["source", "address"])
                .map(|address| limiter::strip_port(&address).to_vec()),
        }
    }
}

fn warn_refused(what: &str, result: Result<(), moonshift_kit::abi::Status>) {
    if let Err(status) = result {
        log::warn!("local-ratelimit: {what}: the host refused: {status}");
    }
}

impl Filter for LocalRateLimit {
    const NAME: &'static str = "local-ratelimit";
    type Stream = Consulted;

    fn configure(config: Option<&[u8]>) -> Result<Self, String> {
        Ok(Self::new(config, None)?)
    }

    /// In a pipeline, the member's place keys its buckets: two rate limiters in one plugin
    /// keep their own.
    fn configure_in(config: Option<&[u8]>, module: Phases) -> Result<Self, String> {
        Ok(Self::new(config, module.member)?)
    }

    fn on_request_headers(&self, stream: &mut Consulted) -> Action {
        let settings = &self.settings;
        if !self.with_sampler(|s| s.sample(settings.filter_enabled)) {
            return Action::Continue;
        }
        let client = self.client();
        let now = now_millis();
        let namespace = self.namespace.as_str();
        let client = client.map(|key| self.table.client(&key));
        let outcome = self.with_store(|store| match client {
            None => limiter::consume(store, &self.default_key, &settings.bucket, now),
            Some(client) => limiter::consume_client(
                store,
                &limiter::set_key(namespace, client.set),
                &self.table,
                client,
                &settings.bucket,
                now,
            ),
        });
        let decision = match outcome {
            Some(decision) => {
                stream.0 = Some(client);
                decision
            }
            None => Decision::Undecided,
        };
        let verdict = self.with_sampler(|s| decide::verdict(decision, s, settings.filter_enforced));
        self.count(verdict);
        match verdict {
            Verdict::Admitted => Action::Continue,
            Verdict::Undecided => {
                log::warn!("local-ratelimit: no bucket decision (shared data contended or failing); request admitted");
                Action::Continue
            }
            Verdict::Shadow => {
                for (name, value) in &settings.request_headers_to_add_when_not_enforced {
                    warn_refused(name, Map::Request.add(name, value.as_bytes()));
                }
                Action::Continue
            }
            Verdict::Enforce => {
                let headers: Vec<(&str, &[u8])> = settings
                    .response_headers_to_add
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_bytes()))
                    .collect();
                warn_refused(
                    "local reply",
                    host::send_local_response(settings.status, &headers, settings.body.as_bytes()),
                );
                Action::Pause
            }
        }
    }

    /// Only the `x-ratelimit-*` headers need to know which bucket the request consulted.
    fn keeps(&self, stream: &Consulted) -> bool {
        self.settings.x_ratelimit_headers && stream.0.is_some()
    }

    /// Runs on upstream responses and on our own 429 alike, as native `encodeHeaders` does.
    fn on_response_headers(&self, stream: &mut Consulted) -> Action {
        let settings = &self.settings;
        let Some(consulted) = stream.0.filter(|_| settings.x_ratelimit_headers) else {
            return Action::Continue;
        };
        let now = now_millis();
        let cursor = self.with_store(|store| match consulted {
            None => limiter::cursor(store, &self.default_key),
            Some(client) => limiter::client_cursor(
                store,
                &limiter::set_key(&self.namespace, client.set),
                client,
            ),
        });
        if let Some(Ok(cursor)) = cursor {
            let bucket = &settings.bucket;
            let headers = Map::Response;
            for (name, value) in [
                ("x-ratelimit-limit", settings.max_tokens.to_string()),
                (
                    "x-ratelimit-remaining",
                    bucket.remaining(cursor, now).to_string(),
                ),
                (
                    "x-ratelimit-reset",
                    bucket.reset_seconds(cursor, now).to_string(),
                ),
            ] {
                warn_refused(name, headers.add(name, value.as_bytes()));
            }
        }
        Action::Continue
    }
}
