//! The part of the registry HTTP API (OCI distribution spec) a fetch needs: a manifest by tag or
//! digest, and blobs by digest. Plain HTTP, as a local test registry serves it.

use crate::verify::{self, Refused};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json";

fn get(url: &str, accept: Option<&str>) -> Result<Vec<u8>, Refused> {
    let mut request = ureq::get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let mut response = request
        .call()
        .map_err(|e| Refused(format!("GET {url}: {e}")))?;
    response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| Refused(format!("GET {url}: {e}")))
}

/// The manifest of `repository:reference` at `registry` (`host:port`), as served.
pub fn manifest(registry: &str, repository: &str, reference: &str) -> Result<Vec<u8>, Refused> {
    get(
        &format!("http://{registry}/v2/{repository}/manifests/{reference}"),
        Some(ACCEPT),
    )
}

/// A blob by digest.
pub fn blob(registry: &str, repository: &str, digest: &str) -> Result<Vec<u8>, Refused> {
    get(
        &format!("http://{registry}/v2/{repository}/blobs/{digest}"),
        None,
    )
}

/// Fetches `repository:reference` and checks it as Istio would; returns the module.
pub fn fetch_and_verify(
    registry: &str,
    repository: &str,
    reference: &str,
    expected_digest: Option<&str>,
) -> Result<Vec<u8>, Refused> {
    let manifest = manifest(registry, repository, reference)?;
    verify::check(&manifest, expected_digest, |digest| {
        blob(registry, repository, digest)
    })
}
