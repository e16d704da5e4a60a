//! The token bucket of Envoy's native local rate limit, as pure arithmetic.
//!
//! Envoy's `AtomicTokenBucketImpl` (source/common/common/token_bucket_impl.cc) keeps one number per
//! bucket, a time cursor `t` in seconds: `tokens = min(max_tokens, (now - t) * fill_rate)`. It
//! starts full (`t = now - max_tokens / fill_rate`), refills continuously, and admitting a request
//! moves the cursor to `now - (tokens - 1) / fill_rate`. Doing the same `f64` operations in the same
//! order gives the same decisions as native Envoy and as the Lua reference (whose numbers are
//! doubles too).

/// A bucket's parameters; the state is the cursor the caller stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    max_tokens: f64,
    /// Tokens per second.
    fill_rate: f64,
}

/// The outcome of one consume attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumed {
    pub admitted: bool,
    /// The cursor to store.
    pub cursor: f64,
}

impl TokenBucket {
    /// `max_tokens > 0`, `tokens_per_fill > 0`, `fill_interval_ms > 0` (validated by the config).
    pub fn new(max_tokens: u32, tokens_per_fill: u32, fill_interval_ms: u64) -> Self {
        Self {
            max_tokens: f64::from(max_tokens),
            fill_rate: f64::from(tokens_per_fill) / (fill_interval_ms as f64 / 1000.0),
        }
    }

    pub fn max_tokens(&self) -> f64 {
        self.max_tokens
    }

    /// The cursor of a full bucket at `now` (seconds).
    pub fn full_cursor(&self, now: f64) -> f64 {
        now - self.max_tokens / self.fill_rate
    }

    /// Tokens available at `now` for a bucket whose cursor is `cursor`.
    pub fn tokens(&self, cursor: f64, now: f64) -> f64 {
        ((now - cursor) * self.fill_rate).min(self.max_tokens)
    }

    /// Takes one token if there is one. A refusal leaves the cursor as it was (Envoy returns
    /// before its compare-and-swap), so only an admission needs a write.
    pub fn consume(&self, cursor: f64, now: f64) -> Consumed {
        let tokens = self.tokens(cursor, now);
        if tokens >= 1.0 {
            Consumed {
                admitted: true,
                cursor: now - (tokens - 1.0) / self.fill_rate,
            }
        } else {
            Consumed {
                admitted: false,
                cursor,
            }
        }
    }

    /// `x-ratelimit-remaining`: whole tokens left.
    pub fn remaining(&self, cursor: f64, now: f64) -> u64 {
        let tokens = self.tokens(cursor, now).max(0.0).floor();
        tokens as u64
    }

    /// `x-ratelimit-reset`: 0 while a token is left, else the seconds until the next one, rounded up.
    pub fn reset_seconds(&self, cursor: f64, now: f64) -> u64 {
        let tokens = self.tokens(cursor, now);
        if tokens >= 1.0 {
            0
        } else {
            ((1.0 - tokens) / self.fill_rate).ceil() as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs requests at the given instants and returns (admitted, remaining, reset) after each.
    fn run(bucket: TokenBucket, start: f64, instants: &[f64]) -> Vec<(bool, u64, u64)> {
        let mut cursor = bucket.full_cursor(start);
        instants
            .iter()
            .map(|&now| {
                let c = bucket.consume(cursor, now);
                cursor = c.cursor;
                (
                    c.admitted,
                    bucket.remaining(cursor, now),
                    bucket.reset_seconds(cursor, now),
                )
            })
            .collect()
    }

    #[test]
    fn three_per_ten_seconds_refills_continuously() {
        // envoy-facts §2: 3 tokens per 10 s; after a burst a request passes again ~3.33 s later,
        // not 10 s later.
        let bucket = TokenBucket::new(3, 3, 10_000);
        let t0 = 1_700_000_000.0;
        let got = run(bucket, t0, &[t0, t0, t0, t0, t0 + 3.0, t0 + 3.4, t0 + 3.5]);
        assert_eq!(
            got,
            vec![
                (true, 2, 0),
                (true, 1, 0),
                (true, 0, 4), // ceil((1 - 0) / 0.3) = ceil(3.33)
                (false, 0, 4),
                (false, 0, 1), // 0.9 tokens: ceil(0.1 / 0.3) = 1
                (true, 0, 4),  // 1.02 tokens at 3.4 s
                (false, 0, 4), // 0.03 tokens: ceil(0.97 / 0.3) = 4
            ]
        );
    }

    #[test]
    fn seed_defaults_one_hundred_per_minute() {
        // 101 requests 1 ms apart: the first 100 pass, then one token per 0.6 s.
        let bucket = TokenBucket::new(100, 100, 60_000);
        let t0 = 1_700_000_000.0;
        let mut instants: Vec<f64> = (0..101).map(|i| t0 + f64::from(i) * 0.001).collect();
        instants.push(t0 + 0.55);
        instants.push(t0 + 0.65);
        let got = run(bucket, t0, &instants);
        assert!(
            got[..100].iter().all(|(admitted, _, _)| *admitted),
            "{got:?}"
        );
        assert_eq!(got[99], (true, 0, 1)); // reset = ceil(0.6 s - 99 ms of refill)
        assert_eq!(got[100], (false, 0, 1));
        // Refill is continuous: a token is back ~0.6 s after the burst, not 60 s later.
        assert_eq!(got[101], (false, 0, 1));
        assert_eq!(got[102], (true, 0, 1));
    }

    #[test]
    fn frozen_clock_rounding_is_natives() {
        // Native Envoy's double arithmetic, reproduced: with 100 tokens per 60 s and no time
        // passing at all, the cursor's rounding leaves 0.99999999999999 tokens after 99
        // admissions, so a burst at one frozen instant admits 99. Real clocks advance; the Lua
        // reference does the same arithmetic and so gives the same 99.
        let bucket = TokenBucket::new(100, 100, 60_000);
        let got = run(bucket, 0.0, &[0.0; 101]);
        let admitted = got.iter().filter(|(a, _, _)| *a).count();
        assert_eq!(admitted, 99);
    }

    #[test]
    fn never_exceeds_max_tokens() {
        let bucket = TokenBucket::new(5, 1, 1000);
        let cursor = bucket.full_cursor(0.0);
        assert_eq!(bucket.tokens(cursor, 1e6), 5.0);
        assert_eq!(bucket.remaining(cursor, 1e6), 5);
        // An idle bucket's cursor moves forward on consume, so it cannot bank tokens.
        let c = bucket.consume(cursor, 1e6);
        assert_eq!(bucket.tokens(c.cursor, 1e6), 4.0);
    }

    #[test]
    fn fractional_rate_reset_table() {
        // (max, per_fill, interval_ms, tokens_left) -> reset seconds
        let cases = [
            (1, 1, 1_000, 0.0, 1),
            (1, 1, 60_000, 0.0, 60),
            (1, 1, 60_000, 0.5, 30),
            (10, 10, 1_000, 0.95, 1),
            (2, 1, 3_000, 0.1, 3),
            (2, 1, 3_000, 1.0, 0),
        ];
        for (max, per_fill, interval, left, want) in cases {
            let bucket = TokenBucket::new(max, per_fill, interval);
            let now = 100.0;
            // A cursor leaving exactly `left` tokens at `now`.
            let cursor = now - left / bucket.fill_rate;
            assert_eq!(
                bucket.reset_seconds(cursor, now),
                want,
                "{max}/{per_fill}/{interval}ms left {left}"
            );
        }
    }
}
