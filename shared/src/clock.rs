//! The clock as the Lua filter sees it.
//!
//! Envoy's Lua gets the wall clock through `os.time()` / `os.date()` (whole seconds, truncated) and
//! `handle:timestamp()` (whole milliseconds). A Wasm filter gets `proxy_get_current_time_nanoseconds`.
//! These helpers truncate the Wasm clock the same way, so both read the same instant.

use std::time::{SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch, truncated like C `time(NULL)`; 0 before the epoch.
pub fn epoch_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whole milliseconds since the Unix epoch, truncated like Envoy Lua's `handle:timestamp()`.
pub fn epoch_millis(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            let t = UNIX_EPOCH + since_epoch;
            assert_eq!(epoch_seconds(t), secs, "{since_epoch:?}");
            assert_eq!(epoch_millis(t), millis, "{since_epoch:?}");
        }
    }

    #[test]
    fn before_epoch_is_zero() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!((epoch_seconds(t), epoch_millis(t)), (0, 0));
    }
}
