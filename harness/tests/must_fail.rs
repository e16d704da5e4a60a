//! The harness must be able to fail: deliberately wrong variants are reported as differences,
//! with the side-by-side diff that a person would read.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use moonshift_harness::scenario::{self, ScenarioFile, Subject};
use support::subject;

fn scenario(filter: &str, name: &str) -> scenario::Scenario {
    let path = moonshift_harness::artifacts::workspace_root()
        .join("tests/scenarios")
        .join(format!("{filter}.json"));
    let file = ScenarioFile::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    file.scenarios
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name:?}"))
}

fn mutate_lua(subject: &Subject, from: &str, to: &str) -> Subject {
    assert!(
        subject.lua_source.contains(from),
        "the Lua reference no longer holds {from:?}"
    );
    Subject {
        lua_source: subject.lua_source.replacen(from, to, 1),
        ..subject.clone()
    }
}

/// The failures the mutated Lua (`from` replaced by `to`) gives on `scenario_name`, after
/// checking that the unmutated pair passes it.
fn failures_of_mutant(filter: &str, from: &str, to: &str, scenario_name: &str) -> Vec<String> {
    let original = subject(filter);
    let wrong = mutate_lua(&original, from, to);
    let scenario = scenario(filter, scenario_name);
    assert!(scenario::run(&original, &scenario)
        .unwrap()
        .failures
        .is_empty());
    let failures = scenario::run(&wrong, &scenario).unwrap().failures;
    println!("{}", failures.join("\n"));
    failures
}

#[test]
fn lua_with_replace_for_add_is_caught() {
    let failures = failures_of_mutant(
        "timestamp-header",
        "  else\n    headers:add(config.header, value)",
        "  else\n    headers:replace(config.header, value)",
        "default appends to a header the client sent (Lua add)",
    );
    assert!(!failures.is_empty());
    assert!(
        failures[0].contains("Lua and Wasm differ"),
        "{}",
        failures[0]
    );
    // The Lua (replace) lost the client's value; the Wasm (add) kept it, then added its own.
    assert!(failures[0].contains("≠                                                            │ upstream x-request-timestamp: client"), "{}", failures[0]);
}

#[test]
fn lua_bucket_refilled_per_interval_is_caught() {
    // A bucket that refills all at once per fill_interval instead of continuously.
    let failures = failures_of_mutant(
        "local-ratelimit",
        "return math.min(bucket.tokens + (now_ms - bucket.at) / 1000 * fill_rate, max_tokens)",
        "local interval = seconds(config.token_bucket.fill_interval)\n  local elapsed = (now_ms - bucket.at) / 1000\n  return math.min(bucket.tokens + math.floor(elapsed / interval) * interval * fill_rate, max_tokens)",
        "worker scope: continuous refill at fractional-token instants",
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("Lua and Wasm differ") && f.contains("≠ status")),
        "{failures:#?}"
    );
}

#[test]
fn a_different_module_is_caught() {
    // The path-logger's module in place of the timestamp-header's: nothing stamps the request.
    let timestamp = subject("timestamp-header");
    let wrong = Subject {
        module: subject("path-logger").module,
        ..timestamp.clone()
    };
    let scenario = scenario(
        "timestamp-header",
        "default: the seed's header on a plain request",
    );
    let failures = scenario::run(&wrong, &scenario).unwrap().failures;
    assert!(
        failures.iter().any(|f| f.contains("Lua and Wasm differ")),
        "{failures:#?}"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("Wasm: upstream x-request-timestamp: [], expected")),
        "{failures:#?}"
    );
}

#[test]
fn expectations_fail_on_their_own() {
    // Both hosts agreeing is not enough: a wrong expectation is reported.
    let mut scenario = scenario("response-decorator", "default: the seed's response header");
    scenario.exchanges.truncate(1);
    scenario.exchanges[0].expect.status = Some(201);
    let failures = scenario::run(&subject("response-decorator"), &scenario)
        .unwrap()
        .failures;
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].ends_with("Lua: status 200, expected 201"),
        "{failures:#?}"
    );
    assert!(
        failures[1].ends_with("Wasm: status 200, expected 201"),
        "{failures:#?}"
    );
}
