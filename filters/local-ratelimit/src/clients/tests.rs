use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

const T0: u64 = 1_795_737_600_000;

#[test]
fn table_shapes() {
    // (max_client_keys, sets, ways, capacity)
    let cases = [
        (1, 1, 1, 1),
        (2, 1, 2, 2),
        (4, 1, 4, 4),
        (5, 2, 4, 8),
        (10_000, 2_500, 4, 10_000),
        (10_001, 2_501, 4, 10_004),
        (1_000_000, 250_000, 4, 1_000_000),
    ];
    for (max, sets, ways, capacity) in cases {
        let table = Table::new(max);
        assert_eq!(
            (table.sets, table.ways, table.capacity()),
            (sets, ways, capacity),
            "{max}"
        );
    }
}

#[test]
fn fnv1a_known_values() {
    // The published FNV-1a test vectors; the Lua reference's fnv1a32 is held to the same ones
    // by harness/tests/lua_engine.rs.
    assert_eq!(fnv1a32(b""), 0x811c_9dc5);
    assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

fn cursor(at_ms: u64, tokens: f64) -> Cursor {
    Cursor { at_ms, tokens }
}

#[test]
fn a_set_round_trips_and_ignores_what_is_not_a_whole_way() {
    let set = Set(vec![(7, cursor(T0, 0.5)), (u64::MAX, cursor(T0 + 1, 3.0))]);
    let bytes = set.encode();
    assert_eq!(bytes.len(), 2 * WAY_BYTES);
    assert_eq!(Set::decode(&bytes), set);
    let mut truncated = bytes.clone();
    truncated.pop();
    assert_eq!(Set::decode(&truncated).len(), 1);
    assert!(Set::decode(b"").is_empty());
    assert!(Set::decode(b"garbage").is_empty());
}

type Case = (&'static str, Vec<(u64, Cursor)>, u64, u32, Place);

#[test]
fn where_a_request_goes() {
    // 1 token per 60 s; at T0 + 30 s a bucket emptied at T0 holds 0.5 tokens.
    let bucket = TokenBucket::new(1, 1, 60_000);
    let now = T0 + 30_000;
    let emptied_at = |at| cursor(at, 0.0);
    // (why, the set's ways, the request's tag, ways per set, where it goes)
    let cases: [Case; 6] = [
        (
            "its own bucket",
            vec![(1, emptied_at(T0)), (2, emptied_at(T0))],
            2,
            4,
            Place::Own(1),
        ),
        (
            "room in the set",
            vec![(1, emptied_at(T0))],
            9,
            4,
            Place::Append,
        ),
        (
            "no room: the fullest",
            vec![
                (1, emptied_at(now)),
                (2, emptied_at(T0)),
                (3, emptied_at(now)),
            ],
            9,
            3,
            Place::Replace(1),
        ),
        (
            "no room: a refilled one",
            vec![(1, emptied_at(now)), (2, emptied_at(T0 - 60_000))],
            9,
            2,
            Place::Replace(1),
        ),
        (
            "a tie: the first",
            vec![(1, emptied_at(T0)), (2, emptied_at(T0))],
            9,
            2,
            Place::Replace(0),
        ),
        ("an empty set", vec![], 9, 1, Place::Append),
    ];
    for (why, ways, tag, set_ways, place) in cases {
        assert_eq!(Set(ways).place(tag, set_ways, &bucket, now), place, "{why}");
    }
}

/// A table of `max_client_keys` buckets, as the limiter keeps it (sets by number).
struct Bounded {
    table: Table,
    sets: HashMap<u32, Set>,
}

impl Bounded {
    fn consume(&mut self, bucket: &TokenBucket, key: &[u8], now: u64) -> bool {
        let client = self.table.client(key);
        let set = self.sets.entry(client.set).or_default();
        let place = set.place(client.tag, self.table.ways(), bucket, now);
        let consumed = bucket.consume(set.cursor_at(place), now);
        if let Some(cursor) = consumed.cursor.filter(|_| consumed.admitted) {
            set.put(place, client.tag, cursor);
        }
        consumed.admitted
    }

    fn buckets(&self) -> usize {
        self.sets.values().map(Set::len).sum()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the other clients send, a client is admitted at least as often, at every point
    /// in time, as it would be with a bucket of its own that is never forgotten; and the table
    /// never holds more than its capacity.
    #[test]
    fn eviction_only_loosens_limits(
        max_client_keys in 1u32..10,
        max_tokens in 1u32..4,
        interval_ms in prop_oneof![Just(100u64), Just(1_000), Just(60_000)],
        requests in prop::collection::vec((0u8..16, 0u64..400), 1..200),
    ) {
        let bucket = TokenBucket::new(max_tokens, 1, interval_ms);
        let mut bounded = Bounded { table: Table::new(max_client_keys), sets: HashMap::new() };
        let mut unbounded: HashMap<u8, Option<Cursor>> = HashMap::new();
        let mut admitted: HashMap<u8, (u32, u32)> = HashMap::new();
        let mut now = T0;
        for (client, step_ms) in requests {
            now += step_ms;
            let key = [b'c', client];
            let own = unbounded.entry(client).or_default();
            let alone = bucket.consume(*own, now);
            if alone.admitted {
                *own = alone.cursor;
            }
            let shared = bounded.consume(&bucket, &key, now);
            let counts = admitted.entry(client).or_default();
            counts.0 += u32::from(alone.admitted);
            counts.1 += u32::from(shared);
            prop_assert!(counts.1 >= counts.0, "client {client}: {} admitted in the table, {} alone", counts.1, counts.0);
            prop_assert!(bounded.buckets() as u64 <= bounded.table.capacity());
        }
    }

    /// Below the bound nobody is ever evicted: the table is exactly one bucket per client.
    #[test]
    fn below_the_bound_the_table_is_exact(
        max_tokens in 1u32..4,
        requests in prop::collection::vec((0u8..4, 0u64..400), 1..200),
    ) {
        let bucket = TokenBucket::new(max_tokens, 1, 1_000);
        // 4 clients never fill more than the 4 ways of a set, whichever sets they fall in.
        for max_client_keys in [4, 32] {
            let mut bounded = Bounded { table: Table::new(max_client_keys), sets: HashMap::new() };
            let mut unbounded: HashMap<u8, Option<Cursor>> = HashMap::new();
            let mut now = T0;
            for &(client, step_ms) in &requests {
                now += step_ms;
                let own = unbounded.entry(client).or_default();
                let alone = bucket.consume(*own, now);
                if alone.admitted {
                    *own = alone.cursor;
                }
                let in_table = bounded.consume(&bucket, &[b'c', client], now);
                prop_assert_eq!(in_table, alone.admitted);
            }
        }
    }
}
