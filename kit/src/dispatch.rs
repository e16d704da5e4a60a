//! From proxy-wasm's context ids to a filter's plugin and stream state.
//!
//! Envoy creates one root context per plugin on each worker's VM and calls `proxy_on_configure`
//! for it; several plugins can share one VM (same code, same `vm_config`). A stateless filter
//! exports no `proxy_on_context_create`, so a stream callback carries only the stream's id: with
//! one plugin in the VM (the usual case) that plugin serves it; with several, the stream's
//! `plugin_name` and `plugin_root_id` properties pick one (one host call). A filter exported with
//! `per_stream` gets `proxy_on_context_create` / `proxy_on_delete`, which tie each stream to its
//! root context and hold its state in between.

use crate::filter::{Action, Filter};
use crate::host::{self, LogLevel};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

struct Root<F> {
    context_id: u32,
    /// `plugin_name` and `plugin_root_id`, which tell plugins sharing a VM apart.
    identity: (Vec<u8>, Vec<u8>),
    filter: Rc<F>,
}

struct Stream<F: Filter> {
    filter: Rc<F>,
    state: F::Stream,
}

/// One module's plugins and streams. The export macro keeps one in a `thread_local!`; a VM is
/// single-threaded, so each worker's VM has its own.
pub struct Plugins<F: Filter> {
    per_stream: bool,
    roots: RefCell<Vec<Root<F>>>,
    streams: RefCell<BTreeMap<u32, Stream<F>>>,
}

impl<F: Filter> std::fmt::Debug for Plugins<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins").field("filter", &F::NAME).finish()
    }
}

fn identity() -> (Vec<u8>, Vec<u8>) {
    (
        host::property(&["plugin_name"]).unwrap_or_default(),
        host::property(&["plugin_root_id"]).unwrap_or_default(),
    )
}

impl<F: Filter> Plugins<F> {
    pub const fn new(per_stream: bool) -> Self {
        Self {
            per_stream,
            roots: RefCell::new(Vec::new()),
            streams: RefCell::new(BTreeMap::new()),
        }
    }

    pub fn vm_start(&self) -> u32 {
        host::install_logger();
        1
    }

    /// Reads the configuration, builds the plugin, logs a refusal with the filter's name and the
    /// reason, and answers 0 so that Envoy refuses the plugin (docs/envoy.md §3).
    pub fn configure(&self, root_context_id: u32) -> u32 {
        host::install_logger();
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
        let filter = match F::configure(bytes.as_deref()) {
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
        // Without proxy_on_delete a stateless module never hears that a plugin went away, so a
        // new configuration of the same plugin (an update) replaces the old one.
        let replaced = roots.iter().position(|r| {
            r.context_id == root_context_id || (!self.per_stream && r.identity == identity)
        });
        let root = Root {
            context_id: root_context_id,
            identity,
            filter,
        };
        match replaced.and_then(|i| roots.get_mut(i)) {
            Some(slot) => *slot = root,
            None => roots.push(root),
        }
        log::debug!("{}: configured", F::NAME);
        1
    }

    pub fn context_create(&self, context_id: u32, parent_id: u32) {
        if parent_id == 0 {
            return;
        }
        let Ok(roots) = self.roots.try_borrow() else {
            return;
        };
        let Some(root) = roots.iter().find(|r| r.context_id == parent_id) else {
            return;
        };
        let stream = Stream {
            filter: Rc::clone(&root.filter),
            state: F::Stream::default(),
        };
        if let Ok(mut streams) = self.streams.try_borrow_mut() {
            streams.insert(context_id, stream);
        }
    }

    pub fn delete(&self, context_id: u32) {
        if let Ok(mut streams) = self.streams.try_borrow_mut() {
            if streams.remove(&context_id).is_some() {
                return;
            }
        }
        if let Ok(mut roots) = self.roots.try_borrow_mut() {
            roots.retain(|r| r.context_id != context_id);
        }
    }

    /// Runs `phase` for stream `context_id`; Continue when no plugin serves it.
    pub fn run(&self, context_id: u32, phase: fn(&F, &mut F::Stream) -> Action) -> u32 {
        let action = if self.per_stream {
            match self.streams.try_borrow_mut() {
                Ok(mut streams) => match streams.get_mut(&context_id) {
                    Some(stream) => phase(&stream.filter, &mut stream.state),
                    None => Action::Continue,
                },
                Err(_) => Action::Continue,
            }
        } else {
            match self.stateless_plugin() {
                Some(filter) => phase(&filter, &mut F::Stream::default()),
                None => Action::Continue,
            }
        };
        action as u32
    }

    fn stateless_plugin(&self) -> Option<Rc<F>> {
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
/// `proxy_on_configure`, the phases listed (`request_headers`, `response_headers`), and with
/// `per_stream`, `proxy_on_context_create` and `proxy_on_delete`. Nothing else is exported, so
/// Envoy enters the VM only for these.
///
/// ```text
/// moonshift_kit::export_filter!(TimestampHeader, [request_headers]);
/// moonshift_kit::export_filter!(LocalRateLimit, [request_headers, response_headers], per_stream);
/// ```
#[macro_export]
macro_rules! export_filter {
    ($filter:ty, [$($phase:ident),*]) => {
        $crate::export_filter!(@plugins $filter, false);
        $($crate::export_filter!(@phase $phase);)*
    };
    ($filter:ty, [$($phase:ident),*], per_stream) => {
        $crate::export_filter!(@plugins $filter, true);
        $($crate::export_filter!(@phase $phase);)*
        #[no_mangle]
        pub extern "C" fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
            PLUGINS.with(|p| p.context_create(context_id, parent_context_id))
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_delete(context_id: u32) {
            PLUGINS.with(|p| p.delete(context_id))
        }
    };
    (@plugins $filter:ty, $per_stream:expr) => {
        thread_local! {
            static PLUGINS: $crate::dispatch::Plugins<$filter> =
                const { $crate::dispatch::Plugins::new($per_stream) };
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_vm_start(_root_context_id: u32, _size: usize) -> u32 {
            PLUGINS.with(|p| p.vm_start())
        }
        #[no_mangle]
        pub extern "C" fn proxy_on_configure(root_context_id: u32, _size: usize) -> u32 {
            PLUGINS.with(|p| p.configure(root_context_id))
        }
    };
    (@phase request_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_request_headers(context_id: u32, _headers: usize, _end_of_stream: u32) -> u32 {
            PLUGINS.with(|p| p.run(context_id, $crate::Filter::on_request_headers))
        }
    };
    (@phase response_headers) => {
        #[no_mangle]
        pub extern "C" fn proxy_on_response_headers(context_id: u32, _headers: usize, _end_of_stream: u32) -> u32 {
            PLUGINS.with(|p| p.run(context_id, $crate::Filter::on_response_headers))
        }
    };
}
