//! Checking an image the way Istio's agent does before it hands the module to Envoy
//! (istio/istio `pkg/wasm/imagefetcher.go`), plus the manifest digest a WasmPlugin pins.
//!
//! Accepted, as docs/envoy.md §6 lists them:
//! 1. a Docker schema 2 image whose last layer is `application/vnd.docker.image.rootfs.diff.tar.gzip`
//!    holding `plugin.wasm`;
//! 2. an OCI image whose last layer is `application/vnd.oci.image.layer.v1.tar+gzip` holding
//!    `plugin.wasm` (what `FROM scratch` + `COPY plugin.wasm` gives, and what Moonshift ships);
//! 3. an OCI Wasm artifact with exactly two layers, one `application/vnd.module.wasm.content.layer.v1+wasm`.

use crate::digest;
use serde_json::Value;
use std::fmt;
use std::io::Read;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// Why an image was refused; each message says what Istio would say and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refuse<T>(message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(message.into()))
}

/// Finds `plugin.wasm` (with any leading `./` or `/`) in a gzip tar.
fn plugin_from_tar_gz(layer: &[u8]) -> Result<Vec<u8>, Refused> {
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return refuse("the last layer is not gzip-compressed: Istio rejects uncompressed (and zstd) layers; push a tar+gzip layer");
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    let entries = archive
        .entries()
        .map_err(|e| Refused(format!("the last layer is not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry
            .map_err(|e| Refused(format!("the last layer is not a readable tar archive: {e}")))?;
        let path = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if path.trim_start_matches("./").trim_start_matches('/') == "plugin.wasm" {
            let mut module = Vec::new();
            entry
                .read_to_end(&mut module)
                .map_err(|e| Refused(format!("plugin.wasm cannot be read: {e}")))?;
            return Ok(module);
        }
    }
    refuse("the last layer holds no plugin.wasm: COPY the module to ./plugin.wasm")
}

/// Checks a manifest and its blobs; `blob` fetches a blob by digest. Returns the module.
pub fn check(
    manifest: &[u8],
    expected_digest: Option<&str>,
    mut blob: impl FnMut(&str) -> Result<Vec<u8>, Refused>,
) -> Result<Vec<u8>, Refused> {
    let actual = digest(manifest);
    if let Some(expected) = expected_digest {
        let expected = expected.strip_prefix("sha256:").unwrap_or(expected);
        if actual.trim_start_matches("sha256:") != expected {
            return refuse(format!("manifest digest mismatch: expected sha256:{expected}, the registry serves {actual}"));
        }
    }
    let manifest: Value = serde_json::from_slice(manifest)
        .map_err(|e| Refused(format!("the manifest is not JSON: {e}")))?;
    let media_type = manifest
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or(crate::image::MANIFEST);
    if media_type.contains("index") || media_type.contains("manifest.list") {
        return refuse(
            "the reference is an index, not one manifest: push a single-platform manifest",
        );
    }
    let layers = manifest
        .get("layers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(last) = layers.last() else {
        return refuse("the manifest has no layers");
    };
    let fetch = |blob: &mut dyn FnMut(&str) -> Result<Vec<u8>, Refused>,
                 layer: &Value|
     -> Result<Vec<u8>, Refused> {
        let digest_text = layer["digest"].as_str().unwrap_or_default();
        let bytes = blob(digest_text)?;
        if digest(&bytes) != digest_text {
            return refuse(format!(
                "layer {digest_text} does not match its content ({})",
                digest(&bytes)
            ));
        }
        Ok(bytes)
    };
    let module = if let Some(wasm) = layers.iter().find(|l| l["mediaType"] == WASM_LAYER) {
        if layers.len() != 2 {
            return refuse(format!(
                "a Wasm artifact's number of layers must be 2 but got {}",
                layers.len()
            ));
        }
        fetch(&mut blob, wasm)?
    } else {
        match last["mediaType"].as_str().unwrap_or_default() {
            DOCKER_LAYER | crate::image::LAYER_GZIP => plugin_from_tar_gz(&fetch(&mut blob, last)?)?,
            other => {
                return refuse(format!(
                    "unsupported last layer media type {other:?}: Istio accepts {DOCKER_LAYER}, {} or a two-layer Wasm artifact",
                    crate::image::LAYER_GZIP
                ))
            }
        }
    };
    if !module.starts_with(b"\0asm") {
        return refuse("plugin.wasm is not a WebAssembly module: it does not start with \\0asm");
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{build, build_from_layer, gzip, tar_with, Image, Meta, LAYER_GZIP};

    const MODULE: &[u8] = b"\0asm\x01\0\0\0";

    fn meta() -> Meta {
        Meta {
            filter: "path-logger".into(),
            version: "0.1.0".into(),
            source: "https://example.com".into(),
            description: "test".into(),
        }
    }

    fn verify(image: &Image, expected: Option<&str>) -> Result<Vec<u8>, Refused> {
        check(&image.manifest, expected, |d| {
            [&image.config, &image.layer]
                .into_iter()
                .find(|b| digest(b) == d)
                .cloned()
                .ok_or_else(|| Refused(format!("no blob {d}")))
        })
    }

    #[test]
    fn the_shipped_form_passes() {
        let image = build(MODULE, &meta()).unwrap();
        assert_eq!(verify(&image, Some(&image.digest())), Ok(MODULE.to_vec()));
        let bare = image.digest().trim_start_matches("sha256:").to_string();
        assert_eq!(verify(&image, Some(&bare)), Ok(MODULE.to_vec()));
    }

    #[test]
    fn rejections_table() {
        let tar = tar_with("plugin.wasm", MODULE).unwrap();
        let diff = digest(&tar);
        let cases: Vec<(&str, Image, &str)> = vec![
            (
                "uncompressed layer",
                build_from_layer(tar.clone(), "application/vnd.oci.image.layer.v1.tar", &diff, &meta()).unwrap(),
                "unsupported last layer media type \"application/vnd.oci.image.layer.v1.tar\": Istio accepts application/vnd.docker.image.rootfs.diff.tar.gzip, application/vnd.oci.image.layer.v1.tar+gzip or a two-layer Wasm artifact",
            ),
            (
                "uncompressed bytes under a gzip media type",
                build_from_layer(tar.clone(), LAYER_GZIP, &diff, &meta()).unwrap(),
                "the last layer is not gzip-compressed: Istio rejects uncompressed (and zstd) layers; push a tar+gzip layer",
            ),
            (
                "no plugin.wasm",
                build_from_layer(gzip(&tar_with("module.wasm", MODULE).unwrap()).unwrap(), LAYER_GZIP, &diff, &meta()).unwrap(),
                "the last layer holds no plugin.wasm: COPY the module to ./plugin.wasm",
            ),
            (
                "not a module",
                build(b"#!/bin/sh\n", &meta()).unwrap(),
                "plugin.wasm is not a WebAssembly module: it does not start with \\0asm",
            ),
            (
                "a single-layer Wasm artifact",
                build_from_layer(MODULE.to_vec(), WASM_LAYER, &digest(MODULE), &meta()).unwrap(),
                "a Wasm artifact's number of layers must be 2 but got 1",
            ),
        ];
        for (name, image, want) in cases {
            assert_eq!(
                verify(&image, None),
                Err(Refused(want.to_string())),
                "{name}"
            );
        }
    }

    #[test]
    fn digest_mismatch() {
        let image = build(MODULE, &meta()).unwrap();
        let wrong = "sha256:".to_string() + &"0".repeat(64);
        let got = verify(&image, Some(&wrong)).unwrap_err().0;
        assert_eq!(
            got,
            format!(
                "manifest digest mismatch: expected {wrong}, the registry serves {}",
                image.digest()
            )
        );
    }

    #[test]
    fn a_tampered_layer() {
        let mut image = build(MODULE, &meta()).unwrap();
        let wanted = digest(&image.layer);
        image.layer = build(b"\0asm other", &meta()).unwrap().layer;
        let got = check(&image.manifest, None, |d| {
            Ok(if d == wanted {
                image.layer.clone()
            } else {
                image.config.clone()
            })
        })
        .unwrap_err();
        assert!(
            got.0
                .starts_with(&format!("layer {wanted} does not match its content")),
            "{got}"
        );
    }

    #[test]
    fn leading_dot_slash_is_accepted() {
        let layer = gzip(&tar_with("./plugin.wasm", MODULE).unwrap()).unwrap();
        let image = build_from_layer(layer, DOCKER_LAYER, "sha256:x", &meta()).unwrap();
        assert_eq!(verify(&image, None), Ok(MODULE.to_vec()));
    }
}
