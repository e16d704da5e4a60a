//! The two [`Store`]s the glue hands to the limiter: proxy-wasm shared data (one bucket for the
//! whole process, like native Envoy) and a map owned by this worker's VM (like the Lua's globals).

use crate::limiter::{Store, StoreError};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use std::collections::HashMap;

/// proxy-wasm shared data: one map per `vm_id`, visible to every worker.
#[derive(Debug, Default)]
pub struct SharedData;

impl Store for SharedData {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), StoreError> {
        hostcalls::get_shared_data(key).map_err(|_| StoreError)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, StoreError> {
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(true),
            Err(Status::CasMismatch) => Ok(false),
            Err(_) => Err(StoreError),
        }
    }
}

/// This worker's buckets. Single-threaded, so every write succeeds.
#[derive(Debug, Default)]
pub struct WorkerMap {
    entries: HashMap<String, Vec<u8>>,
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
