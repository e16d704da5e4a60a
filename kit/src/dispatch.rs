//! From proxy-wasm's context ids to a filter's plugin and stream state.
//!
//! Envoy creates one root context per plugin on each worker's VM and calls `proxy_on_configure`
//! for it; several plugins can share one VM (same code, same `vm_config`). No module exports
//! `proxy_on_context_create` or `proxy_on_delete` (two VM entries per request), so a stream
//! callback carries only the stream's id: with one plugin in the VM (the usual case) that plugin
//! serves it; with several, the stream's `plugin_name` and `plugin_root_id` properties pick one
//! (one host call).
//!
//! A filter exported with `per_stream` keeps its stream state from the request headers to the
//! response headers, when [`Filter::keeps`] says the response needs it, in a table of streams in
//! flight keyed by context id. Envoy hands out context
//! ids in increasing order per VM, so when more than [`MAX_IN_FLIGHT`] streams hold state the
//! oldest is dropped; its response then runs with fresh state (for `local-ratelimit`: no
//! `x-ratelimit-*` headers on that one response). A local reply's response phase runs right after
//! the request phase that sent it, so it always finds its state. A stream that ends without
//! response headers (a reset) leaves its entry until it is the oldest.

use crate::filter::{Action, Filter, Phases};
use crate::host::{self, LogLevel};
use crate::in_flight::InFlight;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

struct Root<F> {
    context_id: u32,
    /// `plugin_name` and `plugin_root_id`, which tell plugins sharing a VM apart.
    identity: (Vec<u8>, Vec<u8>),
    filter: Rc<F>,
}

/// How many streams in flight a worker's VM keeps per-stream state for.
pub const MAX_IN_FLIGHT: usize = 16_384;

struct Stream<F: Filter> {
    filter: Rc<F>,
    state: F::Stream,
}

/// One module's plugins and streams. The export macro keeps one in a `static`; a VM is
/// single-threaded, so each worker's VM has its own.
///
/// `PER_STREAM` is a constant so that a stateless module carries no stream table at all.
pub struct Plugins<F: Filter, const PER_STREAM: bool> {
    roots: RefCell<Vec<Root<F>>>,
    streams: RefCell<InFlight<Stream<F>>>,
}

impl<F: Filter, const PER_STREAM: bool> core::fmt::Debug for Plugins<F, PER_STREAM> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plugins").field("filter", &F::NAME).finish()
    }
}

fn identity() -> (Vec<u8>, Vec<u8>) {
    (
        host::property(&["plugin_name"]).unwrap_or_default(),
        host::property(&["plugin_root_id"]).unwrap_or_default(),
    )
}

impl<F: Filter, const PER_STREAM: bool> Default for Plugins<F, PER_STREAM> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Filter, const PER_STREAM: bool> Plugins<F, PER_STREAM> {
    pub const fn new() -> Self {
        Self {
            roots: RefCell::new(Vec::new()),
            streams: RefCell::new(InFlight::new(MAX_IN_FLIGHT)),
        }
    }

    pub fn vm_start(&self) -> u32 {
        host::install_logger();
        1
    }

    /// Reads the configuration, builds the plugin for a module entered for `module`'s phases,
    /// logs a refusal with the filter's name and the reason, and answers 0 so that Envoy refuses the plugin (docs/envoy.md §3).
    pub fn configure(&self, root_context_id: u32, module: Phases) -> u32 {
        let bytes = match host::plugin_configuration() {
            Ok(bytes) => bytes,
            Err(status) => {
                log::error!(
                    "{}: cannot read the plugin configuration: {status}",
                    F::NAME
                );
                return 0;
            }
        };
        let filter = match F::configure_in(bytes.as_deref(), module) {
            Ok(filter) => Rc::new(filter),
            Err(error) => {
                log::error!("{}: invalid configuration: {error}", F::NAME);
                return 0;
            }
        };
        let Ok(mut roots) = self.roots.try_borrow_mut() else {
            return 0;
        };
        let identity = identity();
        // A module never hears that a plugin went away (it exports no proxy_on_delete), so a new
        // configuration of the same plugin (an update) replaces the old one; streams in flight
        // keep the plugin they started with.
        let replaced = roots
            .iter()
            .position(|r| r.context_id == root_context_id || r.identity == identity);
        let root = Root {
            context_id: root_context_id,
            identity,
            filter,
        };
        match replaced.and_then(|i| roots.get_mut(i)) {
            Some(slot) => {
                if slot.context_id != root_context_id {
                    log::info!(
                        "{}: this configuration replaces the one of the plugin with the same name and root_id in this VM (an update; plugins sharing a VM need distinct names)",
                        F::NAME
                    );
                }
                *slot = root
            }
            None => roots.push(root),
        }
        log::debug!("{}: configured", F::NAME);
        1
    }

    /// The request phase of stream `context_id`; with `per_stream`, its state is kept for the
    /// response phase.
    pub fn request(&self, context_id: u32) -> u32 {
        let Some(filter) = self.plugin() else {
            return Action::Continue as u32;
        };
        let mut state = F::Stream::default();
        let action = filter.on_request_headers(&mut state);
        if PER_STREAM && filter.keeps(&state) {
            if let Ok(mut streams) = self.streams.try_borrow_mut() {
                streams.insert(context_id, Stream { filter, state });
            }
        }
        action as u32
    }

    /// The response phase of stream `context_id`, with the state its request phase left.
    pub fn response(&self, context_id: u32) -> u32 {
        let kept = match PER_STREAM {
            true => self
                .streams
                .try_borrow_mut()
                .ok()
                .and_then(|mut streams| streams.take(context_id)),
            false => None,
        };
        let action = match kept {
            Some(mut stream) => stream.filter.on_response_headers(&mut stream.state),
            None => match self.plugin() {
                Some(filter) => filter.on_response_headers(&mut F::Stream::default()),
                None => Action::Continue,
            },
        };
        action as u32
    }

    /// The plugin serving the current stream.
    fn plugin(&self) -> Option<Rc<F>> {
        let roots = self.roots.try_borrow().ok()?;
        match roots.as_slice() {
            [] => None,
            [only] => Some(Rc::clone(&only.filter)),
            several => {
                let identity = identity();
                let found = several.iter().find(|r| r.identity == identity);
                if found.is_none() {
                    host::log(LogLevel::Debug, b"no plugin of this VM matches the stream");
                }
                found.map(|r| Rc::clone(&r.filter))
            }
        }
    }
}

/// Exports the proxy-wasm callbacks of filter `$filter`: `proxy_on_vm_start`,
/// `proxy_on_configure` and the phases listed (`request_headers`, `response_headers`). Nothing
/// else is exported, so Envoy enters the VM only for these. `per_stream` keeps the filter's
/// `Stream` state from its request phase to its response phase.
///
/// ```text
/// moonshift_kit::export_filter!(TimestampHeader, [request_headers]);
/// moonshift_kit::export_filter!(LocalRateLimit, [request_headers, response_headers], per_stream);
/// ```
#[macro_export]
macro_rules! export_filter {
    ($filter:ty, [$($phase:ident),*]) => {
        $crate::export_filter!(@plugins $filter, false, [$($phase),*]);
        $($crate::export_filter!(@phase $phase);)*
    };
    ($filter:ty, [$($phase:ident),*], per_stream) => {
        $crate::export_filter!(@plugins $filter, true, [$($phase),*]);
        $($crate::export_filter!(@phase $phase);)*
    };
    (@plugins $filter:ty, $per_stream:expr, [$($phase:ident),*]) => {
        /// The phases this module exports, as its filter is told at configure time.
        const PHASES: $crate::Phases = $crate::Phases {
            request: false $(|| $crate::export_filter!(@is_request $phase))*,
            response: false $(|| $crate::export_filter!(@is_response $phase))*,
        };
        static PLUGINS: $crate::module::VmLocal<$crate::dispatch::Plugins<$filter, $per_stream>> =
            $crate::module::VmLocal($crate::dispatch::Plugins::new());
        #[no_mangle]
        pub extern "C" fn proxy_on_vm_start(_root_context_id: u32, _size: usize) -> u32 {
            PLUGINS.vm_start()
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_configure(root_context_id: u32, _size: usize) -> u32 {
            PLUGINS.configure(root_context_id, PHASES)
        }
    };
    (@is_request request_headers) => { true };
    (@is_request $other:ident) => { false };
    (@is_response response_headers) => { true };
    (@is_response $other:ident) => { false };
    (@phase request_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_headers(context_id: u32, _headers: usize, _end_of_stream: u32) -> u32 {
            PLUGINS.request(context_id)
        }
    };
    (@phase response_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_headers(context_id: u32, _headers: usize, _end_of_stream: u32) -> u32 {
            PLUGINS.response(context_id)
        }
    };
}
