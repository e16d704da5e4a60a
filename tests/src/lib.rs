//! Moonshift's test suites' support.
//!
//! - [`crd`]: manifests checked against Istio's own CRD schemas (`tests/istio-crds/`).
//! - [`examples`]: the committed Envoy examples, regenerated and compared.
//! - [`registry`]: a real OCI registry (`docker-registry`) on a free port.
//! - [`envoy`], [`upstream`], [`http`], [`h2client`], [`runner`]: the Envoy fixture, from
//!   [`moonshift_envoy`] with its `fixture` conveniences.
//! - [`paths`]: where the built filters, the Lua references and Envoy are (the harness's
//!   [`moonshift_harness::artifacts`]).
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
