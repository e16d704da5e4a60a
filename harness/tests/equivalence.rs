//! Every filter's scenarios (`tests/scenarios/<filter>.json`) through the Lua reference under
//! LuaJIT and the shipped `.wasm` under wasmtime, on one clock. Any difference fails the test
//! with a side-by-side diff, unless the scenario names an intentional difference.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use moonshift_harness::artifacts as paths;
use moonshift_harness::scenario::{self, ScenarioFile};
use support::subject;

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

/// Every filter (a folder of `filters/`, [`paths::FILTERS`]) and the pipeline, each by its
/// scenario file: a new filter's scenarios run without a test to add, a filter without a
/// scenario file fails, and so does a scenario file no filter owns.
#[test]
fn every_filter_and_the_pipeline() {
    let subjects = paths::scenario_subjects();
    assert_eq!(
        paths::scenario_files(),
        subjects.iter().map(|s| s.to_string()).collect(),
        "tests/scenarios/ holds one file per folder of filters/, and pipeline.json"
    );
    let failed: Vec<&str> = subjects
        .iter()
        .filter(|filter| std::panic::catch_unwind(|| run_file(filter)).is_err())
        .copied()
        .collect();
    assert!(
        failed.is_empty(),
        "scenarios failed (each reported above): {failed:?}"
    );
}
