//! All four filters in one module. Envoy picks a filter by the plugin's `root_id`
//! (`timestamp-header`, `path-logger`, `local-ratelimit`, `response-decorator`); give every
//! plugin the same `vm_config` (same `vm_id`, same code) and they share one VM per worker instead
//! of one VM each.

use local_ratelimit::LocalRateLimit;
use moonshift_shared::host::Root;
use path_logger::PathLogger;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use response_decorator::ResponseDecorator;
use timestamp_header::TimestampHeader;

#[cfg(target_arch = "wasm32")]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::<Dispatch>::default());
}}

/// The root context of one plugin: the filter its `root_id` names, created at configure time.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct Dispatch {
    filter: Option<Box<dyn RootContext>>,
}

/// The root context of the filter called `root_id`.
pub fn root_for(root_id: &str) -> Option<Box<dyn RootContext>> {
    Some(match root_id {
        "timestamp-header" => Box::<Root<TimestampHeader>>::default(),
        "path-logger" => Box::<Root<PathLogger>>::default(),
        "local-ratelimit" => Box::<Root<LocalRateLimit>>::default(),
        "response-decorator" => Box::<Root<ResponseDecorator>>::default(),
        _ => return None,
    })
}

impl Context for Dispatch {}

impl RootContext for Dispatch {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        if let Ok(level) = hostcalls::get_log_level() {
            proxy_wasm::set_log_level(level);
        }
        true
    }

    fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
        let root_id = hostcalls::get_property(vec!["plugin_root_id"])
            .ok()
            .flatten()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let Some(mut filter) = root_for(&root_id) else {
            log::error!("moonshift-bundle: no filter has root_id {root_id:?}; use timestamp-header, path-logger, local-ratelimit or response-decorator");
            return false;
        };
        let configured = filter.on_configure(plugin_configuration_size);
        self.filter = Some(filter);
        configured
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        self.filter.as_ref()?.create_http_context(context_id)
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
