//! Moonshift's test suites' support.
//!
//! - [`crd`]: manifests checked against Istio's own CRD schemas (`tests/istio-crds/`).
//! - [`examples`]: the committed Envoy examples, regenerated and compared.
//! - [`registry`]: a real OCI registry (`docker-registry`) on a free port.
//! - [`envoy`], [`upstream`], [`http`], [`h2client`], [`runner`]: the Envoy fixture, from
//!   [`moonshift_envoy`] with its `fixture` conveniences.
//! - [`paths`]: where the built filters, the Lua references and Envoy are (the harness's
//!   [`moonshift_harness::artifacts`]).
//! - [`probe`]: a hand-written probe module of `tests/wasm/`, assembled.
//!
//! Under the workspace's lints, but a fixture that cannot be set up (no `docker-registry`, an
//! unreadable example) panics with what to install or run: it fails the test that asked for it.
//! No tool links this crate (`moonshift` and the bench stand on `moonshift-envoy`).
#![allow(clippy::expect_used, clippy::panic)]

pub mod crd;
pub mod examples;
pub mod registry;

pub use moonshift_envoy::{envoy, h2client, http, runner, upstream};
pub use moonshift_harness::artifacts as paths;

/// The probe module `tests/wasm/<name>.wat`, assembled by binaryen's `wasm-as` into `dir`.
pub fn probe(name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let module = dir.join(format!("{name}.wasm"));
    let assembled = std::process::Command::new("wasm-as")
        .arg("--enable-bulk-memory")
        .arg(paths::workspace_root().join(format!("tests/wasm/{name}.wat")))
        .arg("-o")
        .arg(&module)
        .status()
        .expect("wasm-as (binaryen: `make setup` installs it)");
    assert!(
        assembled.success(),
        "wasm-as failed on tests/wasm/{name}.wat"
    );
    module
}
