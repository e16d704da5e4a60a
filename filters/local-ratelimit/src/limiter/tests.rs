use super::*;
use std::collections::HashMap;

/// A store with the [`Store`] contract over Envoy's CAS semantics: each write bumps the entry's
/// CAS token; a write without a token only creates.
#[derive(Default)]
struct MapStore {
    entries: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    /// Writes that fail with a CAS mismatch before one is let through (`u32::MAX`: all).
    mismatches: u32,
    fail: bool,
}

impl Store for MapStore {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError> {
        if self.fail {
            return Err(StoreError);
        }
        Ok(match self.entries.get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, StoreError> {
        if self.mismatches > 0 {
            self.mismatches = self.mismatches.saturating_sub(1);
            return Ok(false);
        }
        if let Some((_, current)) = self.entries.get(key) {
            if cas != Some(*current) {
                return Ok(false);
            }
        }
        self.next_cas += 1;
        self.entries
            .insert(key.to_string(), (value.to_vec(), self.next_cas));
        Ok(true)
    }
}

const NS: &str = "moonshift.local-ratelimit/p/r/";
/// A realistic wall clock, in milliseconds.
const T0: u64 = 1_795_737_600_000;

#[test]
fn burst_then_continuous_refill() {
    let bucket = TokenBucket::new(3, 3, 10_000);
    let mut store = MapStore::default();
    let key = default_key(NS);
    let t0 = 1_795_737_600_000;
    let got: Vec<Decision> = [t0, t0, t0, t0, t0 + 3000, t0 + 3400]
        .iter()
        .map(|&now| consume(&mut store, &key, &bucket, now))
        .collect();
    use Decision::{Admitted, Limited};
    assert_eq!(
        got,
        [Admitted, Admitted, Admitted, Limited, Limited, Admitted]
    );
}

/// What another worker does to the store.
type Rival = Box<dyn FnOnce(&mut MapStore)>;

/// A store where another worker runs `rival` between this worker's first read and its first write.
struct RacingStore {
    inner: MapStore,
    rival: Option<Rival>,
}

impl RacingStore {
    fn new(rival: impl FnOnce(&mut MapStore) + 'static) -> Self {
        Self {
            inner: MapStore::default(),
            rival: Some(Box::new(rival)),
        }
    }
}

impl Store for RacingStore {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError> {
        self.inner.get(key)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, StoreError> {
        if let Some(rival) = self.rival.take() {
            rival(&mut self.inner);
        }
        self.inner.set(key, value, cas)
    }
}

#[test]
fn two_workers_creating_one_bucket_take_one_token_each() {
    // Both workers read "absent"; the rival creates the bucket first. Our creating write must
    // lose and retry against the rival's cursor, so the two take exactly `max_tokens` in all.
    for max_tokens in [1, 2, 5] {
        let bucket = TokenBucket::new(max_tokens, max_tokens, 3_600_000);
        let rival = std::rc::Rc::new(std::cell::Cell::new(None));
        let rival_decision = rival.clone();
        let mut store = RacingStore::new(move |inner| {
            rival_decision.set(Some(consume(inner, "k", &bucket, T0)));
        });
        let ours = consume(&mut store, "k", &bucket, T0);
        let later = (0..10).map(|_| consume(&mut store, "k", &bucket, T0));
        let admitted = std::iter::once(ours)
            .chain(rival.get())
            .chain(later)
            .filter(|d| *d == Decision::Admitted)
            .count();
        assert_eq!(rival.get(), Some(Decision::Admitted), "{max_tokens} tokens");
        assert_eq!(admitted, max_tokens as usize, "{max_tokens} tokens");
    }
}

#[test]
fn two_workers_placing_clients_in_one_set_both_keep_their_bucket() {
    // The rival places bob in the set between our read of the empty set and our write: our CAS
    // fails, we read again and place alice next to bob; neither bucket is lost.
    let table = Table::new(4);
    let bucket = TokenBucket::new(1, 1, 60_000);
    let (alice, bob) = (table.client(b"alice"), table.client(b"bob"));
    let key = set_key(NS, 0);
    let rival_key = key.clone();
    let mut store = RacingStore::new(move |inner| {
        let decision = consume_client(inner, &rival_key, &table, bob, &bucket, T0);
        assert_eq!(decision, Decision::Admitted);
    });
    assert_eq!(
        consume_client(&mut store, &key, &table, alice, &bucket, T0),
        Decision::Admitted
    );
    for client in [alice, bob] {
        assert_eq!(
            consume_client(&mut store, &key, &table, client, &bucket, T0),
            Decision::Limited
        );
    }
}

#[test]
fn cas_mismatch_is_retried() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        mismatches: MAX_CAS_ATTEMPTS - 1,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, T0), Decision::Admitted);
    assert_eq!(consume(&mut store, "k", &bucket, T0), Decision::Limited);
}

#[test]
fn cas_attempts_run_out_undecided() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        mismatches: MAX_CAS_ATTEMPTS,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, T0), Decision::Undecided);
    // Nothing was written: the bucket is still full.
    store.mismatches = 0;
    assert_eq!(consume(&mut store, "k", &bucket, T0), Decision::Admitted);
}

#[test]
fn store_failure_undecided() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        fail: true,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, T0), Decision::Undecided);
    let table = Table::new(5);
    let client = table.client(b"a");
    let key = set_key(NS, client.set);
    assert_eq!(
        consume_client(&mut store, &key, &table, client, &bucket, T0),
        Decision::Undecided
    );
    assert_eq!(client_cursor(&mut store, &key, client), Err(StoreError));
}

#[test]
fn client_buckets_up_to_and_past_the_bound() {
    let mut store = MapStore::default();
    let table = Table::new(2);
    let bucket = TokenBucket::new(1, 1, 60_000);
    let mut consume_at = |client: &[u8], now: u64| {
        let client = table.client(client);
        consume_client(
            &mut store,
            &set_key(NS, client.set),
            &table,
            client,
            &bucket,
            now,
        )
    };
    use Decision::{Admitted, Limited};
    assert_eq!(consume_at(b"alice", T0), Admitted);
    assert_eq!(consume_at(b"alice", T0), Limited);
    assert_eq!(consume_at(b"bob", T0 + 30_000), Admitted);
    // The table is full: carol takes the fullest bucket, alice's (half refilled)...
    assert_eq!(consume_at(b"carol", T0 + 30_000), Admitted);
    // ...bob keeps his, still empty...
    assert_eq!(consume_at(b"bob", T0 + 30_000), Limited);
    // ...and alice, forgotten, starts again from a full bucket.
    assert_eq!(consume_at(b"alice", T0 + 30_000), Admitted);
    // One set, two ways: exactly two buckets are stored.
    let sets: Vec<_> = store
        .entries
        .keys()
        .filter(|k| k.contains("/clients/"))
        .collect();
    assert_eq!(sets, [&set_key(NS, 0)]);
    let stored = store.entries.get(&set_key(NS, 0)).map(|(v, _)| v.len());
    assert_eq!(stored, Some(2 * crate::clients::WAY_BYTES));
}

#[test]
fn x_ratelimit_reads_the_clients_bucket_or_a_full_one() {
    let mut store = MapStore::default();
    let table = Table::new(1);
    let bucket = TokenBucket::new(3, 3, 60_000);
    let (alice, bob) = (table.client(b"alice"), table.client(b"bob"));
    let key = set_key(NS, 0);
    assert_eq!(client_cursor(&mut store, &key, alice), Ok(None));
    consume_client(&mut store, &key, &table, alice, &bucket, T0);
    let cursor = client_cursor(&mut store, &key, alice).ok().flatten();
    assert_eq!(bucket.remaining(cursor, T0), 2);
    // bob replaces alice in the one way: alice's bucket reads as full again.
    consume_client(&mut store, &key, &table, bob, &bucket, T0);
    assert_eq!(client_cursor(&mut store, &key, alice), Ok(None));
}

#[test]
fn strip_port_table() {
    let cases: [(&[u8], &[u8]); 6] = [
        (b"10.0.0.1:5678", b"10.0.0.1"),
        (b"[::1]:5678", b"::1"),
        (b"[2001:db8::1]:80", b"2001:db8::1"),
        (b"10.0.0.1", b"10.0.0.1"),
        (b"2001:db8::1", b"2001:db8::1"),
        (b"", b""),
    ];
    for (input, want) in cases {
        assert_eq!(
            strip_port(input),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}
