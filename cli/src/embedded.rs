//! What the binary carries (cli/build.rs): the modules, the filters' manifests, the Lua
//! references and Istio's CRD schemas. At start they are unpacked once into a folder of the
//! temporary directory named by their hash, and every command reads them there, so the binary
//! runs from anywhere, with no checkout. A binary built before `make build` carries nothing and
//! reads its checkout instead.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Each embedded module (`target/filters/<name>.wasm`) with its sha256.
pub fn modules() -> Vec<(&'static str, String)> {
    FILES
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path
                .strip_prefix("target/filters/")?
                .strip_suffix(".wasm")?;
            Some((name, hex(&Sha256::digest(bytes))))
        })
        .collect()
}

/// The folder the embedded files are unpacked into (unpacking them if it is not there yet);
/// `None` when the binary carries nothing.
pub fn unpacked() -> Result<Option<PathBuf>, String> {
    if FILES.is_empty() {
        return Ok(None);
    }
    let mut hash = Sha256::new();
    for (path, bytes) in FILES {
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    let id = hex(&hash.finalize());
    let base = std::env::temp_dir();
    let dir = base.join(format!(
        "moonshift-{}-{}",
        env!("CARGO_PKG_VERSION"),
        id.get(..16).unwrap_or(&id)
    ));
    if dir.join(".complete").is_file() {
        return Ok(Some(dir));
    }
    // Written beside it and renamed: a second moonshift never sees half a tree.
    let partial = base.join(format!(
        "moonshift-{}.partial-{}",
        id.get(..16).unwrap_or(&id),
        std::process::id()
    ));
    let write = |path: &Path, bytes: &[u8]| -> Result<(), String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    for (path, bytes) in FILES {
        write(&partial.join(path), bytes)?;
    }
    write(&partial.join(".complete"), b"")?;
    if std::fs::rename(&partial, &dir).is_err() {
        // Another moonshift unpacked the same files first.
        let _ = std::fs::remove_dir_all(&partial);
        if !dir.join(".complete").is_file() {
            return Err(format!(
                "cannot unpack the embedded modules into {}",
                dir.display()
            ));
        }
    }
    Ok(Some(dir))
}
