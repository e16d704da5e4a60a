//! How much rendering one request may make a filter do: each value at most [`MAX_RENDERED`]
//! bytes, each phase of each filter at most [`PHASE_BUDGET`] bytes read and written.

use alloc::vec::Vec;

/// The most bytes one rendered value keeps: a header value, a reply's body, a log line. Above
/// Envoy's default limit on all of a request's headers together (60 KiB), so no value a client
/// could send through Envoy's defaults is cut.
pub const MAX_RENDERED: usize = 64 * 1024;

/// What one filter's rendering may read and write in one phase of one request, together.
pub const PHASE_BUDGET: usize = 256 * 1024;

/// The most commands one template may hold.
pub const MAX_COMMANDS: usize = 64;

/// What is left of a phase's rendering budget ([`PHASE_BUDGET`]), and whether a value was cut.
///
/// A request controls what its headers hold, and a configuration can render a header many times
/// or render one value from another: without a bound, one request could make a plugin allocate
/// hundreds of megabytes and trap (issue 21: 9,000 `%REQ(:path)%` of a 59 KiB path). Each value
/// keeps at most [`MAX_RENDERED`] bytes, and each phase of each filter reads and writes at most
/// [`PHASE_BUDGET`] bytes in rendering; past either bound the value is cut, and later values of
/// that phase render empty. Conditions are not charged: a spent budget never changes a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub(super) left: usize,
    pub(super) cut: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Self::per_phase()
    }
}

impl Budget {
    /// A fresh budget of [`PHASE_BUDGET`] bytes, for one phase of one filter.
    pub const fn per_phase() -> Self {
        Self::of(PHASE_BUDGET)
    }

    /// A budget of `bytes` (tests).
    pub const fn of(bytes: usize) -> Self {
        Self {
            left: bytes,
            cut: false,
        }
    }

    /// Whether a value rendered against this budget was cut.
    pub fn cut(&self) -> bool {
        self.cut
    }

    pub(super) fn charge(&mut self, bytes: usize) {
        self.left = self.left.saturating_sub(bytes);
    }
}

/// Appends what fits of `bytes` to `out`, within [`MAX_RENDERED`]. False when `out` is full or
/// cannot grow.
pub(super) fn push(out: &mut Vec<u8>, bytes: &[u8], budget: &mut Budget) -> bool {
    let room = MAX_RENDERED.saturating_sub(out.len());
    let take = bytes.len().min(room);
    if take < bytes.len() {
        budget.cut = true;
    }
    if out.try_reserve(take).is_err() {
        budget.cut = true;
        return false;
    }
    out.extend_from_slice(bytes.get(..take).unwrap_or_default());
    take == bytes.len()
}
