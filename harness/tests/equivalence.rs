//! Every filter's scenarios (`tests/scenarios/<filter>.json`) through the Lua reference under
//! LuaJIT and the shipped `.wasm` under wasmtime, on one clock. Any difference fails the test
//! with a side-by-side diff, unless the scenario names an intentional difference.

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

#[test]
fn timestamp_header() {
    run_file("timestamp-header");
}

#[test]
fn path_logger() {
    run_file("path-logger");
}

#[test]
fn response_decorator() {
    run_file("response-decorator");
}

#[test]
fn request_decorator() {
    run_file("request-decorator");
}

#[test]
fn local_reply() {
    run_file("local-reply");
}

#[test]
fn api_key_auth() {
    run_file("api-key-auth");
}

#[test]
fn local_ratelimit() {
    run_file("local-ratelimit");
}

#[test]
fn pipeline() {
    // The seed's script verbatim (lua-reference/pipeline.lua) against one pipeline plugin.
    run_file("pipeline");
}
