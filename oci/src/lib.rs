//! One OCI image per filter, as Istio's `WasmPlugin` (and 1.30's `TrafficExtension`) fetch it.
//!
//! - [`image`]: builds the image Istio prefers (docs/envoy.md §6, "compat"): one manifest, one
//!   gzip tar layer holding only `plugin.wasm` (root-owned, mode 0644, mtime 0), a config with
//!   `os`, `architecture` and `rootfs.diff_ids`, and annotations; written as an OCI image layout.
//!   The same module always gives the same bytes, so the same manifest digest.
//! - [`verify`]: checks an image the way istio/istio `pkg/wasm/imagefetcher.go` does (media types,
//!   layer count, `plugin.wasm` in the last layer, the `\0asm` magic) plus the manifest digest
//!   `WasmPlugin.spec.sha256` pins, fetching over the registry's HTTP API ([`registry`]).
//! - [`deploy`]: the WasmPlugin, TrafficExtension and Lua EnvoyFilter manifests of each filter.
//! - [`facts`]: each filter's deployment facts, read from its own `Cargo.toml`.

pub mod deploy;
pub mod facts;
pub mod image;
pub mod registry;
pub mod verify;

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
