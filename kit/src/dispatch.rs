//! From proxy-wasm's context ids to a filter's plugin and stream state.
//!
//! Envoy creates one root context per plugin on each worker's VM and calls `proxy_on_configure`
//! for it; several plugins can share one VM (same code, same `vm_config`), and Envoy 1.40 tells
//! plugins apart by their whole `PluginConfig`: two plugins with the same name and root_id but
//! different configurations are two root contexts. A listener update creates the new plugin's
//! root context, and configures it, before Envoy has accepted the whole update; a rejected
//! update destroys it again, and a module that exports no `proxy_on_done` never hears of that.
//! So a configuration applies to its own root context only, never to another plugin's: each
//! stream is served by the root context Envoy created it under, which Envoy names in
//! `proxy_on_context_create(stream, root)`. That export costs one VM entry a request; the module
//! records the stream's root only when the VM holds several root contexts, so with one plugin
//! (the usual case) it returns at once. A stream created while the VM held one root context is
//! served by the oldest root context of its plugin (`plugin_name`, `plugin_root_id`), which is
//! the one it was created under. The module keeps at most [`MAX_ROOTS`] root contexts, the oldest
//! dropped past that (a module never hears that a plugin went away).
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
    /// `plugin_name` and `plugin_root_id`, which tell plugins of different names apart.
    identity: (Vec<u8>, Vec<u8>),
    filter: Rc<F>,
}

/// How many streams in flight a worker's VM keeps per-stream state for.
pub const MAX_IN_FLIGHT: usize = 16_384;

/// How many replacement bodies a worker's VM keeps for responses whose body has not ended. A
/// stream reset before its body ends leaves its entry (a module is not told) until newer ones
/// push it out; each body is a rendered value, at most 64 KiB, so this bounds what clients can
/// make a VM hold to 64 MiB, and to about 100 KiB for a typical JSON answer. Past it the
/// oldest waiting response keeps the upstream's body. The upstream's body itself is never held
/// (`dispatch/bodies.rs`).
pub const MAX_BODIES_WAITING: usize = 1_024;

/// How many root contexts (plugins, and configurations of one plugin across listener updates) a
/// worker's VM keeps.
pub const MAX_ROOTS: usize = 32;

struct Stream<F: Filter> {
    filter: Rc<F>,
    state: F::Stream,
}

/// One module's plugins and streams. The export macro keeps one in a `static`; a VM is
/// single-threaded, so each worker's VM has its own.
///
/// `PER_STREAM` is a constant so that a stateless module carries no stream table at all.
pub struct Plugins<F: Filter, const PER_STREAM: bool> {
    /// In the order they were configured.
    roots: RefCell<Vec<Root<F>>>,
    streams: RefCell<InFlight<Stream<F>>>,
    /// The root context each stream was created under, recorded while the VM holds several.
    parents: RefCell<InFlight<u32>>,
    /// The response bodies to write in place of the upstream's, by stream ([`crate::body`]).
    bodies: RefCell<InFlight<bodies::Waiting>>,
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
            parents: RefCell::new(InFlight::new(MAX_IN_FLIGHT)),
            bodies: RefCell::new(InFlight::new(MAX_BODIES_WAITING)),
        }
    }

    pub fn vm_start(&self) -> u32 {
        host::install_logger();
        1
    }

    /// Reads the configuration, builds the plugin for a module entered for `module`'s phases,
    /// logs a refusal with the filter's name and the reason, and answers 0 so that Envoy refuses the plugin (docs/envoy.md §3).
    pub fn configure(&self, root_context_id: u32, module: Phases) -> u32 {
        let identity = identity();
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
                crate::host::count(crate::host::Counter::of(
                    &F::counted_as(&identity.1),
                    "config_refused",
                ));
                return 0;
            }
        };
        // One line a plugin, so that `istioctl proxy-config log` or Envoy's log shows which
        // configuration each worker runs: the same bytes give the same digest.
        let config = bytes.as_deref().unwrap_or_default();
        // Counted too, once a worker: Istio's proxies log at `warning` by default, where the
        // line below is not written, and `rollout.sh` waits for this counter to rise.
        crate::host::count(crate::host::Counter::of(
            &F::counted_as(&identity.1),
            "config_accepted",
        ));
        log::info!(
            "{} {}: configuration accepted ({} bytes, fnv1a {:08x})",
            F::NAME,
            F::VERSION,
            config.len(),
            fnv1a(config)
        );
        let Ok(mut roots) = self.roots.try_borrow_mut() else {
            return 0;
        };
        let root = Root {
            context_id: root_context_id,
            identity,
            filter,
        };
        // The same root context configured again takes its new configuration; a new root
        // context, even of a plugin with the same name and root_id (a listener update, which
        // Envoy may still reject), is added beside the others and serves only its own streams.
        match roots.iter_mut().find(|r| r.context_id == root_context_id) {
            Some(slot) => *slot = root,
            None => {
                roots.push(root);
                if roots.len() > MAX_ROOTS {
                    roots.remove(0);
                    log::info!(
                        "{}: more than {MAX_ROOTS} plugins configured in this VM: the oldest is forgotten",
                        F::NAME
                    );
                }
            }
        }
        1
    }

    /// `proxy_on_context_create`: a stream's root context, recorded when the VM holds several.
    pub fn context_create(&self, context_id: u32, root_context_id: u32) {
        if root_context_id == 0 {
            return;
        }
        let several = self.roots.try_borrow().is_ok_and(|roots| roots.len() > 1);
        if several {
            if let Ok(mut parents) = self.parents.try_borrow_mut() {
                parents.insert(context_id, root_context_id);
            }
        }
    }

    /// The request phase of stream `context_id`; with `per_stream`, its state is kept for the
    /// response phase.
    pub fn request(&self, context_id: u32, module: Phases) -> u32 {
        // A module entered for the response too looks the root up again there.
        let Some(filter) = self.plugin(context_id, !module.response) else {
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
            Some(mut stream) => {
                // The stream's root is known from its state; its record goes.
                if let Ok(mut parents) = self.parents.try_borrow_mut() {
                    parents.take(context_id);
                }
                stream.filter.on_response_headers(&mut stream.state)
            }
            None => match self.plugin(context_id, true) {
                Some(filter) => filter.on_response_headers(&mut F::Stream::default()),
                None => Action::Continue,
            },
        };
        action as u32
    }

    /// The plugin serving stream `context_id`: the root context it was created under; `last`
    /// forgets that record (the stream's last phase in this module).
    fn plugin(&self, context_id: u32, last: bool) -> Option<Rc<F>> {
        let roots = self.roots.try_borrow().ok()?;
        if let [only] = roots.as_slice() {
            return Some(Rc::clone(&only.filter));
        }
        let parent = self
            .parents
            .try_borrow_mut()
            .ok()
            .and_then(|mut parents| match last {
                true => parents.take(context_id),
                false => parents.get(context_id).copied(),
            });
        let found = pick(&roots, parent, identity);
        if found.is_none() {
            host::log(LogLevel::Debug, b"no plugin of this VM matches the stream");
        }
        found.map(|r| Rc::clone(&r.filter))
    }
}

/// FNV-1a, 32 bits: a short digest of a configuration for the log line that says it was
/// accepted (not a security measure: the configuration is the operator's own).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The root context that serves a stream: the one it was created under (`parent`), else, for a
/// stream created while the VM held one root context, the oldest of its plugin's (`identity`,
/// read only then: two host calls).
fn pick<F>(
    roots: &[Root<F>],
    parent: Option<u32>,
    identity: impl FnOnce() -> (Vec<u8>, Vec<u8>),
) -> Option<&Root<F>> {
    if let Some(parent) = parent {
        if let Some(root) = roots.iter().find(|r| r.context_id == parent) {
            return Some(root);
        }
    }
    match roots {
        [] => None,
        [only] => Some(only),
        several => {
            let identity = identity();
            several.iter().find(|r| r.identity == identity)
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
            response_body: false $(|| $crate::export_filter!(@is_body $phase))*,
            member: None,
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
        #[no_mangle]
        pub extern "C" fn proxy_on_context_create(context_id: u32, root_context_id: u32) {
            PLUGINS.context_create(context_id, root_context_id)
        }
    };
    (@is_request request_headers) => { true };
    (@is_request $other:ident) => { false };
    (@is_response response_headers) => { true };
    (@is_response $other:ident) => { false };
    (@is_body response_body) => { true };
    (@is_body $other:ident) => { false };
    (@phase request_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_headers(context_id: u32, _headers: usize, _end_of_stream: u32) -> u32 {
            $crate::seen::forget();
            PLUGINS.request(context_id, PHASES)
        }
    };
    (@phase response_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_headers(context_id: u32, _headers: usize, end_of_stream: u32) -> u32 {
            $crate::seen::forget();
            match PHASES.response_body {
                true => PLUGINS.response_with_body(context_id, end_of_stream),
                false => PLUGINS.response(context_id),
            }
        }
    };
    (@phase response_body) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_body(context_id: u32, size: usize, end_of_stream: u32) -> u32 {
            $crate::seen::forget();
            PLUGINS.response_body(context_id, size, end_of_stream)
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_response_trailers(context_id: u32, _trailers: usize) -> u32 {
            $crate::seen::forget();
            PLUGINS.response_trailers(context_id)
        }
    };
}

mod bodies;

#[cfg(test)]
mod tests;
