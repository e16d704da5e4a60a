//! Every filter's scenarios (`tests/scenarios/<filter>.json`) through the Lua reference under
//! LuaJIT and the shipped `.wasm` under wasmtime, on one clock. Any difference fails the test
//! with a side-by-side diff, unless the scenario names an intentional difference.

use moonshift_harness::scenario::{self, ScenarioFile, Subject};
use moonshift_harness::wasm::WasmModule;
use moonshift_tests::paths;

pub fn subject(filter: &str) -> Subject {
    Subject {
        name: filter.to_string(),
        lua_source: std::fs::read_to_string(paths::lua_reference(filter)).expect("Lua reference"),
        module: WasmModule::load(&paths::wasm_module(filter)).expect("compiled module"),
    }
}

fn run_file(filter: &str) {
    let path = paths::workspace_root()
        .join("tests/scenarios")
        .join(format!("{filter}.json"));
    let file = ScenarioFile::parse(&std::fs::read_to_string(&path).expect("scenario file"))
        .expect("scenario file parses");
    assert_eq!(file.filter, filter);
    let subject = subject(filter);
    let mut failures = Vec::new();
    let (mut scenarios, mut exchanges, mut differences) = (0, 0, 0);
    for scenario in &file.scenarios {
        let report =
            scenario::run(&subject, scenario).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        scenarios += 1;
        exchanges += report.exchanges.len();
        differences += usize::from(scenario.differs.is_some());
        failures.extend(report.failures);
    }
    println!("{filter}: {scenarios} scenarios, {exchanges} exchanges, {differences} intentional differences pinned");
    assert!(
        failures.is_empty(),
        "{filter}: {} failures\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn timestamp_header() {
    run_file("timestamp-header");
}
