//! One clock for both hosts.
//!
//! The Lua host reads it through `os.time()`, `os.date()` and `handle:timestamp()`; the Wasm host
//! through `proxy_get_current_time_nanoseconds` and WASI `clock_time_get`. A scenario sets it
//! before each exchange, so both filters see the same instant.

use std::cell::Cell;
use std::rc::Rc;

/// Nanoseconds since the Unix epoch, shared by every host that holds a clone.
#[derive(Debug, Clone, Default)]
pub struct Clock(Rc<Cell<u64>>);

impl Clock {
    pub fn at_millis(millis: u64) -> Self {
        let clock = Self::default();
        clock.set_millis(millis);
        clock
    }

    pub fn set_millis(&self, millis: u64) {
        self.0.set(millis.saturating_mul(1_000_000));
    }

    pub fn set_nanos(&self, nanos: u64) {
        self.0.set(nanos);
    }

    pub fn nanos(&self) -> u64 {
        self.0.get()
    }

    pub fn millis(&self) -> u64 {
        self.0.get() / 1_000_000
    }

    pub fn seconds(&self) -> u64 {
        self.0.get() / 1_000_000_000
    }
}
