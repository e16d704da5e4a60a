//! Counted, not timed: what one request costs inside each module (wasmtime, the equivalence
//! harness's proxy-wasm host): Wasm instructions executed, calls out to the host, and entries of
//! the host into the VM. Deterministic on every machine, so a change to a filter shows here even
//! when it is lost in the noise of CPU time.

use moonshift_harness::artifacts;
use moonshift_harness::clock::Clock;
use moonshift_harness::exchange::Exchange;
use moonshift_harness::wasm::{Cost, Plugin, Process, WasmModule, WasmWorker};
use serde_json::Value;

/// One row: a module with a configuration, and what its second request cost (the first one
/// also pays for first-use work such as the timestamp cache).
pub struct Row {
    pub label: String,
    pub cost: Cost,
}

/// `module` (a name under target/filters/) configured with `config` as plugin `root_id`, on the
/// timed runs' request.
pub fn measure(label: &str, module: &str, root_id: &str, config: Option<&Value>) -> Row {
    measure_on(
        label,
        module,
        root_id,
        config,
        &Exchange::get("moonshift.test", "/"),
    )
}

/// [`measure`] on `request`.
pub fn measure_on(
    label: &str,
    module: &str,
    root_id: &str,
    config: Option<&Value>,
    request: &Exchange,
) -> Row {
    let path = artifacts::try_wasm_module(module).unwrap_or_else(|e| panic!("{e}"));
    let compiled = WasmModule::load_metered(&path).unwrap_or_else(|e| panic!("{module}: {e}"));
    let plugin = Plugin {
        // `warn`, as the timed runs' `envoy -l warning`: path-logger's info line is not written.
        log_level: 3,
        ..Plugin::named(root_id, config)
    };
    let clock = Clock::at_millis(1_795_737_600_000);
    let mut worker = WasmWorker::start(&compiled, &Process::new(), &clock, &plugin)
        .unwrap_or_else(|e| panic!("{module}: {}", e.reason));
    let _ = worker.exchange_cost(request);
    let (_, cost) = worker
        .exchange_cost(request)
        .unwrap_or_else(|| panic!("{module}: not metered"));
    Row {
        label: label.to_string(),
        cost,
    }
}

/// The markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| module | Wasm instructions | host calls | VM entries |\n|---|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.label, row.cost.instructions, row.cost.host_calls, row.cost.vm_entries
        ));
    }
    out
}
