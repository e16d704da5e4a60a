//! Buckets in a key-value store with compare-and-swap: the process-wide buckets in proxy-wasm
//! shared data, or a worker's own buckets in a map. Pure logic over [`Store`]; the glue supplies
//! the store.
//!
//! Bucket keys live under a namespace (`moonshift.local-ratelimit/<plugin>/<root_id>/`) because
//! every WasmPlugin on an Istio proxy shares one shared-data map (Istio sets no `vm_id`): the
//! default bucket at `default`, the per-client buckets in the sets of [`crate::clients`] at
//! `clients/<set>`. Requests without a client key draw from the default bucket.

use crate::bucket::{Cursor, TokenBucket};
use crate::clients::{Client, Set, Table};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// How many compare-and-swap attempts one request makes before giving up.
pub const MAX_CAS_ATTEMPTS: u32 = 16;

/// The host failed (an unexpected status from a shared-data call, or re-entrant use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// A key-value store with compare-and-swap, as proxy-wasm shared data is.
pub trait Store {
    /// The value and its CAS token; `(None, None)` when the key does not exist.
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError>;
    /// Writes when `cas` still matches the key's CAS token, or, for `cas: None`, only while the
    /// key does not exist yet (creation: two workers that both read "absent" must not both
    /// write). `Ok(false)` when the write lost a race.
    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, StoreError>;
}

/// What the bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Admitted,
    Limited,
    /// No decision: CAS attempts ran out or the store failed. The filter admits the request
    /// (fail-open) and counts it; see the crate README.
    Undecided,
}

/// The cursor stored under `key`; `None` when there is no bucket yet (a full one).
pub fn cursor(store: &mut dyn Store, key: &str) -> Result<Option<Cursor>, StoreError> {
    let (value, _) = store.get(key)?;
    Ok(value.and_then(|v| Cursor::decode(&v)))
}

/// Takes one token from the bucket under `key` at `now_ms` (wall-clock milliseconds): Envoy's
/// compare-and-swap loop over shared data.
pub fn consume(store: &mut dyn Store, key: &str, bucket: &TokenBucket, now_ms: u64) -> Decision {
    update(store, key, |value| {
        let consumed = bucket.consume(value.and_then(Cursor::decode), now_ms);
        let cursor = consumed.cursor.filter(|_| consumed.admitted)?;
        Some(cursor.encode().to_vec())
    })
}

/// Takes one token from `client`'s bucket, in its set under `key` (see [`crate::clients`]): the
/// same loop over the whole set, so placing a new client and consuming is one write.
pub fn consume_client(
    store: &mut dyn Store,
    key: &str,
    table: &Table,
    client: Client,
    bucket: &TokenBucket,
    now_ms: u64,
) -> Decision {
    update(store, key, |value| {
        let mut set = Set::decode(value.unwrap_or_default());
        let place = set.place(client.tag, table.ways(), bucket, now_ms);
        let consumed = bucket.consume(set.cursor_at(place), now_ms);
        let cursor = consumed.cursor.filter(|_| consumed.admitted)?;
        set.put(place, client.tag, cursor);
        Some(set.encode())
    })
}

/// The compare-and-swap loop: `admit` turns the stored value into the one to write after an
/// admission, or `None` for a refusal (which writes nothing, as native returns before its CAS).
fn update(
    store: &mut dyn Store,
    key: &str,
    mut admit: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> Decision {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let Ok((value, cas)) = store.get(key) else {
            return Decision::Undecided;
        };
        let Some(next) = admit(value.as_deref()) else {
            return Decision::Limited;
        };
        match store.set(key, &next, cas) {
            Ok(true) => return Decision::Admitted,
            Ok(false) => continue,
            Err(StoreError) => return Decision::Undecided,
        }
    }
    Decision::Undecided
}

/// The key of the default bucket.
pub fn default_key(namespace: &str) -> String {
    format!("{namespace}default")
}

/// The key of a client set.
pub fn set_key(namespace: &str, set: u32) -> String {
    format!("{namespace}clients/{set}")
}

/// The cursor of `client`'s bucket in the set under `key`; `None` when there is none (a full
/// bucket: never seen, refilled and replaced, or evicted since).
pub fn client_cursor(
    store: &mut dyn Store,
    key: &str,
    client: Client,
) -> Result<Option<Cursor>, StoreError> {
    let (value, _) = store.get(key)?;
    Ok(value.and_then(|v| Set::decode(&v).cursor_of(client.tag)))
}

/// `ip` of `ip:port` or `[ip6]:port`, as the client key for `remote_address`.
pub fn strip_port(address: &[u8]) -> &[u8] {
    if let Some(rest) = address.strip_prefix(b"[") {
        if let Some(end) = rest.iter().position(|&b| b == b']') {
            return rest.get(..end).unwrap_or(rest);
        }
    }
    match address.iter().rposition(|&b| b == b':') {
        Some(colon) if address.iter().filter(|&&b| b == b':').count() == 1 => {
            address.get(..colon).unwrap_or(address)
        }
        _ => address,
    }
}

#[cfg(test)]
mod tests;
