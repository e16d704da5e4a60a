use super::*;
use std::collections::HashMap;

/// A store with Envoy's CAS semantics: each write bumps the entry's CAS token.
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
        if let (Some((_, current)), Some(cas)) = (self.entries.get(key), cas) {
            if *current != cas {
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

#[test]
fn burst_then_continuous_refill() {
    let bucket = TokenBucket::new(3, 3, 10_000);
    let mut store = MapStore::default();
    let key = default_key(NS);
    let t0 = 1_700_000_000.0;
    let got: Vec<Decision> = [t0, t0, t0, t0, t0 + 3.0, t0 + 3.4]
        .iter()
        .map(|&now| consume(&mut store, &key, &bucket, now))
        .collect();
    use Decision::{Admitted, Limited};
    assert_eq!(
        got,
        [Admitted, Admitted, Admitted, Limited, Limited, Admitted]
    );
}

#[test]
fn cas_mismatch_is_retried() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        mismatches: MAX_CAS_ATTEMPTS - 1,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, 0.0), Decision::Admitted);
    assert_eq!(consume(&mut store, "k", &bucket, 0.0), Decision::Limited);
}

#[test]
fn cas_attempts_run_out_undecided() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        mismatches: MAX_CAS_ATTEMPTS,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, 0.0), Decision::Undecided);
    // Nothing was written: the bucket is still full.
    store.mismatches = 0;
    assert_eq!(consume(&mut store, "k", &bucket, 0.0), Decision::Admitted);
}

#[test]
fn store_failure_undecided() {
    let bucket = TokenBucket::new(1, 1, 1_000);
    let mut store = MapStore {
        fail: true,
        ..Default::default()
    };
    assert_eq!(consume(&mut store, "k", &bucket, 0.0), Decision::Undecided);
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
    assert_eq!(consume(&mut store, &a, &bucket, 0.0), Decision::Admitted);
    let b = key_of(&mut store, b"bob");
    assert_ne!(a, b);
    assert_eq!(consume(&mut store, &b, &bucket, 0.0), Decision::Admitted);
    // The bound is 2: carol draws from the default bucket, and so does dave.
    assert_eq!(key_of(&mut store, b"carol"), default_key(NS));
    assert_eq!(key_of(&mut store, b"dave"), default_key(NS));
    // Known clients keep their own bucket.
    assert_eq!(key_of(&mut store, b"alice"), a);
    assert_eq!(consume(&mut store, &a, &bucket, 0.0), Decision::Limited);
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
