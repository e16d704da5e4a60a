//! Moonshift's proxy-wasm layer.
//!
//! Why not the proxy-wasm Rust SDK's dispatcher: for every request it enters the VM to create a
//! stream context (`proxy_on_context_create`) and to delete it (`proxy_on_delete`), allocates a
//! boxed context and looks it up in a map on every callback. Measured paired in Envoy, that was
//! the whole gap between a Moonshift filter and the Lua it replaces (see the README, "Why
//! Moonshift has its own proxy-wasm layer"). Here a stateless filter exports only the phases it
//! uses, so Envoy enters the VM once per phase and nothing is allocated per stream; a filter that
//! needs per-stream state asks for it ([`export_filter!`] with `per_stream`). Host calls return
//! `Result` instead of panicking on an unexpected status (proxy-wasm-rust-sdk#310).
//!
//! - [`abi`]: the ABI 0.2.1 imports and the exports every module has; all the `unsafe` there is.
//! - [`wire`]: the wire formats, pure and tested.
//! - [`host`]: safe host calls: logging, clock, configuration, properties, headers, local
//!   replies, shared data, counters.
//! - [`filter`]: the [`Filter`] trait.
//! - [`body`]: a response body a filter replaces.
//! - [`seen`]: the header maps read in the VM entry in progress, kept true across its changes.
//! - [`dispatch`]: context ids to plugins and streams; the [`export_filter!`] macro.
//! - `module` (wasm32 only): the allocator, the panic handler and `VmLocal`, because modules
//!   are built without `std` (its panic machinery alone was 20 to 33 KB of every module).

// No std in a module (kit/src/module.rs says why); std on the host, for tests and tools.
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

pub mod abi;
pub mod body;
pub mod dispatch;
pub mod filter;
pub mod host;
pub mod in_flight;
#[cfg(all(target_arch = "wasm32", not(test)))]
pub mod module;
pub mod seen;
pub mod wire;

pub use filter::{Action, DynFilter, Filter, Phases};
