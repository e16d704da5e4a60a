//! The proxy-wasm glue every filter's root context shares.
//!
//! [`Root`] reads the plugin configuration, hands it to the filter's [`Plugin::configure`], logs a
//! refusal with the filter's name and returns `false` (Envoy then refuses the plugin; see
//! docs/envoy.md §3), and creates one HTTP context per request. [`log_bytes`] logs a message that may
//! hold any bytes, as Lua's `handle:logInfo()` does.

use crate::ConfigError;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::rc::Rc;

/// One filter, as the shared root context sees it.
pub trait Plugin: Sized + 'static {
    /// The filter's name, as it appears in log lines (`timestamp-header: ...`).
    const NAME: &'static str;

    /// Builds the per-plugin state from the configuration bytes (`None`: no configuration).
    /// Runs in `on_configure`, on every worker's VM.
    fn configure(config: Option<&[u8]>) -> Result<Self, ConfigError>;

    /// The context for one HTTP stream.
    fn http_context(plugin: &Rc<Self>, context_id: u32) -> Box<dyn HttpContext>;
}

/// The root context of a filter: configuration in, HTTP contexts out.
#[derive(Debug)]
pub struct Root<P> {
    plugin: Option<Rc<P>>,
}

impl<P> Default for Root<P> {
    fn default() -> Self {
        Self { plugin: None }
    }
}

impl<P: Plugin> Context for Root<P> {}

impl<P: Plugin> RootContext for Root<P> {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        // The `log` facade forwards what the host's wasm log level lets through.
        if let Ok(level) = hostcalls::get_log_level() {
            proxy_wasm::set_log_level(level);
        }
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes,
            Err(status) => {
                log::error!(
                    "{}: cannot read the plugin configuration: {status:?}",
                    P::NAME
                );
                return false;
            }
        };
        match P::configure(bytes.as_deref()) {
            Ok(plugin) => {
                self.plugin = Some(Rc::new(plugin));
                log::debug!("{}: configured", P::NAME);
                true
            }
            Err(error) => {
                log::error!("{}: invalid configuration: {error}", P::NAME);
                false
            }
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        self.plugin
            .as_ref()
            .map(|plugin| P::http_context(plugin, context_id))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Installs the `log` facade and the panic hook (a panic is logged at critical), then the root
/// context. Call it from `proxy_wasm::main!`.
pub fn start<P: Plugin>() {
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::<Root<P>>::default());
}

#[allow(unsafe_code)]
mod raw {
    use proxy_wasm::types::{LogLevel, Status};

    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_log(level: LogLevel, message_data: *const u8, message_size: usize) -> Status;
    }

    /// `proxy_log` with a byte message; the SDK's `hostcalls::log` takes `&str` and panics on a
    /// status other than `Ok`.
    pub fn log(level: LogLevel, message: &[u8]) -> Status {
        // SAFETY: the host reads `message_size` bytes from `message_data`, which `message`
        // borrows for the duration of the call.
        unsafe { proxy_log(level, message.as_ptr(), message.len()) }
    }
}

/// Logs `message` at `level` byte for byte, as Lua's `handle:logInfo()` does with any string:
/// header values a client sent are not re-encoded. A host error is ignored (nothing to log it to).
pub fn log_bytes(level: LogLevel, message: &[u8]) {
    let _ = raw::log(level, message);
}
