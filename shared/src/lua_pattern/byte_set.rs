//! What one item of a pattern matches: a byte set, from a class (`%d`), an escape (`%.`), or a
//! set (`[^,%s]`), as LuaJIT reads each.

use super::PatternError;
use alloc::format;

/// A set of byte values: bit `b` of `low` for `b < 128`, of `high` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ByteSet {
    low: u128,
    high: u128,
}

impl ByteSet {
    pub(super) const ALL: Self = Self {
        low: u128::MAX,
        high: u128::MAX,
    };

    /// The bytes `lo..=hi` (none when `lo > hi`, as Lua's `lo <= c && c <= hi` is never true).
    pub(super) fn range(lo: u8, hi: u8) -> Self {
        (lo..=hi).fold(Self::default(), |set, b| set.with(b))
    }

    pub(super) fn with(self, b: u8) -> Self {
        if b < 128 {
            Self {
                low: self.low | 1 << b,
                ..self
            }
        } else {
            Self {
                high: self.high | 1 << (b - 128),
                ..self
            }
        }
    }

    pub(super) fn union(self, other: Self) -> Self {
        Self {
            low: self.low | other.low,
            high: self.high | other.high,
        }
    }

    pub(super) fn complement(self) -> Self {
        Self {
            low: !self.low,
            high: !self.high,
        }
    }

    /// The one byte of a set of one byte.
    pub(super) fn only(self) -> Option<u8> {
        match (self.low.count_ones(), self.high.count_ones()) {
            (1, 0) => u8::try_from(self.low.trailing_zeros()).ok(),
            (0, 1) => u8::try_from(self.high.trailing_zeros() + 128).ok(),
            _ => None,
        }
    }

    pub(super) fn contains(self, b: u8) -> bool {
        if b < 128 {
            self.low >> b & 1 == 1
        } else {
            self.high >> (b - 128) & 1 == 1
        }
    }
}

/// The set of a `%x` class letter; `None` for a letter that is not a class (then `%x` is the
/// literal `x`, as in Lua).
fn class(letter: u8) -> Option<ByteSet> {
    let r = ByteSet::range;
    let set = match letter.to_ascii_lowercase() {
        b'a' => r(b'A', b'Z').union(r(b'a', b'z')),
        b'd' => r(b'0', b'9'),
        b'l' => r(b'a', b'z'),
        b's' => r(b'\t', b'\r').with(b' '),
        b'u' => r(b'A', b'Z'),
        b'w' => r(b'0', b'9').union(r(b'A', b'Z')).union(r(b'a', b'z')),
        b'x' => r(b'0', b'9').union(r(b'A', b'F')).union(r(b'a', b'f')),
        b'p' => r(b'!', b'/')
            .union(r(b':', b'@'))
            .union(r(b'[', b'`'))
            .union(r(b'{', b'~')),
        b'c' => r(0, 0x1F).with(0x7F),
        b'z' => r(0, 0),
        _ => return None,
    };
    Some(match letter.is_ascii_uppercase() {
        true => set.complement(),
        false => set,
    })
}

/// `%x` outside a set: a class, or the literal byte.
pub(super) fn escape_item(letter: u8, at: usize) -> Result<ByteSet, PatternError> {
    match letter {
        b'b' => Err(format!(
            "%{} at byte {at} has no regular-expression equivalent",
            letter as char
        )),
        b'1'..=b'9' => Err(format!(
            "the back-reference %{} at byte {at} has no regular-expression equivalent",
            letter as char
        )),
        b'g' | b'G' => Err(not_in_luajit(letter, at)),
        _ => Ok(class(letter).unwrap_or_else(|| ByteSet::default().with(letter))),
    }
}

fn not_in_luajit(letter: u8, at: usize) -> PatternError {
    format!(
        "%{} at byte {at} is not a class in LuaJIT (Lua 5.1)",
        letter as char
    )
}

/// Reads the set starting at `pattern[start] == b'['`; returns it and the offset just past
/// the closing `]`.
pub(super) fn set(pattern: &[u8], start: usize) -> Result<(ByteSet, usize), PatternError> {
    let unclosed = || format!("the set opened at byte {start} is not closed by `]`");
    let mut i = start + 1;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut members = ByteSet::default();
    let mut first = true;
    loop {
        let b = *pattern.get(i).ok_or_else(unclosed)?;
        // As in Lua, a `]` right after `[` or `[^` is a member, not the end.
        if b == b']' && !first {
            break;
        }
        first = false;
        if b == b'%' {
            let letter = *pattern.get(i + 1).ok_or_else(unclosed)?;
            if letter == b'g' || letter == b'G' {
                return Err(not_in_luajit(letter, i));
            }
            members =
                members.union(class(letter).unwrap_or_else(|| ByteSet::default().with(letter)));
            i += 2;
        } else if let (Some(b'-'), Some(&end)) = (pattern.get(i + 1), pattern.get(i + 2)) {
            if end == b']' {
                // `a-]`: a literal `a`, then `-` is read as the next member.
                members = members.with(b);
                i += 1;
                continue;
            }
            if end == b'%' {
                return Err(format!(
                    "the range at byte {i} ends in `%`, which Lua reads two ways; write the range without it"
                ));
            }
            members = members.union(ByteSet::range(b, end));
            i += 3;
        } else {
            members = members.with(b);
            i += 1;
        }
    }
    let set = match negated {
        true => members.complement(),
        false => members,
    };
    Ok((set, i + 1))
}
