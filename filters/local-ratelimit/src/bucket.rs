//! The token bucket of Envoy's native local rate limit, as pure arithmetic.
//!
//! Envoy's `AtomicTokenBucketImpl` (source/common/common/token_bucket_impl.cc) keeps one number per
//! bucket, a time cursor `t` in seconds: `tokens = min(max_tokens, (now - t) * fill_rate)`. It
//! starts full, refills continuously, and admitting a request moves the cursor to
//! `now - (tokens - 1) / fill_rate`.
//!
//! **The state.** Native reads `now` from the *monotonic* clock, seconds since boot: small
//! numbers, where an `f64` resolves well under a nanosecond. A Wasm filter (and Envoy's Lua) only
//! has the wall clock, ~1.8e9 seconds since 1970, where one `f64` step is ~2.4e-7 s. Native's
//! full-bucket cursor `now - max_tokens / fill_rate` computed there loses its low bits, so a fresh
//! 1-token bucket held 0.99999… tokens and, since a refusal writes nothing, refused every request
//! forever (issue 12). So this bucket keeps the same information in the form that needs no large
//! time base: the tokens left after the last admission and the millisecond it happened
//! ([`Cursor`]); `tokens(now) = min(max_tokens, left + (now - at) * fill_rate)`, which is
//! native's `(now - t) * fill_rate` with `t = at - left / fill_rate`. Elapsed time is a
//! difference of whole milliseconds, exact in a double; a burst at one instant counts down
//! whole numbers exactly. A bucket that does not exist yet is full: `max_tokens`, no arithmetic.
//!
//! Every step is an `f64` operation the Lua reference does identically, in the same order, so
//! the two give the same decisions bit for bit.

/// A bucket's parameters; the state is the [`Cursor`] the caller stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    max_tokens: f64,
    /// Tokens per second.
    fill_rate: f64,
}

/// A bucket's state after its last admission.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    /// The wall-clock millisecond of the last admission.
    pub at_ms: u64,
    /// Tokens left right after it.
    pub tokens: f64,
}

/// Bytes of an encoded [`Cursor`].
pub const CURSOR_BYTES: usize = 16;

impl Cursor {
    /// Seconds from the last admission to `now_ms`. Both are whole milliseconds below 2^53, so
    /// the difference is exact, as in the Lua's doubles; a clock that went back gives < 0.
    pub fn seconds_until(&self, now_ms: u64) -> f64 {
        (now_ms as f64 - self.at_ms as f64) / 1000.0
    }

    pub fn encode(&self) -> [u8; CURSOR_BYTES] {
        let mut out = [0u8; CURSOR_BYTES];
        let (at, tokens) = out.split_at_mut(8);
        at.copy_from_slice(&self.at_ms.to_le_bytes());
        tokens.copy_from_slice(&self.tokens.to_le_bytes());
        out
    }

    /// `None` for anything that is not an encoded cursor (treated as no bucket: a full one).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; CURSOR_BYTES] = bytes.try_into().ok()?;
        let (at, tokens) = bytes.split_at(8);
        Some(Self {
            at_ms: u64::from_le_bytes(at.try_into().ok()?),
            tokens: f64::from_le_bytes(tokens.try_into().ok()?),
        })
    }
}

/// The outcome of one consume attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumed {
    pub admitted: bool,
    /// The cursor to store after an admission.
    pub cursor: Option<Cursor>,
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

    /// Seconds an empty bucket takes to fill up again.
    pub fn refill_seconds(&self) -> f64 {
        self.max_tokens / self.fill_rate
    }

    /// Tokens available at `now_ms`; a bucket that does not exist is full.
    pub fn tokens(&self, cursor: Option<Cursor>, now_ms: u64) -> f64 {
        match cursor {
            None => self.max_tokens,
            Some(c) => (c.tokens + c.seconds_until(now_ms) * self.fill_rate).min(self.max_tokens),
        }
    }

    /// Takes one token if there is one. A refusal leaves the cursor as it was (Envoy returns
    /// before its compare-and-swap), so only an admission needs a write.
    pub fn consume(&self, cursor: Option<Cursor>, now_ms: u64) -> Consumed {
        let tokens = self.tokens(cursor, now_ms);
        if tokens < 1.0 {
            return Consumed {
                admitted: false,
                cursor,
            };
        }
        Consumed {
            admitted: true,
            cursor: Some(Cursor {
                at_ms: now_ms,
                tokens: tokens - 1.0,
            }),
        }
    }

    /// `x-ratelimit-remaining`: whole tokens left.
    pub fn remaining(&self, cursor: Option<Cursor>, now_ms: u64) -> u64 {
        // `as` truncates toward zero, which is the floor of a non-negative number (and saturates).
        self.tokens(cursor, now_ms).max(0.0) as u64
    }

    /// `x-ratelimit-reset`: 0 while a token is left, else the seconds until the next one, rounded up.
    pub fn reset_seconds(&self, cursor: Option<Cursor>, now_ms: u64) -> u64 {
        let tokens = self.tokens(cursor, now_ms);
        if tokens >= 1.0 {
            0
        } else {
            ceil((1.0 - tokens) / self.fill_rate)
        }
    }
}

/// The ceiling of a positive `x` as a `u64`, as `x.ceil() as u64` (without `std`, `f64` has no
/// `ceil`): saturating above `u64::MAX`, 0 for NaN.
fn ceil(x: f64) -> u64 {
    let whole = x as u64;
    match (whole as f64) < x {
        true => whole.saturating_add(1),
        false => whole,
    }
}

#[cfg(test)]
mod tests;
