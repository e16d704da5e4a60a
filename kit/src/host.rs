//! Safe host calls: what a filter may ask Envoy for. Every call returns a `Result` (or an
//! `Option` where a missing value is the only outcome a filter acts on) and none panics.

use crate::abi::{self, Status};
use crate::seen;
use crate::wire::{self, HeaderList};
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

/// proxy-wasm log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

/// Logs `message` byte for byte, as Lua's `handle:logInfo()` does with any string. A host error
/// is ignored: there is nothing to log it to.
pub fn log(level: LogLevel, message: &[u8]) {
    let _ = abi::log(level as u32, message);
}

/// The host's log level for this plugin (`--component-log-level wasm:...`).
pub fn log_level() -> Result<LogLevel, Status> {
    Ok(match abi::log_level()? {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        4 => LogLevel::Error,
        _ => LogLevel::Critical,
    })
}

/// The wall clock, as the host reads it: the time since the Unix epoch; zero if the host fails.
pub fn now() -> Duration {
    Duration::from_nanos(abi::current_time_nanoseconds().unwrap_or(0))
}

/// `N` random bytes from the host's random source (WASI `random_get`); `None` if it fails.
pub fn random<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0; N];
    abi::random_get(&mut bytes).ok().map(|()| bytes)
}

/// The plugin configuration bytes (`None`: no configuration at all).
pub fn plugin_configuration() -> Result<Option<Vec<u8>>, Status> {
    const PLUGIN_CONFIGURATION: u32 = 7;
    abi::buffer_bytes(PLUGIN_CONFIGURATION, 0, usize::MAX)
}

/// A property such as `["plugin_name"]` or `["source", "address"]`; `None` when absent or
/// when the host fails.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    abi::property(&wire::property_path(path)).ok().flatten()
}

/// One of the two header maps of the current stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Map {
    Request = 0,
    Response = 2,
}

impl Map {
    /// Where [`crate::seen`] keeps this map.
    fn slot(self) -> usize {
        match self {
            Map::Request => 0,
            Map::Response => 1,
        }
    }

    /// The first value of `name`, as bytes (from the map read in this VM entry, if one was).
    pub fn get(self, name: &str) -> Option<Vec<u8>> {
        if let Some(map) = seen::map(self.slot()) {
            return map.first(name.as_bytes()).map(<[u8]>::to_vec);
        }
        abi::header_map_value(self as u32, name.as_bytes())
            .ok()
            .flatten()
    }

    /// Every entry, in order; empty if the host fails. Read from the host once a VM entry
    /// ([`crate::seen`]).
    pub fn all(self) -> Rc<HeaderList> {
        if let Some(map) = seen::map(self.slot()) {
            return map;
        }
        match abi::header_map_pairs(self as u32)
            .ok()
            .flatten()
            .and_then(HeaderList::from_wire)
        {
            Some(list) => {
                let list = Rc::new(list);
                seen::keep(self.slot(), &list);
                list
            }
            None => Rc::default(),
        }
    }

    /// The names of the entries whose name starts with `prefix`, in order, repeats kept; empty
    /// if the host fails or its map is malformed. From the map read in this VM entry, if one
    /// was; else from the host's bytes, copying only those names (the map is not kept: a
    /// filter that only removes names would pay for a copy no one reads).
    pub fn names_starting_with(self, prefix: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut take = |name: &[u8]| {
            if name.starts_with(prefix.as_bytes()) {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        };
        if let Some(map) = seen::map(self.slot()) {
            map.iter().for_each(|(name, _)| take(name));
            return names;
        }
        let Ok(Some(bytes)) = abi::header_map_pairs(self as u32) else {
            return Vec::new();
        };
        match wire::for_each_entry(&bytes, |name, _| take(name)) {
            Some(()) => names,
            None => Vec::new(),
        }
    }

    /// Appends an entry (Lua's `add`).
    pub fn add(self, name: &str, value: &[u8]) -> Result<(), Status> {
        let done = abi::add_header_map_value(self as u32, name.as_bytes(), value);
        let change = seen::Change::Added(name.as_bytes(), value);
        seen::changed(self.slot(), change, done.is_ok());
        done
    }

    /// Leaves exactly one entry, at the end of the map (Lua's `replace`).
    pub fn replace(self, name: &str, value: &[u8]) -> Result<(), Status> {
        let done = abi::replace_header_map_value(self as u32, name.as_bytes(), value);
        seen::changed(self.slot(), seen::Change::Other, done.is_ok());
        done
    }

    /// Removes every entry of `name` (Lua's `remove`).
    pub fn remove(self, name: &str) -> Result<(), Status> {
        let done = abi::remove_header_map_value(self as u32, name.as_bytes());
        let change = seen::Change::Removed(name.as_bytes());
        seen::changed(self.slot(), change, done.is_ok());
        done
    }
}

/// Sends a local reply from the request phase (Lua's `respond`). With a body and no
/// `content-type`, Envoy adds `content-type: text/plain`.
pub fn send_local_response(
    status: u32,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<(), Status> {
    abi::send_local_response(status, body, &wire::serialize_map(headers))
}

/// Process-wide shared data (one map per `vm_id`, visible to every worker's VM).
pub mod shared_data {
    use super::*;

    /// The value and its CAS token; `(None, None)` for a key that does not exist.
    pub fn get(key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), Status> {
        abi::shared_data(key.as_bytes())
    }

    /// Writes `value` if `cas` still matches (0: unconditional). `Err(CAS_MISMATCH)` when
    /// another write came first.
    pub fn set(key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
        abi::set_shared_data(key.as_bytes(), value, cas)
    }
}

/// A counter (`wasmcustom.<name>` in Envoy's `/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter(u32);

impl Counter {
    pub fn define(name: &str) -> Result<Self, Status> {
        const COUNTER: u32 = 0;
        abi::define_metric(COUNTER, name.as_bytes()).map(Counter)
    }

    /// Adds one; a host failure loses the increment, never the request.
    pub fn increment(self) {
        let _ = abi::increment_metric(self.0, 1);
    }

    /// The counter of something `filter` decides, `moonshift.<filter>.<what>` (the filter's
    /// name with `_` for `-`: `wasmcustom.moonshift.api_key_auth.missing_key` in `/stats`).
    /// `None` when the host refuses it (offline, in `moonshift validate`): a statistic lost
    /// never changes what the filter decides.
    pub fn of(filter: &str, what: &str) -> Option<Self> {
        let mut name = alloc::string::String::from("moonshift.");
        name.extend(filter.chars().map(|c| if c == '-' { '_' } else { c }));
        name.push('.');
        name.push_str(what);
        Self::define(&name).ok()
    }
}

/// Adds one to `counter`, when it was defined.
pub fn count(counter: Option<Counter>) {
    if let Some(c) = counter {
        c.increment();
    }
}

/// The `log` facade, forwarded to `proxy_log` up to the host's level.
struct HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        };
        log(level, record.args().to_string().as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the `log` facade at the host's level. Idempotent.
pub fn install_logger() {
    let _ = log::set_logger(&HostLogger);
    log::set_max_level(match log_level() {
        Ok(LogLevel::Trace) => log::LevelFilter::Trace,
        Ok(LogLevel::Debug) => log::LevelFilter::Debug,
        Ok(LogLevel::Info) | Err(_) => log::LevelFilter::Info,
        Ok(LogLevel::Warn) => log::LevelFilter::Warn,
        Ok(LogLevel::Error | LogLevel::Critical) => log::LevelFilter::Error,
    });
}
