//! The two [`Store`]s the glue hands to the limiter: proxy-wasm shared data (one bucket for the
//! whole process, like native Envoy) and a map owned by this worker's VM (like the Lua's globals).

use crate::limiter::{Store, StoreError};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use moonshift_kit::abi::Status;
use moonshift_kit::host::shared_data;

/// proxy-wasm shared data: one map per `vm_id`, visible to every worker.
#[derive(Debug, Default)]
pub struct SharedData;

/// The CAS token sent to create a key. The host ignores the CAS of a write to a key that does not
/// exist, and a CAS of 0 means "unconditional", so two workers that both read
/// "absent" would both write and both admit a request from a fresh bucket. A non-zero token fails
/// with `CasMismatch` once the key exists, unless it equals the key's own token: the host hands
/// tokens out from one process-wide counter starting at 1, so the key would have to be created
/// by exactly the 4,294,967,295th write of the process, in the microseconds of the race.
pub const CREATE_ONLY_CAS: u32 = u32::MAX;

impl Store for SharedData {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError> {
        shared_data::get(key).map_err(|_| StoreError)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, StoreError> {
        match shared_data::set(key, value, cas.unwrap_or(CREATE_ONLY_CAS)) {
            Ok(()) => Ok(true),
            Err(Status::CAS_MISMATCH) => Ok(false),
            Err(_) => Err(StoreError),
        }
    }
}

/// This worker's buckets. Single-threaded: nothing writes between a read and its write, so every
/// write succeeds. Ordered by key, not hashed: client keys come from requests, and a tree has no
/// hash to collide.
#[derive(Debug, Default)]
pub struct WorkerMap {
    entries: BTreeMap<String, Vec<u8>>,
}

impl Store for WorkerMap {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError> {
        Ok((self.entries.get(key).cloned(), None))
    }

    fn set(&mut self, key: &str, value: &[u8], _cas: Option<u32>) -> Result<bool, StoreError> {
        match self.entries.get_mut(key) {
            Some(existing) => existing.clear(),
            None => {
                self.entries.insert(key.to_string(), Vec::with_capacity(8));
            }
        }
        if let Some(existing) = self.entries.get_mut(key) {
            existing.extend_from_slice(value);
        }
        Ok(true)
    }
}
