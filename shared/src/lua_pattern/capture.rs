//! What `string.match(subject, pattern)` returns: its first capture, or the whole match when
//! the pattern has none. [`LuaPattern::find`](super::LuaPattern::find) only says whether a match
//! exists; a value cut out of another (`v:match("^Bearer (.+)$")`) needs where it is, with the
//! choices Lua's backtracking makes: the leftmost start, and at each repeated item the order
//! Lua tries (`*`, `+` and `?` as many bytes as they can first, `-` as few).
//!
//! The pattern is compiled to a small program and run as a Pike VM: every thread keeps its own
//! capture positions, threads are kept in the order Lua's backtracking would try them, and the
//! first to match wins. That is the match Lua finds, in one pass over the subject, with at most
//! one thread per instruction: linear time, where Lua can take exponential time on a hostile
//! value. Items are single bytes, so no loop matches the empty string.
//!
//! Refused besides what [`LuaPattern::parse`](super::LuaPattern::parse) refuses: position
//! captures `()` (they give a number), and more than [`MAX_CAPTURES`] captures.

use super::byte_set::{escape_item, set, ByteSet};
use super::{PatternError, MAX_ITEMS};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// The most captures a pattern here may hold (Lua allows 32; scripts use one or two).
pub const MAX_CAPTURES: usize = 8;

/// Capture positions of one thread: start and end of each capture, then of the whole match.
type Slots = [u32; 2 * MAX_CAPTURES + 2];
const UNSET: u32 = u32::MAX;

/// Threads: each an instruction and its capture positions.
type Threads = Vec<(usize, Slots)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Consume one byte of the set.
    Byte(ByteSet),
    /// Go on at both; the first is tried first.
    Split(u16, u16),
    Jump(u16),
    /// Record the position in a slot.
    Save(u8),
    /// `%f[set]`: the byte before (NUL at the start) is out of the set, the one after (NUL at the
    /// end) in it.
    Frontier(ByteSet),
    /// `$`: at the end of the subject.
    End,
    Match,
}

/// A Lua pattern compiled for [`Capturer::first_capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capturer {
    program: Vec<Op>,
    at_start: bool,
    /// The slots of what is returned: the first capture's, or the whole match's.
    returned: u8,
    /// How many captures the pattern holds.
    captures: u8,
}

/// Out of steps: the work a caller allowed one search is done and no answer was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

/// A match: the slots of each capture (start, end), then of the whole match.
pub(super) type Found = Slots;

fn target(at: usize) -> Result<u16, PatternError> {
    u16::try_from(at).map_err(|_| format!("the pattern holds more than {MAX_ITEMS} items"))
}

impl Capturer {
    /// Compiles `pattern` as `string.match` reads it.
    pub fn parse(pattern: &[u8]) -> Result<Self, PatternError> {
        // The same refusals as a condition's pattern, with the same messages.
        super::LuaPattern::parse(pattern)?;
        let at_start = pattern.first() == Some(&b'^');
        let mut program: Vec<Op> = Vec::new();
        let mut captures: u8 = 0;
        let mut open: Vec<u8> = Vec::new();
        let mut i = usize::from(at_start);
        let mut at_end = false;
        while let Some(&b) = pattern.get(i) {
            if program.len() > 3 * MAX_ITEMS {
                return Err(format!("the pattern holds more than {MAX_ITEMS} items"));
            }
            if b == b'$' && i + 1 == pattern.len() {
                at_end = true;
                break;
            }
            if b == b'(' {
                if pattern.get(i + 1) == Some(&b')') {
                    return Err(format!(
                        "the position capture `()` at byte {i} gives a number, not a value"
                    ));
                }
                if usize::from(captures) >= MAX_CAPTURES {
                    return Err(format!(
                        "the capture at byte {i} is one more than the {MAX_CAPTURES} a pattern may hold"
                    ));
                }
                program.push(Op::Save(2 * captures));
                open.push(captures);
                captures += 1;
                i += 1;
                continue;
            }
            if b == b')' {
                // `LuaPattern::parse` refused an unmatched `)`.
                let n = open.pop().unwrap_or_default();
                program.push(Op::Save(2 * n + 1));
                i += 1;
                continue;
            }
            if b == b'%' && pattern.get(i + 1) == Some(&b'f') {
                let (set, next) = set(pattern, i + 2)?;
                program.push(Op::Frontier(set));
                i = next;
                continue;
            }
            let (set, next) = match b {
                b'%' => (escape_item(*pattern.get(i + 1).unwrap_or(&b'%'), i)?, i + 2),
                b'[' => set(pattern, i)?,
                b'.' => (ByteSet::ALL, i + 1),
                other => (ByteSet::default().with(other), i + 1),
            };
            i = next;
            let here = program.len();
            match pattern.get(i) {
                // L0: split L1, L2; L1: byte; jump L0; L2:
                Some(q @ (b'*' | b'-')) => {
                    let (body, out) = (target(here + 1)?, target(here + 3)?);
                    program.push(match q {
                        b'*' => Op::Split(body, out),
                        _ => Op::Split(out, body),
                    });
                    program.push(Op::Byte(set));
                    program.push(Op::Jump(target(here)?));
                    i += 1;
                }
                // split L1, L2; L1: byte; L2:
                Some(b'?') => {
                    program.push(Op::Split(target(here + 1)?, target(here + 2)?));
                    program.push(Op::Byte(set));
                    i += 1;
                }
                // L1: byte; split L1, L2; L2:
                Some(b'+') => {
                    program.push(Op::Byte(set));
                    program.push(Op::Split(target(here)?, target(here + 2)?));
                    i += 1;
                }
                _ => program.push(Op::Byte(set)),
            }
        }
        if at_end {
            program.push(Op::End);
        }
        program.push(Op::Match);
        let whole = 2 * MAX_CAPTURES as u8;
        Ok(Self {
            program,
            at_start,
            returned: if captures == 0 { whole } else { 0 },
            captures,
        })
    }

    /// The program's length: the most threads alive at once, what each subject byte costs.
    pub fn automaton_items(&self) -> usize {
        self.program.len()
    }

    /// `string.match(subject, pattern)`'s first result as a byte range of `subject`, `None`
    /// when it does not match.
    pub fn first_capture(&self, subject: &[u8]) -> Option<(usize, usize)> {
        let mut unbounded = usize::MAX;
        let slots = self.search(subject, 0, &mut unbounded).ok()??;
        let start = *slots.get(usize::from(self.returned))?;
        let end = *slots.get(usize::from(self.returned) + 1)?;
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        (start <= end && end <= subject.len()).then_some((start, end))
    }

    /// How many captures the pattern holds.
    pub fn captures(&self) -> usize {
        usize::from(self.captures)
    }

    /// Whether the pattern is anchored at the start (`^`).
    pub fn anchored(&self) -> bool {
        self.at_start
    }

    /// The slots of the match Lua's backtracking finds first among those starting at `from` or
    /// later (only at `from` when the pattern is anchored). Each thread a byte costs one of
    /// `steps`; when they run out the search stops with [`Exhausted`].
    pub(super) fn search(
        &self,
        subject: &[u8],
        from: usize,
        steps: &mut usize,
    ) -> Result<Option<Found>, Exhausted> {
        let len = self.program.len();
        let whole = 2 * MAX_CAPTURES;
        let mut current: Threads = Vec::with_capacity(len);
        let mut next: Threads = Vec::with_capacity(len);
        // `seen[pc] == generation`: the instruction is already on the list being built.
        let mut seen = vec![0u32; len];
        // `add`'s work list, kept across calls: no allocation a byte.
        let mut stack: Threads = Vec::with_capacity(len);
        let mut generation = 0u32;
        let mut matched: Option<Slots> = None;
        for at in from..=subject.len() {
            generation = generation.wrapping_add(1);
            // A new start, tried after every thread already running (a later start loses).
            if matched.is_none() && (at == from || !self.at_start) {
                let mut slots = [UNSET; 2 * MAX_CAPTURES + 2];
                if let Some(slot) = slots.get_mut(whole) {
                    *slot = u32::try_from(at).unwrap_or(UNSET);
                }
                for (pc, _) in &current {
                    if let Some(s) = seen.get_mut(*pc) {
                        *s = generation;
                    }
                }
                self.add(
                    (&mut current, &mut stack),
                    (seen.as_mut_slice(), generation),
                    0,
                    slots,
                    at,
                    subject,
                );
            }
            if current.is_empty() {
                // No thread alive: done, unless a later start may still match.
                match matched.is_some() || self.at_start {
                    true => break,
                    false => continue,
                }
            }
            *steps = steps.checked_sub(current.len()).ok_or(Exhausted)?;
            generation = generation.wrapping_add(1);
            next.clear();
            let byte = subject.get(at).copied();
            for &(pc, slots) in &current {
                match self.program.get(pc) {
                    Some(Op::Match) => {
                        let mut slots = slots;
                        if let Some(slot) = slots.get_mut(whole + 1) {
                            *slot = u32::try_from(at).unwrap_or(UNSET);
                        }
                        matched = Some(slots);
                        // Every thread after this one is a choice Lua never reaches.
                        break;
                    }
                    Some(Op::Byte(set)) if byte.is_some_and(|b| set.contains(b)) => {
                        let mark = (seen.as_mut_slice(), generation);
                        let lists = (&mut next, &mut stack);
                        self.add(lists, mark, pc + 1, slots, at + 1, subject);
                    }
                    _ => {}
                }
            }
            // The two lists swap, each keeping its allocation.
            current.clear();
            core::mem::swap(&mut current, &mut next);
        }
        Ok(matched)
    }

    /// Adds the thread at `pc` to `list`, following jumps, splits (first branch first), saves
    /// and assertions at position `at`, each instruction once per position. `stack` is an
    /// empty work list (an explicit stack instead of recursion: a deep pattern must not
    /// exhaust the call stack), left empty.
    fn add(
        &self,
        (list, stack): (&mut Threads, &mut Threads),
        (seen, generation): (&mut [u32], u32),
        pc: usize,
        slots: Slots,
        at: usize,
        subject: &[u8],
    ) {
        stack.clear();
        stack.push((pc, slots));
        while let Some((pc, mut slots)) = stack.pop() {
            match seen.get_mut(pc) {
                Some(s) if *s != generation => *s = generation,
                _ => continue,
            }
            match self.program.get(pc) {
                Some(Op::Jump(to)) => stack.push((usize::from(*to), slots)),
                Some(Op::Split(first, second)) => {
                    // The stack pops the first branch first.
                    stack.push((usize::from(*second), slots));
                    stack.push((usize::from(*first), slots));
                }
                Some(Op::Save(n)) => {
                    if let Some(slot) = slots.get_mut(usize::from(*n)) {
                        *slot = u32::try_from(at).unwrap_or(UNSET);
                    }
                    stack.push((pc + 1, slots));
                }
                Some(Op::Frontier(set)) => {
                    let before = at
                        .checked_sub(1)
                        .and_then(|b| subject.get(b))
                        .copied()
                        .unwrap_or(0);
                    let after = subject.get(at).copied().unwrap_or(0);
                    if !set.contains(before) && set.contains(after) {
                        stack.push((pc + 1, slots));
                    }
                }
                Some(Op::End) if at == subject.len() => stack.push((pc + 1, slots)),
                Some(Op::Byte(_) | Op::Match) => list.push((pc, slots)),
                Some(Op::End) | None => {}
            }
        }
    }
}
