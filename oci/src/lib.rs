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
pub mod manifests;
pub mod registry;
pub mod verify;
pub mod yaml;

use sha2::{Digest, Sha256};
use std::path::Path;

/// The image holding every filter and the pipeline, chosen by `pluginName` (root_id).
pub const BUNDLE: &str = "moonshift-bundle";

/// The image of `target/filters/<name>.wasm` under `root`, as `make images` builds it.
pub fn built(root: &Path, name: &str, version: &str) -> Result<image::Image, String> {
    image_of(
        &root.join("target/filters").join(format!("{name}.wasm")),
        name,
        version,
    )
}

/// The image `name` of the module at `path`.
pub fn image_of(path: &Path, name: &str, version: &str) -> Result<image::Image, String> {
    let module =
        std::fs::read(path).map_err(|e| format!("{}: {e} (run `make build`)", path.display()))?;
    let meta = image::Meta {
        filter: name.into(),
        version: version.into(),
        source: "https://github.com/moonshift/moonshift".into(),
        description: format!("Moonshift {name}: a proxy-wasm filter replacing a Lua EnvoyFilter"),
    };
    image::build(&module, &meta).map_err(|e| e.to_string())
}

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
