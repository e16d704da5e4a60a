//! The streams in flight whose state a module keeps from the request phase to the response
//! phase, by context id, the oldest dropped past a bound.

use alloc::collections::VecDeque;

/// Ordered by context id. Envoy hands out ids in increasing order per VM, so a stream is
/// appended, usually taken near an end, and the oldest is the front: less code in a module than
/// a `BTreeMap`, and no hashing of ids.
#[derive(Debug)]
pub struct InFlight<T> {
    entries: VecDeque<(u32, T)>,
    bound: usize,
}

impl<T> InFlight<T> {
    pub const fn new(bound: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            bound,
        }
    }

    /// Keeps `value` for stream `id` (replacing what it had); past the bound, drops the oldest.
    pub fn insert(&mut self, id: u32, value: T) {
        let at = self.entries.partition_point(|(other, _)| *other < id);
        match self.entries.get_mut(at) {
            Some(slot) if slot.0 == id => slot.1 = value,
            _ => self.entries.insert(at, (id, value)),
        }
        if self.entries.len() > self.bound {
            self.entries.pop_front();
        }
    }

    /// What stream `id` kept, left in place.
    pub fn get(&self, id: u32) -> Option<&T> {
        let at = self.entries.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        self.entries.get(at).map(|(_, value)| value)
    }

    /// What stream `id` kept, to change in place.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        let at = self.entries.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        self.entries.get_mut(at).map(|(_, value)| value)
    }

    /// What stream `id` kept, removed.
    pub fn take(&mut self, id: u32) -> Option<T> {
        let at = self.entries.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        self.entries.remove(at).map(|(_, value)| value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::InFlight;

    enum Op {
        Insert(u32, char),
        Take(u32, Option<char>),
    }
    use Op::{Insert, Take};

    /// (what happens, in order; what is left at the end) with a bound of 3.
    #[test]
    fn streams_are_kept_by_id_and_the_oldest_goes_past_the_bound() {
        let cases: [(&str, &[Op], usize); 6] = [
            (
                "in order",
                &[
                    Insert(1, 'a'),
                    Insert(2, 'b'),
                    Take(1, Some('a')),
                    Take(2, Some('b')),
                ],
                0,
            ),
            (
                "taken twice",
                &[Insert(1, 'a'), Take(1, Some('a')), Take(1, None)],
                0,
            ),
            ("never kept", &[Insert(1, 'a'), Take(7, None)], 1),
            (
                "out of order",
                &[
                    Insert(5, 'e'),
                    Insert(2, 'b'),
                    Insert(9, 'i'),
                    Take(2, Some('b')),
                    Take(9, Some('i')),
                    Take(5, Some('e')),
                ],
                0,
            ),
            (
                "same id replaces",
                &[
                    Insert(4, 'a'),
                    Insert(4, 'b'),
                    Take(4, Some('b')),
                    Take(4, None),
                ],
                0,
            ),
            (
                "past the bound, the lowest id goes",
                &[
                    Insert(1, 'a'),
                    Insert(2, 'b'),
                    Insert(3, 'c'),
                    Insert(4, 'd'),
                    Take(1, None),
                    Take(4, Some('d')),
                    Take(2, Some('b')),
                ],
                1,
            ),
        ];
        for (name, ops, left) in cases {
            let mut streams = InFlight::new(3);
            for op in ops {
                match *op {
                    Insert(id, value) => streams.insert(id, value),
                    Take(id, want) => assert_eq!(streams.take(id), want, "{name}: take {id}"),
                }
            }
            assert_eq!(streams.len(), left, "{name}");
        }
    }
}
