//! Per-client buckets in a bounded table that a flood of new clients cannot switch off.
//!
//! **The lever.** A bucket that has refilled to `max_tokens` behaves exactly like a bucket that
//! does not exist, so the table only has to hold clients that are *active* (not yet refilled),
//! and it may drop any bucket at the price of handing its client a full one.
//!
//! **The table.** `max_client_keys` buckets, in sets of up to [`WAYS`] (a set-associative
//! cache): a client belongs to the set `fnv1a32(key) % sets` and is recognised in it by
//! `fnv1a64(key)`, its tag. A request whose client is not in its set takes a way that is empty,
//! else the way whose bucket holds the most tokens at that moment — a refilled one if there is
//! one, which costs nothing; otherwise the *fullest*, whose client loses the least by starting
//! again from a full bucket. A set is one shared-data value (one read and, on an admission, one
//! compare-and-swap write per request), and sets are created only as clients land in them, so
//! memory is bounded by `max_client_keys` buckets however many clients are seen.
//!
//! **What a flood can and cannot do at the bound.** An attacker sending many distinct keys
//! cannot make any other client share a bucket, nor be refused because of the attacker's
//! traffic: clients are never merged, and a client whose bucket is dropped gets a *full* one.
//! What the attacker can do is make the table forget active clients faster than they refill,
//! which only ever *loosens* their limit (each eviction hands the evicted client up to
//! `max_tokens` more). Cumulatively a client never gets fewer admissions than it would with a
//! table of unbounded size (`tests::eviction_only_loosens_limits`). Keys are per-client budgets
//! anyway, so an attacker rotating keys was never limited by them; the bound only decides how
//! much state that costs, not whether real clients are limited fairly.
//!
//! Two different keys with the same set and the same 64-bit tag would share a bucket (odds of
//! about n²/2⁶⁵ for n active clients). An attacker who could aim for that would need the victim's
//! key, and with it could drain the victim's bucket directly.
//!
//! The Lua reference keeps the same sets, found with the same 32-bit FNV-1a and chosen by the same
//! rule, and tells clients apart by their raw keys instead of tags.

use crate::bucket::{Cursor, TokenBucket, CURSOR_BYTES};
use alloc::vec::Vec;

/// Ways per set (fewer when `max_client_keys` is smaller).
pub const WAYS: u32 = 4;

/// Bytes of one stored way: the client's tag, then its [`Cursor`].
pub const WAY_BYTES: usize = 8 + CURSOR_BYTES;

/// The shape of the table for a `max_client_keys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    sets: u32,
    ways: u32,
}

/// Where a client's bucket lives: its set and its tag in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub set: u32,
    pub tag: u64,
}

impl Table {
    /// `max_client_keys` is 1..=1,000,000 (validated by the config); 0 is read as 1.
    pub fn new(max_client_keys: u32) -> Self {
        let max = max_client_keys.max(1);
        let ways = WAYS.min(max);
        Self {
            sets: max.div_ceil(ways),
            ways,
        }
    }

    /// How many client buckets the table holds at most.
    pub fn capacity(&self) -> u64 {
        u64::from(self.sets) * u64::from(self.ways)
    }

    pub fn ways(&self) -> u32 {
        self.ways
    }

    pub fn client(&self, key: &[u8]) -> Client {
        Client {
            set: fnv1a32(key) % self.sets,
            tag: fnv1a64(key),
        }
    }
}

/// FNV-1a, 32 bits: the client's set. The Lua computes it with `bit` operations.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// FNV-1a, 64 bits: the client's tag, so a long key costs no memory.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Which way of a set a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The client's own bucket, at this index.
    Own(usize),
    /// A new bucket appended to a set that has room.
    Append,
    /// A new bucket in place of the one at this index (refilled, or the fullest).
    Replace(usize),
}

/// One set's buckets, in the order they were placed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Set(Vec<(u64, Cursor)>);

impl Set {
    /// A stored set; bytes that do not form whole ways are ignored (an empty set: full buckets).
    pub fn decode(bytes: &[u8]) -> Self {
        Self(
            bytes
                .chunks_exact(WAY_BYTES)
                .filter_map(|way| {
                    let (tag, cursor) = way.split_at(8);
                    Some((
                        u64::from_le_bytes(tag.try_into().ok()?),
                        Cursor::decode(cursor)?,
                    ))
                })
                .collect(),
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * WAY_BYTES);
        for (tag, cursor) in &self.0 {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&cursor.encode());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The cursor of `tag`'s bucket; `None` when the set does not hold it (a full bucket).
    pub fn cursor_of(&self, tag: u64) -> Option<Cursor> {
        self.0.iter().find(|(t, _)| *t == tag).map(|(_, c)| *c)
    }

    /// Where `tag`'s request goes at `now_ms` in a set of `ways`.
    pub fn place(&self, tag: u64, ways: u32, bucket: &TokenBucket, now_ms: u64) -> Place {
        if let Some(i) = self.0.iter().position(|(t, _)| *t == tag) {
            return Place::Own(i);
        }
        if self.0.len() < ways as usize {
            return Place::Append;
        }
        let mut fullest = 0;
        let mut most = f64::NEG_INFINITY;
        for (i, (_, cursor)) in self.0.iter().enumerate() {
            let tokens = bucket.tokens(Some(*cursor), now_ms);
            if tokens > most {
                fullest = i;
                most = tokens;
            }
        }
        Place::Replace(fullest)
    }

    /// The bucket state at `place` before this request: `None` for a new (full) bucket.
    pub fn cursor_at(&self, place: Place) -> Option<Cursor> {
        match place {
            Place::Own(i) => self.0.get(i).map(|(_, c)| *c),
            Place::Append | Place::Replace(_) => None,
        }
    }

    /// Stores `tag`'s bucket at `place`.
    pub fn put(&mut self, place: Place, tag: u64, cursor: Cursor) {
        match place {
            Place::Own(i) | Place::Replace(i) => {
                if let Some(way) = self.0.get_mut(i) {
                    *way = (tag, cursor);
                }
            }
            Place::Append => self.0.push((tag, cursor)),
        }
    }
}

#[cfg(test)]
mod tests;
