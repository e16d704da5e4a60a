//! The clock as the Lua filter sees it.
//!
//! Envoy's Lua gets the wall clock through `os.time()` / `os.date()` (whole seconds, truncated) and
//! `handle:timestamp()` (whole milliseconds). A Wasm filter gets `proxy_get_current_time_nanoseconds`.
//! These helpers truncate the Wasm clock the same way, so both read the same instant.

use core::time::Duration;

/// Whole seconds since the Unix epoch (`since_epoch`, as `host::now()` gives it), truncated like
/// C `time(NULL)`.
pub fn epoch_seconds(since_epoch: Duration) -> u64 {
    since_epoch.as_secs()
}

/// Whole milliseconds since the Unix epoch, truncated like Envoy Lua's `handle:timestamp()`.
pub fn epoch_millis(since_epoch: Duration) -> u64 {
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_lua() {
        let cases = [
            (Duration::from_nanos(0), 0, 0),
            (Duration::from_nanos(999_999_999), 0, 999),
            (
                Duration::from_millis(1_700_000_000_999),
                1_700_000_000,
                1_700_000_000_999,
            ),
            (
                Duration::from_micros(1_700_000_001_000_500),
                1_700_000_001,
                1_700_000_001_000,
            ),
        ];
        for (since_epoch, secs, millis) in cases {
            assert_eq!(epoch_seconds(since_epoch), secs, "{since_epoch:?}");
            assert_eq!(epoch_millis(since_epoch), millis, "{since_epoch:?}");
        }
    }
}
