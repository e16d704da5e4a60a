//! What `string.gsub(subject, pattern, replacement)` returns (its first result), with a string
//! replacement, as LuaJIT (Lua 5.1) computes it: every match, leftmost first and not
//! overlapping, replaced by the replacement, in which `%0` is the whole match, `%1`–`%9` a
//! capture (`%1` the whole match when the pattern has none) and `%` before any other byte
//! that byte. After an empty match the next byte is copied and the search goes on past it; an
//! anchored pattern (`^`) replaces at most once.
//!
//! Each search runs on the [`Capturer`]'s Pike VM from where the last match ended, so a
//! substitution costs what the searches cost, and both the work and the result are bounded by
//! the caller: [`Gsub::apply`] gives `None` instead of running past them.

use super::{Capturer, PatternError};
use alloc::format;
use alloc::vec::Vec;

/// One piece of a replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    /// `%0`, or `%1` in a pattern without captures.
    Whole,
    /// `%1`–`%9`, 0-based.
    Capture(u8),
}

/// A pattern and a replacement, checked together as `string.gsub` would use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsub {
    capturer: Capturer,
    replacement: Vec<Piece>,
}

/// The most steps (threads run over a byte) one substitution may take: a 64 KiB value under
/// the longest pattern (128 instructions), searched twice over.
pub const MAX_GSUB_STEPS: usize = 2 * 128 * 64 * 1024;

impl Gsub {
    /// Compiles `pattern` and reads `replacement`. Refused where Lua raises ("invalid capture
    /// index": `%N` past the pattern's captures) and a trailing `%` (Lua 5.1 reads the string's
    /// terminating NUL after it).
    pub fn parse(pattern: &[u8], replacement: &[u8]) -> Result<Self, PatternError> {
        let capturer = Capturer::parse(pattern)?;
        let captures = capturer.captures();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut literal: Vec<u8> = Vec::new();
        let mut bytes = replacement.iter().copied().enumerate();
        while let Some((i, b)) = bytes.next() {
            if b != b'%' {
                literal.push(b);
                continue;
            }
            let Some((_, next)) = bytes.next() else {
                return Err(format!(
                    "the replacement ends in a `%` at byte {i}: write `%%` for a percent sign"
                ));
            };
            let piece = match next {
                b'0' => Piece::Whole,
                b'1' if captures == 0 => Piece::Whole,
                d @ b'1'..=b'9' if usize::from(d - b'0') <= captures => Piece::Capture(d - b'1'),
                d @ b'1'..=b'9' => {
                    return Err(format!(
                        "the replacement's `%{}` at byte {i} names a capture the pattern does not have (it has {captures}): Lua raises \"invalid capture index\"",
                        char::from(d)
                    ))
                }
                other => {
                    literal.push(other);
                    continue;
                }
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(core::mem::take(&mut literal)));
            }
            pieces.push(piece);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Self {
            capturer,
            replacement: pieces,
        })
    }

    /// The program's length (see [`Capturer::automaton_items`]).
    pub fn automaton_items(&self) -> usize {
        self.capturer.automaton_items()
    }

    /// `string.gsub(subject, pattern, replacement)`; `None` when the result would pass `max_len`
    /// bytes or the searches [`MAX_GSUB_STEPS`] steps.
    pub fn apply(&self, subject: &[u8], max_len: usize) -> Option<Vec<u8>> {
        let mut out: Vec<u8> = Vec::with_capacity(subject.len().min(max_len));
        let mut steps = MAX_GSUB_STEPS;
        let mut from = 0;
        loop {
            let found = self.capturer.search(subject, from, &mut steps).ok()?;
            let Some(slots) = found else { break };
            let (start, end) = span(&slots, 2 * super::MAX_CAPTURES)?;
            out.extend_from_slice(subject.get(from..start)?);
            for piece in &self.replacement {
                match piece {
                    Piece::Literal(bytes) => out.extend_from_slice(bytes),
                    Piece::Whole => out.extend_from_slice(subject.get(start..end)?),
                    Piece::Capture(n) => {
                        let (a, b) = span(&slots, 2 * usize::from(*n))?;
                        out.extend_from_slice(subject.get(a..b)?);
                    }
                }
            }
            if out.len() > max_len {
                return None;
            }
            from = if end > start {
                end
            } else {
                // An empty match: the byte after it is copied and the search goes on past it.
                match subject.get(start) {
                    Some(&b) => out.push(b),
                    None => {
                        from = start;
                        break;
                    }
                }
                start + 1
            };
            if self.capturer.anchored() {
                break;
            }
        }
        out.extend_from_slice(subject.get(from..)?);
        (out.len() <= max_len).then_some(out)
    }
}

/// The byte range in slots `at` and `at + 1`.
fn span(slots: &super::capture::Found, at: usize) -> Option<(usize, usize)> {
    let start = usize::try_from(*slots.get(at)?).ok()?;
    let end = usize::try_from(*slots.get(at + 1)?).ok()?;
    (start <= end).then_some((start, end))
}

#[cfg(test)]
mod tests;
