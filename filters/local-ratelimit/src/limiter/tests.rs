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
fn two_workers_registering_clients_both_count() {
    // The rival registers bob between our read of the empty registry and our write: the
    // registry then counts 2, and the bound of 2 leaves carol on the default bucket.
    let mut store = RacingStore::new(|inner| {
        assert!(bucket_key(inner, NS, Some(b"bob"), 2).is_some());
    });
    assert!(bucket_key(&mut store, NS, Some(b"alice"), 2).is_some());
    assert_eq!(bucket_key(&mut store, NS, Some(b"carol"), 2), None);
    let (count, _) = store.get(&format!("{NS}clients")).unwrap_or((None, None));
    assert_eq!(count, Some(2u32.to_le_bytes().to_vec()));
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
    assert_eq!(
        bucket_key(&mut store, NS, Some(b"a"), 5),
        None,
        "the default bucket"
    );
}

#[test]
fn client_keys_up_to_and_past_the_bound() {
    let mut store = MapStore::default();
    let bucket = TokenBucket::new(1, 1, 60_000);
    let key_of = |store: &mut MapStore, client: &[u8]| {
        bucket_key(store, NS, Some(client), 2).unwrap_or_else(|| default_key(NS))
    };
    let a = key_of(&mut store, b"alice");
    assert_eq!(a, format!("{NS}client/{:016x}", fnv1a(b"alice")));
    assert_eq!(consume(&mut store, &a, &bucket, T0), Decision::Admitted);
    let b = key_of(&mut store, b"bob");
    assert_ne!(a, b);
    assert_eq!(consume(&mut store, &b, &bucket, T0), Decision::Admitted);
    // The bound is 2: carol draws from the default bucket, and so does dave.
    assert_eq!(key_of(&mut store, b"carol"), default_key(NS));
    assert_eq!(key_of(&mut store, b"dave"), default_key(NS));
    // Known clients keep their own bucket.
    assert_eq!(key_of(&mut store, b"alice"), a);
    assert_eq!(consume(&mut store, &a, &bucket, T0), Decision::Limited);
    // No key at all: the default bucket.
    assert_eq!(bucket_key(&mut store, NS, None, 2), None);
    // The registry holds exactly the bound, and only 2 client buckets exist.
    let clients = store
        .entries
        .keys()
        .filter(|k| k.contains("/client/"))
        .count();
    assert_eq!(clients, 2);
}

#[test]
fn fnv1a_known_values() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
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
