#![doc = include_str!("../README.md")]

pub mod bucket;
pub mod config;
pub mod duration;
pub mod limiter;
pub mod stores;

use config::{ClientKey, Fraction, Scope, Settings};
use limiter::{Decision, Store};
use moonshift_shared::headers::lua_get;
use moonshift_shared::host::Plugin;
use moonshift_shared::{clock, json, ConfigError};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MetricType};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use stores::{SharedData, WorkerMap};

#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
proxy_wasm::main! {{
    moonshift_shared::host::start::<LocalRateLimit>();
}}

/// The counters of native `local_ratelimit`, `<stat_prefix>.http_local_rate_limit.<name>`
/// (`wasmcustom.` in front in Envoy's `/stats`), plus `undecided`.
#[derive(Debug, Clone, Copy)]
struct Counters {
    enabled: u32,
    ok: u32,
    rate_limited: u32,
    enforced: u32,
    shadow_mode: u32,
    /// Requests admitted without a decision (CAS attempts ran out, or shared data failed).
    undecided: u32,
}

impl Counters {
    fn define(stat_prefix: &str) -> Result<Self, ConfigError> {
        let define = |name: &str| {
            let full = format!("{stat_prefix}.http_local_rate_limit.{name}");
            hostcalls::define_metric(MetricType::Counter, &full).map_err(|status| {
                ConfigError::new(format!(
                    "cannot define metric {}: {status:?}",
                    json::quote(&full)
                ))
            })
        };
        Ok(Self {
            enabled: define("enabled")?,
            ok: define("ok")?,
            rate_limited: define("rate_limited")?,
            enforced: define("enforced")?,
            shadow_mode: define("shadow_mode")?,
            undecided: define("undecided")?,
        })
    }
}

fn increment(metric: u32) {
    let _ = hostcalls::increment_metric(metric, 1);
}

/// The plugin: settings, counters, this worker's buckets and its sampling generator.
#[derive(Debug)]
pub struct LocalRateLimit {
    settings: Settings,
    /// Prefix of every key this plugin writes to shared data (or to its worker map).
    namespace: String,
    /// The default bucket's key, computed once.
    default_key: String,
    counters: Counters,
    worker_buckets: RefCell<WorkerMap>,
    /// xorshift64 state for `filter_enabled` / `filter_enforced` fractions.
    random: Cell<u64>,
}

fn property(path: &[&str]) -> String {
    hostcalls::get_property(path.to_vec())
        .ok()
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

impl Plugin for LocalRateLimit {
    const NAME: &'static str = "local-ratelimit";

    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError> {
        let settings = config::parse(config)?;
        for key in &settings.ignored_runtime_keys {
            log::warn!(
                "local-ratelimit: runtime_key {} is ignored: a Wasm filter cannot read Envoy's runtime; default_value applies",
                json::quote(key)
            );
        }
        let namespace = format!(
            "moonshift.local-ratelimit/{}/{}/",
            property(&["plugin_name"]),
            property(&["plugin_root_id"])
        );
        let seed = hostcalls::get_current_time()
            .map(|t| clock::epoch_millis(t) ^ 0x9E37_79B9_7F4A_7C15)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Ok(Self {
            counters: Counters::define(&settings.stat_prefix)?,
            settings,
            default_key: limiter::default_key(&namespace),
            namespace,
            worker_buckets: RefCell::default(),
            random: Cell::new(seed | 1),
        })
    }

    fn http_context(plugin: &Rc<Self>, _context_id: u32) -> Box<dyn HttpContext> {
        Box::new(Stream {
            plugin: Rc::clone(plugin),
            bucket: None,
        })
    }
}

impl LocalRateLimit {
    /// Whether this request falls in `fraction` (Envoy's `featureEnabled`).
    fn sample(&self, fraction: Fraction) -> bool {
        if fraction.always() {
            return true;
        }
        if fraction.never() {
            return false;
        }
        let mut x = self.random.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.set(x);
        x % u64::from(fraction.denominator) < u64::from(fraction.numerator)
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

fn now_millis(stream: &dyn Context) -> u64 {
    // Whole milliseconds, like the Lua's `handle:timestamp()`, so both do the same arithmetic.
    clock::epoch_millis(stream.get_current_time())
}

struct Stream {
    plugin: Rc<LocalRateLimit>,
    /// The bucket this request consulted, for the `x-ratelimit-*` response headers.
    /// `Some(None)`: the default bucket; `Some(Some(key))`: a client's.
    bucket: Option<Option<String>>,
}

impl Context for Stream {}

impl Stream {
    fn client(&self) -> Option<Vec<u8>> {
        match self.plugin.settings.client_key.as_ref()? {
            ClientKey::RequestHeader(name) => lua_get(&self.get_http_request_headers_bytes(), name),
            ClientKey::RemoteAddress => self
                .get_property(vec!["source", "address"])
                .map(|address| limiter::strip_port(&address).to_vec()),
        }
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let settings = &plugin.settings;
        if !plugin.sample(settings.filter_enabled) {
            return Action::Continue;
        }
        increment(plugin.counters.enabled);
        let client = self.client();
        let now = now_millis(self);
        let namespace = plugin.namespace.as_str();
        let outcome = plugin.with_store(|store| {
            let key = match client.as_deref() {
                None => None,
                Some(client) => {
                    limiter::bucket_key(store, namespace, Some(client), settings.max_client_keys)
                }
            };
            let decision = limiter::consume(
                store,
                key.as_deref().unwrap_or(&plugin.default_key),
                &settings.bucket,
                now,
            );
            (key, decision)
        });
        let Some((key, decision)) = outcome else {
            increment(plugin.counters.undecided);
            return Action::Continue;
        };
        self.bucket = Some(key);
        match decision {
            Decision::Admitted => {
                increment(plugin.counters.ok);
                Action::Continue
            }
            Decision::Undecided => {
                increment(plugin.counters.undecided);
                log::warn!("local-ratelimit: no bucket decision (shared data contended or failing); request admitted");
                Action::Continue
            }
            Decision::Limited => {
                increment(plugin.counters.rate_limited);
                if !plugin.sample(settings.filter_enforced) {
                    increment(plugin.counters.shadow_mode);
                    for (name, value) in &settings.request_headers_to_add_when_not_enforced {
                        self.add_http_request_header(name, value);
                    }
                    return Action::Continue;
                }
                increment(plugin.counters.enforced);
                let headers: Vec<(&str, &str)> = settings
                    .response_headers_to_add
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                self.send_http_response(settings.status, headers, Some(settings.body.as_bytes()));
                Action::Pause
            }
        }
    }

    /// Runs on upstream responses and on our own 429 alike, as native `encodeHeaders` does.
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let settings = &self.plugin.settings;
        let Some(bucket) = self
            .bucket
            .as_ref()
            .filter(|_| settings.x_ratelimit_headers)
        else {
            return Action::Continue;
        };
        let key = bucket.as_deref().unwrap_or(&self.plugin.default_key);
        let now = now_millis(self);
        let cursor = self.plugin.with_store(|store| limiter::cursor(store, key));
        if let Some(Ok(cursor)) = cursor {
            let bucket = &settings.bucket;
            self.add_http_response_header("x-ratelimit-limit", &settings.max_tokens.to_string());
            self.add_http_response_header(
                "x-ratelimit-remaining",
                &bucket.remaining(cursor, now).to_string(),
            );
            self.add_http_response_header(
                "x-ratelimit-reset",
                &bucket.reset_seconds(cursor, now).to_string(),
            );
        }
        Action::Continue
    }
}
