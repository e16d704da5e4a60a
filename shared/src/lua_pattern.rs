//! Lua patterns, as real scripts match with them (`path:match("^/api/")`), matched natively:
//! [`LuaPattern::find`] answers exactly where LuaJIT's `string.find` finds a match.
//!
//! Envoy's Lua has no regex library, so a script tests strings with Lua patterns. A condition
//! written as `lua_pattern` keeps the script's own pattern: the Lua reference hands it to
//! `string.find` unchanged, and the Wasm parses it once, at configure time, into a
//! [`LuaPattern`]. A Lua pattern without `%b` and back-references is a row of single-byte
//! items, each once (`a`), optional (`a?`) or repeated (`a*`, `a+`, `a-`), and frontiers
//! (`%f[set]`, a test of the bytes either side of a position), between optional anchors: a
//! regular language over bytes, and Lua's matcher backtracks through every way of matching it.
//! Whether a subject matches is then whether that row, read as an automaton, accepts it. `find` runs the automaton over the subject once, one set of states per byte:
//! linear time and no allocation, where Lua's backtracking can take quadratic time or worse on a
//! hostile header. No regex engine is linked for it (`regex` conditions are a feature of their
//! own; see `condition`).
//!
//! Classes are those of the C locale LuaJIT runs under in Envoy (`%a` is `A-Za-z`, `%s` is
//! `\t\n\v\f\r` and space). Refused, with the position named: `%b` and `%1`–`%9` (not
//! regular), `%g` (not in LuaJIT, which is Lua 5.1), `%f` without a set, a trailing `%`, an
//! unclosed `[` or `(`, an unmatched `)`, a range ending in `%`, and NUL (Lua 5.1 patterns stop
//! at NUL; write `%z`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

mod byte_set;
mod capture;
mod gsub;
use byte_set::{escape_item, set, ByteSet};
pub use capture::{Capturer, Exhausted, MAX_CAPTURES};
pub use gsub::{Gsub, MAX_GSUB_STEPS};

/// Why a pattern is refused: a sentence naming the byte offset.
pub type PatternError = String;

/// The most items a pattern may hold (`a+` is two); the condition engine bounds patterns to
/// 1024 bytes, which never reach it.
pub const MAX_ITEMS: usize = 1024;

/// How often an item matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Times {
    Once,
    /// `?`
    AtMostOnce,
    /// `*` and `-` (greedy and lazy find the same matches; only whether one exists counts).
    AnyNumber,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// One byte of `set`, `times` over.
    Byte { set: ByteSet, times: Times },
    /// `%f[set]`: matches no byte, where the byte before (NUL at the start) is not in `set` and
    /// the byte after (NUL at the end) is.
    Frontier(ByteSet),
}

/// A parsed Lua pattern, ready to [`find`](LuaPattern::find) in any subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuaPattern {
    /// `^` first: a match must start at the subject's first byte.
    at_start: bool,
    /// `$` last: a match must end at the subject's last byte.
    at_end: bool,
    items: Vec<Item>,
    /// The items that can be crossed without a byte (optional, repeated, frontiers), in order.
    empty_crossable: Vec<u16>,
    /// A pattern of plain bytes only (`/admin/`, `^/api/`, `%.png$`): searched as a string,
    /// without the automaton.
    literal: Option<Literal>,
}

/// A literal pattern's bytes, and its Knuth-Morris-Pratt failure table (for each prefix, the
/// length of its longest proper border): an unanchored search reads each subject byte once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Literal {
    bytes: Vec<u8>,
    border: Vec<u16>,
}

impl Literal {
    /// The literal of `items`, if each is one byte once.
    fn of(items: &[Item]) -> Option<Self> {
        let bytes = items
            .iter()
            .map(|item| match item {
                Item::Byte {
                    set,
                    times: Times::Once,
                } => set.only(),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()?;
        let mut border = Vec::with_capacity(bytes.len());
        let mut k: usize = 0;
        for (i, &b) in bytes.iter().enumerate() {
            while k > 0 && i > 0 && bytes.get(k) != Some(&b) {
                k = usize::from(border.get(k - 1).copied().unwrap_or(0));
            }
            if i > 0 && bytes.get(k) == Some(&b) {
                k += 1;
            }
            border.push(u16::try_from(k).unwrap_or(0));
        }
        Some(Self { bytes, border })
    }

    /// Whether the literal occurs in `subject`, in one pass.
    fn occurs_in(&self, subject: &[u8]) -> bool {
        if self.bytes.is_empty() {
            return true;
        }
        let mut k = 0;
        for &b in subject {
            while k > 0 && self.bytes.get(k) != Some(&b) {
                k = usize::from(self.border.get(k - 1).copied().unwrap_or(0));
            }
            if self.bytes.get(k) == Some(&b) {
                k += 1;
            }
            if k == self.bytes.len() {
                return true;
            }
        }
        false
    }
}

impl LuaPattern {
    /// Parses `pattern` as LuaJIT's `string.find` reads it.
    pub fn parse(pattern: &[u8]) -> Result<Self, PatternError> {
        if let Some(at) = pattern.iter().position(|&b| b == 0) {
            return Err(format!(
                "NUL at byte {at} ends a Lua 5.1 pattern; write %z for a NUL byte"
            ));
        }
        let at_start = pattern.first() == Some(&b'^');
        let mut parsed = Self {
            at_start,
            at_end: false,
            items: Vec::new(),
            empty_crossable: Vec::new(),
            literal: None,
        };
        let mut i = usize::from(at_start);
        let mut open_captures: Vec<usize> = Vec::new();
        while let Some(&b) = pattern.get(i) {
            // A `$` as the last byte anchors at the end; anywhere else it is literal.
            if b == b'$' && i + 1 == pattern.len() {
                parsed.at_end = true;
                break;
            }
            // Captures only delimit what a match returns: whether one exists is the same.
            // What follows either parenthesis is a new item (`(*` is a literal `*`).
            if b == b'(' {
                open_captures.push(i);
                i += 1;
                continue;
            }
            if b == b')' {
                if open_captures.pop().is_none() {
                    return Err(format!("the `)` at byte {i} closes no capture"));
                }
                i += 1;
                continue;
            }
            if b == b'%' && pattern.get(i + 1) == Some(&b'f') {
                if pattern.get(i + 2) != Some(&b'[') {
                    return Err(format!(
                        "%f at byte {i} must be followed by a set, as in %f[%w]"
                    ));
                }
                // What follows a frontier is a new item (`%f[%a]*` is a literal `*`).
                let (set, next) = set(pattern, i + 2)?;
                parsed.push(Item::Frontier(set))?;
                i = next;
                continue;
            }
            let (set, next) = match b {
                b'%' => {
                    let letter = *pattern
                        .get(i + 1)
                        .ok_or_else(|| format!("the pattern ends with `%` (byte {i})"))?;
                    (escape_item(letter, i)?, i + 2)
                }
                b'[' => set(pattern, i)?,
                b'.' => (ByteSet::ALL, i + 1),
                other => (ByteSet::default().with(other), i + 1),
            };
            i = next;
            // A quantifier applies to the single-byte item just read; `+` is once, then any.
            let times = match pattern.get(i) {
                Some(b'*' | b'-') => Times::AnyNumber,
                Some(b'?') => Times::AtMostOnce,
                Some(b'+') => {
                    parsed.push(Item::Byte {
                        set,
                        times: Times::Once,
                    })?;
                    Times::AnyNumber
                }
                _ => Times::Once,
            };
            if times != Times::Once {
                i += 1;
            }
            parsed.push(Item::Byte { set, times })?;
        }
        if let Some(at) = open_captures.first() {
            return Err(format!("the capture opened at byte {at} is not closed"));
        }
        parsed.empty_crossable = parsed
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                !matches!(
                    item,
                    Item::Byte {
                        times: Times::Once,
                        ..
                    }
                )
            })
            .filter_map(|(i, _)| u16::try_from(i).ok())
            .collect();
        parsed.literal = Literal::of(&parsed.items);
        Ok(parsed)
    }

    /// How many states the automaton runs through for a subject byte at most: what a match
    /// costs per byte (0 for a literal, searched as a string). A configuration bounds the sum
    /// over its patterns (`condition::MAX_AUTOMATON_ITEMS`).
    pub fn automaton_items(&self) -> usize {
        match self.literal {
            Some(_) => 0,
            None => self.items.len(),
        }
    }

    /// Appends an item, refusing one beyond the automaton's [`MAX_ITEMS`] states: a byte item
    /// and a frontier alike, as [`States`] has a bit for each.
    fn push(&mut self, item: Item) -> Result<(), PatternError> {
        if self.items.len() >= MAX_ITEMS {
            return Err(format!("the pattern holds more than {MAX_ITEMS} items"));
        }
        self.items.push(item);
        Ok(())
    }

    /// Whether `string.find(subject, pattern)` finds a match.
    pub fn find(&self, subject: &[u8]) -> bool {
        if let Some(literal) = &self.literal {
            let bytes = literal.bytes.as_slice();
            return match (self.at_start, self.at_end) {
                (true, true) => subject == bytes,
                (true, false) => subject.starts_with(bytes),
                (false, true) => subject.ends_with(bytes),
                (false, false) => literal.occurs_in(subject),
            };
        }
        let accept = self.items.len();
        // Only the words that hold states: a short pattern touches one word a byte.
        let words = accept / 64 + 1;
        // The byte at `at`, NUL past the end, as Lua's frontier reads it.
        let byte_at = |at: usize| subject.get(at).copied().unwrap_or(0);
        let mut states = States::default();
        states.insert(0);
        self.cross_empty(&mut states, 0, byte_at(0));
        for (at, &byte) in subject.iter().enumerate() {
            if states.contains(accept) && !self.at_end {
                return true;
            }
            let mut next = States::default();
            // The live states only, lowest first.
            for (w, &word) in states.0.iter().take(words).enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if let Some(Item::Byte { set, times }) = self.items.get(i) {
                        if set.contains(byte) {
                            next.insert(match times {
                                Times::AnyNumber => i,
                                Times::Once | Times::AtMostOnce => i + 1,
                            });
                        }
                    }
                }
            }
            // Unanchored, a match may also start at the next byte.
            if !self.at_start {
                next.insert(0);
            }
            self.cross_empty(&mut next, byte, byte_at(at + 1));
            if next.is_empty(words) {
                return false;
            }
            states = next;
        }
        states.contains(accept)
    }

    /// Adds the states reached without consuming a byte, between `before` and `after`: past
    /// optional items matched zero times, and past frontiers that hold there. One pass in order
    /// suffices: both only move forward.
    fn cross_empty(&self, states: &mut States, before: u8, after: u8) {
        for &i in &self.empty_crossable {
            let i = usize::from(i);
            let crossed = match self.items.get(i) {
                Some(Item::Byte { .. }) => true,
                Some(Item::Frontier(set)) => !set.contains(before) && set.contains(after),
                None => false,
            };
            if crossed && states.contains(i) {
                states.insert(i + 1);
            }
        }
    }
}

/// Which items the automaton may be at (state `i`: items `0..i` matched), as bits: enough for
/// `MAX_ITEMS + 1` states, on the stack.
#[derive(Debug, Clone, Copy, Default)]
struct States([u64; MAX_ITEMS / 64 + 1]);

impl States {
    fn insert(&mut self, state: usize) {
        if let Some(word) = self.0.get_mut(state / 64) {
            *word |= 1 << (state % 64);
        }
    }

    fn contains(&self, state: usize) -> bool {
        self.0
            .get(state / 64)
            .is_some_and(|word| word >> (state % 64) & 1 == 1)
    }

    /// Whether the first `words` words hold no state.
    fn is_empty(&self, words: usize) -> bool {
        self.0.iter().take(words).all(|&word| word == 0)
    }
}

#[cfg(test)]
mod tests;
