//! Building a filter's image, reproducibly, and writing it as an OCI image layout.

use crate::digest;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// What an image says about itself (OCI annotations and labels).
#[derive(Debug, Clone)]
pub struct Meta {
    /// The filter's name, e.g. `path-logger`.
    pub filter: String,
    pub version: String,
    pub source: String,
    pub description: String,
}

/// A built image: its three blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl Image {
    /// The manifest digest: what `WasmPlugin.spec.sha256` takes (without `sha256:`).
    pub fn digest(&self) -> String {
        digest(&self.manifest)
    }
}

/// A tar holding one regular file, owned by root, mode 0644, mtime 0.
pub fn tar_with(name: &str, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_path(name)?;
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root")?;
    header.set_groupname("root")?;
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    builder.append(&header, bytes)?;
    builder.into_inner()
}

/// gzip with a zero mtime and no file name: the same input gives the same bytes.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": digest(blob), "size": blob.len()})
}

/// The compat image of `module`: one gzip tar layer holding `plugin.wasm`.
pub fn build(module: &[u8], meta: &Meta) -> std::io::Result<Image> {
    let tar = tar_with("plugin.wasm", module)?;
    let layer = gzip(&tar)?;
    build_from_layer(layer, LAYER_GZIP, &digest(&tar), meta)
}

/// An image with one given layer; [`build`] is the one a filter ships, this one also makes the
/// malformed images the verifier's tests need.
pub fn build_from_layer(
    layer: Vec<u8>,
    layer_media_type: &str,
    diff_id: &str,
    meta: &Meta,
) -> std::io::Result<Image> {
    let title = format!("moonshift-{}", meta.filter);
    let annotations = json!({
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": meta.version,
        "org.opencontainers.image.source": meta.source,
        "org.opencontainers.image.description": meta.description,
    });
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": annotations},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }))?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": descriptor(CONFIG, &config),
        "layers": [descriptor(layer_media_type, &layer)],
        "annotations": annotations,
    }))?;
    Ok(Image {
        config,
        layer,
        manifest,
    })
}

/// Writes `image` as an OCI image layout in `dir` (replacing what was there), tagged `tag`.
pub fn write_layout(image: &Image, dir: &Path, tag: &str) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for blob in [&image.config, &image.layer, &image.manifest] {
        let name = digest(blob);
        std::fs::write(blobs.join(name.trim_start_matches("sha256:")), blob)?;
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut manifest = descriptor(MANIFEST, &image.manifest);
    if let Some(fields) = manifest.as_object_mut() {
        fields.insert(
            "annotations".into(),
            json!({"org.opencontainers.image.ref.name": tag}),
        );
    }
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            filter: "path-logger".into(),
            version: "0.1.0".into(),
            source: "https://example.com/moonshift".into(),
            description: "test".into(),
        }
    }

    #[test]
    fn same_module_same_bytes() {
        let a = build(b"\0asm\x01\0\0\0", &meta()).unwrap();
        let b = build(b"\0asm\x01\0\0\0", &meta()).unwrap();
        assert_eq!(a, b);
        let c = build(b"\0asm\x01\0\0\0\0", &meta()).unwrap();
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn the_layer_holds_only_plugin_wasm_root_owned_0644() {
        let image = build(b"\0asm-module", &meta()).unwrap();
        let tar = flate2::read::GzDecoder::new(image.layer.as_slice());
        let mut archive = tar::Archive::new(tar);
        let entries: Vec<(String, u32, u64, u64, u64, Vec<u8>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mtime().unwrap(),
                    data,
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![(
                "plugin.wasm".to_string(),
                0o644,
                0,
                0,
                0,
                b"\0asm-module".to_vec()
            )]
        );
    }

    #[test]
    fn manifest_and_config_say_what_istio_reads() {
        let image = build(b"\0asm", &meta()).unwrap();
        let manifest: Value = serde_json::from_slice(&image.manifest).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST);
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_GZIP);
        assert_eq!(manifest["layers"][0]["digest"], digest(&image.layer));
        assert_eq!(manifest["config"]["digest"], digest(&image.config));
        let config: Value = serde_json::from_slice(&image.config).unwrap();
        assert_eq!(
            (config["os"].as_str(), config["architecture"].as_str()),
            (Some("linux"), Some("amd64"))
        );
        let tar = tar_with("plugin.wasm", b"\0asm").unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], digest(&tar));
    }
}
