//! Buckets in a key-value store with compare-and-swap: the process-wide bucket in proxy-wasm
//! shared data, or a worker's own buckets in a map. Pure logic over [`Store`]; the glue supplies
//! the store.
//!
//! Bucket keys live under a namespace (`moonshift.local-ratelimit/<plugin>/<root_id>/`) because
//! every WasmPlugin on an Istio proxy shares one shared-data map (Istio sets no `vm_id`).
//!
//! Per-client buckets are bounded: a registry counter under the namespace admits at most
//! `max_client_keys` distinct clients; requests without a key, and clients first seen once the
//! bound is reached, draw from the default bucket. Keys are never evicted (proxy-wasm ABI 0.2.1
//! cannot delete shared data), so memory stays bounded by `max_client_keys` entries of ~60 bytes.

use crate::bucket::{Cursor, TokenBucket};

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

fn decode(value: Option<Vec<u8>>) -> Option<Cursor> {
    Cursor::decode(&value?)
}

/// The cursor stored under `key`; `None` when there is no bucket yet (a full one).
pub fn cursor(store: &mut dyn Store, key: &str) -> Result<Option<Cursor>, StoreError> {
    let (value, _) = store.get(key)?;
    Ok(decode(value))
}

/// Takes one token from the bucket under `key` at `now_ms` (wall-clock milliseconds): Envoy's
/// compare-and-swap loop over shared data.
pub fn consume(store: &mut dyn Store, key: &str, bucket: &TokenBucket, now_ms: u64) -> Decision {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let Ok((value, cas)) = store.get(key) else {
            return Decision::Undecided;
        };
        let consumed = bucket.consume(decode(value), now_ms);
        let Some(cursor) = consumed.cursor.filter(|_| consumed.admitted) else {
            return Decision::Limited;
        };
        match store.set(key, &cursor.encode(), cas) {
            Ok(true) => return Decision::Admitted,
            Ok(false) => continue,
            Err(StoreError) => return Decision::Undecided,
        }
    }
    Decision::Undecided
}

/// FNV-1a, 64 bits: client keys are stored hashed so a long header value costs no memory.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The key of the default bucket.
pub fn default_key(namespace: &str) -> String {
    format!("{namespace}default")
}

/// The bucket key for a request: the client's own bucket when `client` is given and the registry
/// has room (or already holds it), else the default bucket. `None` means the default bucket.
pub fn bucket_key(
    store: &mut dyn Store,
    namespace: &str,
    client: Option<&[u8]>,
    max_keys: u32,
) -> Option<String> {
    let client = client?;
    let key = format!("{namespace}client/{:016x}", fnv1a(client));
    match store.get(&key) {
        Ok((Some(_), _)) => return Some(key),
        Ok((None, _)) => {}
        Err(StoreError) => return None,
    }
    register(store, namespace, max_keys).then_some(key)
}

/// Counts one more client in the registry if it has room.
fn register(store: &mut dyn Store, namespace: &str, max_keys: u32) -> bool {
    let registry = format!("{namespace}clients");
    for _ in 0..MAX_CAS_ATTEMPTS {
        let Ok((value, cas)) = store.get(&registry) else {
            return false;
        };
        let count = value
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map_or(0, u32::from_le_bytes);
        if count >= max_keys {
            return false;
        }
        match store.set(&registry, &(count + 1).to_le_bytes(), cas) {
            Ok(true) => return true,
            Ok(false) => continue,
            Err(StoreError) => return false,
        }
    }
    false
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
