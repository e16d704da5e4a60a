//! What one request's outcome is, and which counters it moves, as pure logic: the sampling of
//! `filter_enabled` / `filter_enforced` (Envoy's `featureEnabled`) and native's flow from a
//! bucket decision to `ok`, `rate_limited`, `enforced` or `shadow_mode`. The glue
//! (`lib.rs`) supplies the bucket decision and carries the verdict out.

use crate::config::Fraction;
use crate::limiter::Decision;

/// xorshift64: the sampling generator, one per worker's VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampler(u64);

impl Sampler {
    /// Any seed; zero is moved off (xorshift's one fixed point).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Whether this request falls in `fraction`. 0% and 100% draw nothing.
    pub fn sample(&mut self, fraction: Fraction) -> bool {
        if fraction.always() {
            return true;
        }
        if fraction.never() {
            return false;
        }
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % u64::from(fraction.denominator) < u64::from(fraction.numerator)
    }
}

/// What happens to a request inside `filter_enabled` (one outside it consults nothing and
/// moves no counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admitted,
    /// No decision could be had (see the README): admitted, counted.
    Undecided,
    /// Limited but outside `filter_enforced`: passes, marked.
    Shadow,
    /// Limited and enforced: the local reply.
    Enforce,
}

/// Native's counters (`<stat_prefix>.http_local_rate_limit.<name>`), plus `undecided`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Enabled,
    Ok,
    RateLimited,
    Enforced,
    ShadowMode,
    Undecided,
}

impl Counter {
    pub const ALL: [Counter; 6] = [
        Counter::Enabled,
        Counter::Ok,
        Counter::RateLimited,
        Counter::Enforced,
        Counter::ShadowMode,
        Counter::Undecided,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Counter::Enabled => "enabled",
            Counter::Ok => "ok",
            Counter::RateLimited => "rate_limited",
            Counter::Enforced => "enforced",
            Counter::ShadowMode => "shadow_mode",
            Counter::Undecided => "undecided",
        }
    }
}

/// The counters a verdict moves.
pub fn counters(verdict: Verdict) -> &'static [Counter] {
    use Counter::*;
    match verdict {
        Verdict::Admitted => &[Enabled, Ok],
        Verdict::Undecided => &[Enabled, Undecided],
        Verdict::Shadow => &[Enabled, RateLimited, ShadowMode],
        Verdict::Enforce => &[Enabled, RateLimited, Enforced],
    }
}

/// The verdict for a request that was enabled and got `decision` from its bucket; samples
/// `filter_enforced` only for a limited request, as native does.
pub fn verdict(decision: Decision, sampler: &mut Sampler, enforced: Fraction) -> Verdict {
    match decision {
        Decision::Admitted => Verdict::Admitted,
        Decision::Undecided => Verdict::Undecided,
        Decision::Limited if sampler.sample(enforced) => Verdict::Enforce,
        Decision::Limited => Verdict::Shadow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: Fraction = Fraction {
        numerator: 50,
        denominator: 100,
    };
    const ALL: Fraction = Fraction {
        numerator: 100,
        denominator: 100,
    };
    const NONE: Fraction = Fraction {
        numerator: 0,
        denominator: 100,
    };

    #[test]
    fn verdicts_and_their_counters() {
        let cases = [
            (
                Decision::Admitted,
                ALL,
                Verdict::Admitted,
                &["enabled", "ok"][..],
            ),
            (
                Decision::Admitted,
                NONE,
                Verdict::Admitted,
                &["enabled", "ok"],
            ),
            (
                Decision::Undecided,
                ALL,
                Verdict::Undecided,
                &["enabled", "undecided"],
            ),
            (
                Decision::Limited,
                ALL,
                Verdict::Enforce,
                &["enabled", "rate_limited", "enforced"],
            ),
            (
                Decision::Limited,
                NONE,
                Verdict::Shadow,
                &["enabled", "rate_limited", "shadow_mode"],
            ),
        ];
        for (decision, enforced, want, moved) in cases {
            let got = verdict(decision, &mut Sampler::new(7), enforced);
            assert_eq!(got, want, "{decision:?} at {enforced:?}");
            let names: Vec<&str> = counters(got).iter().map(|c| c.name()).collect();
            assert_eq!(names, moved, "{decision:?}");
        }
    }

    #[test]
    fn fractions_sample_their_share() {
        // (fraction, expected share): 100,000 draws land within 1% of it.
        let cases = [
            (HALF, 0.5),
            (
                Fraction {
                    numerator: 1,
                    denominator: 100,
                },
                0.01,
            ),
            (
                Fraction {
                    numerator: 2_500,
                    denominator: 10_000,
                },
                0.25,
            ),
            (
                Fraction {
                    numerator: 999_999,
                    denominator: 1_000_000,
                },
                0.999_999,
            ),
            (ALL, 1.0),
            (NONE, 0.0),
        ];
        for (fraction, share) in cases {
            let mut sampler = Sampler::new(0x9E37_79B9_7F4A_7C15);
            let hits = (0..100_000).filter(|_| sampler.sample(fraction)).count();
            let got = hits as f64 / 100_000.0;
            assert!(
                (got - share).abs() <= 0.01,
                "{fraction:?}: {got} vs {share}"
            );
        }
    }

    #[test]
    fn only_limited_requests_draw_for_enforcement() {
        // An admitted request must not advance the generator: native samples filter_enforced
        // only when the bucket said no.
        let mut sampler = Sampler::new(42);
        let before = sampler;
        verdict(Decision::Admitted, &mut sampler, HALF);
        assert_eq!(sampler, before);
        verdict(Decision::Limited, &mut sampler, HALF);
        assert_ne!(sampler, before);
    }

    #[test]
    fn a_zero_seed_still_draws() {
        let mut sampler = Sampler::new(0);
        let hits = (0..1_000).filter(|_| sampler.sample(HALF)).count();
        assert!((400..=600).contains(&hits), "{hits}");
    }
}
