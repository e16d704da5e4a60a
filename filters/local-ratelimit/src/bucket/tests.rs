use super::*;
use proptest::prelude::*;

/// 2026-11-27T00:00:00Z in milliseconds: a realistic wall clock, where an `f64` of seconds has
/// ~2.4e-7 s steps.
const EPOCH_MS: u64 = 1_795_737_600_000;

/// Native Envoy's `AtomicTokenBucketImpl`, transcribed as a model: `f64` seconds of the monotonic
/// clock (here: a machine up for a day), created full at `start`, consumed with its arithmetic.
struct Native {
    max_tokens: f64,
    fill_rate: f64,
    cursor: f64,
}

const UPTIME_S: f64 = 86_400.0;

impl Native {
    fn new(max_tokens: u32, tokens_per_fill: u32, interval_ms: u64, start_ms: u64) -> Self {
        let fill_rate = f64::from(tokens_per_fill) / (interval_ms as f64 / 1000.0);
        let max_tokens = f64::from(max_tokens);
        let now = UPTIME_S + start_ms as f64 / 1000.0;
        Self {
            max_tokens,
            fill_rate,
            cursor: now - max_tokens / fill_rate,
        }
    }

    fn consume(&mut self, at_ms: u64) -> bool {
        let now = UPTIME_S + at_ms as f64 / 1000.0;
        let tokens = ((now - self.cursor) * self.fill_rate).min(self.max_tokens);
        if tokens < 1.0 {
            return false;
        }
        self.cursor = now - (tokens - 1.0) / self.fill_rate;
        true
    }
}

/// Runs requests at the given instants and returns (admitted, remaining, reset) after each.
fn run(bucket: TokenBucket, instants: &[u64]) -> Vec<(bool, u64, u64)> {
    let mut cursor = None;
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
    // docs/envoy.md §2: 3 tokens per 10 s; after a burst a request passes again ~3.33 s later, not
    // 10 s later.
    let bucket = TokenBucket::new(3, 3, 10_000);
    let t0 = EPOCH_MS;
    let got = run(bucket, &[t0, t0, t0, t0, t0 + 3000, t0 + 3400, t0 + 3500]);
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
    let t0 = EPOCH_MS;
    let mut instants: Vec<u64> = (0..101).map(|i| t0 + i).collect();
    instants.push(t0 + 550);
    instants.push(t0 + 650);
    let got = run(bucket, &instants);
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
fn a_fresh_bucket_is_full_exactly() {
    // The bug of issue 12: at wall-clock epoch seconds the old full-bucket cursor left a fresh
    // 1-token bucket with 0.99999… tokens, refusing every request forever.
    for (max, per_fill, interval) in [(1, 10, 1_000), (1, 3, 10_000), (100, 1_000_000_000, 1_000)] {
        let bucket = TokenBucket::new(max, per_fill, interval);
        assert_eq!(bucket.tokens(None, EPOCH_MS), f64::from(max));
        assert!(
            bucket.consume(None, EPOCH_MS).admitted,
            "{max}/{per_fill}/{interval}ms"
        );
    }
}

#[test]
fn a_burst_at_one_instant_gets_max_tokens_exactly() {
    // Native's single cursor rounds a little at each step (99 of 100 at a frozen clock); tokens
    // left count down whole numbers exactly. Whole-millisecond clocks do freeze under load.
    for max in [1, 3, 100, 1_000] {
        let bucket = TokenBucket::new(max, max, 60_000);
        let got = run(bucket, &vec![EPOCH_MS; max as usize + 3]);
        let admitted = got.iter().filter(|r| r.0).count();
        assert_eq!(admitted, max as usize, "{max} tokens");
    }
}

#[test]
fn never_exceeds_max_tokens() {
    let bucket = TokenBucket::new(5, 1, 1000);
    let c = bucket.consume(None, EPOCH_MS).cursor;
    let later = EPOCH_MS + 1_000_000_000;
    assert_eq!(bucket.tokens(c, later), 5.0);
    assert_eq!(bucket.remaining(c, later), 5);
    // An idle bucket's cursor moves forward on consume, so it cannot bank tokens.
    let c = bucket.consume(c, later).cursor;
    assert_eq!(bucket.tokens(c, later), 4.0);
}

#[test]
fn cursor_round_trips_and_rejects_other_bytes() {
    let c = Cursor {
        at_ms: EPOCH_MS,
        tokens: 59.4,
    };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
    // The 8-byte cursors of earlier versions are not cursors: such a bucket starts full.
    assert_eq!(Cursor::decode(&1.0f64.to_le_bytes()), None);
    assert_eq!(Cursor::decode(b""), None);
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
        let cursor = Cursor {
            at_ms: EPOCH_MS,
            tokens: left,
        };
        assert_eq!(
            bucket.reset_seconds(Some(cursor), EPOCH_MS),
            want,
            "{max}/{per_fill}/{interval}ms left {left}"
        );
    }
}

/// Awkward buckets (issue 12): tiny bursts, huge rates, rates whose ratio has no exact double.
/// Each row: (max_tokens, tokens_per_fill, fill_interval_ms, request spacing in ms, requests).
/// Spacings avoid instants where exactly a whole token has refilled: there the last bit of any
/// time base decides, native's too (on a real clock requests are never that exact).
const AWKWARD: [(u32, u32, u64, u64, usize); 12] = [
    (1, 10, 1_000, 1_000, 10),
    (1, 10, 1_000, 101, 10),
    (1, 3, 10_000, 1_100, 10),
    (1, 3, 10_000, 3_334, 10),
    (1, 1_000, 1_000, 1_000, 10),
    (1, 1_000, 1_000, 2, 10),
    (100, 1_000_000_000, 1_000, 1, 300),
    (1, u32::MAX, 50, 1, 10),
    (3, 7, 3_000, 97, 40),
    (2, 3, 70, 11, 40),
    (1, 1, 3_600_000, 60_000, 10),
    (u32::MAX, 1, 50, 0, 20),
];

#[test]
fn awkward_buckets_admit_what_native_admits() {
    for (max, per_fill, interval, spacing, count) in AWKWARD {
        // Wall-clock instants for us, the same instants on the monotonic clock for native.
        let instants: Vec<u64> = (0..count as u64).map(|i| EPOCH_MS + i * spacing).collect();
        let mut native = Native::new(max, per_fill, interval, EPOCH_MS - 5);
        let want: Vec<bool> = instants.iter().map(|&t| native.consume(t)).collect();
        let bucket = TokenBucket::new(max, per_fill, interval);
        let got: Vec<bool> = run(bucket, &instants).iter().map(|r| r.0).collect();
        assert_eq!(
            got, want,
            "{max} tokens, {per_fill} per {interval} ms, a request every {spacing} ms"
        );
        assert!(
            got[0],
            "a fresh bucket admits: {max}/{per_fill}/{interval}ms"
        );
    }
}

proptest! {
    /// A bucket left idle for longer than it takes to refill admits a request, whatever its
    /// parameters, history and the wall clock.
    #[test]
    fn idle_past_refill_time_admits(
        max in 1u32..=u32::MAX,
        per_fill in 1u32..=u32::MAX,
        interval in 50u64..=86_400_000,
        start in 1_500_000_000_000u64..4_000_000_000_000,
        gaps in proptest::collection::vec(0u64..5_000, 0..40),
        idle_extra in 1u64..1_000,
    ) {
        let bucket = TokenBucket::new(max, per_fill, interval);
        let mut cursor = None;
        let mut now = start;
        for gap in gaps {
            now += gap;
            cursor = bucket.consume(cursor, now).cursor;
        }
        let refill_ms = (bucket.refill_seconds() * 1000.0).ceil() as u64;
        let later = now + refill_ms + idle_extra;
        prop_assert!(bucket.consume(cursor, later).admitted, "idle {} ms", refill_ms + idle_extra);
        prop_assert_eq!(bucket.remaining(cursor, later), u64::from(max));
    }

    /// Exactly `max_tokens` admissions at one instant, whatever the rate and the wall clock.
    #[test]
    fn a_frozen_instant_admits_at_most_max_tokens(
        max in 1u32..200,
        per_fill in 1u32..=u32::MAX,
        interval in 50u64..=86_400_000,
        now in 1_500_000_000_000u64..4_000_000_000_000,
    ) {
        let bucket = TokenBucket::new(max, per_fill, interval);
        let mut cursor = None;
        let mut admitted = 0;
        for _ in 0..max + 5 {
            let c = bucket.consume(cursor, now);
            cursor = c.cursor;
            admitted += u32::from(c.admitted);
        }
        prop_assert_eq!(admitted, max);
    }
}

#[test]
fn ceil_is_std_ceil_for_every_positive_value_it_meets() {
    let cases = [
        0.0,
        1e-300,
        0.1,
        0.5,
        1.0,
        1.000_000_1,
        2.5,
        9_007_199_254_740_993.0,
        1.844_674_407_370_955_2e19,
        1e30,
        f64::INFINITY,
        f64::NAN,
    ];
    for x in cases {
        assert_eq!(super::ceil(x), x.ceil() as u64, "{x}");
    }
}
