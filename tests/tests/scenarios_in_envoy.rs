//! Every filter's scenarios (`tests/scenarios/<filter>.json`) played against a real Envoy 1.40:
//! the Lua reference in `envoy.filters.http.lua` and the `.wasm` in `envoy.filters.http.wasm`,
//! over HTTP/1.1 and HTTP/2. In Envoy, the Lua and the Wasm must agree (unless the scenario
//! names an intentional difference); and each must agree with its in-process host in the
//! harness, so that the emulation is held to the real thing.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::diff;
use moonshift_harness::exchange::Outcome;
use moonshift_harness::scenario::{self, ScenarioFile, Subject};
use moonshift_harness::wasm::WasmModule;
use moonshift_tests::paths;
use moonshift_tests::runner::{self, canonical, reconcile_reset, ClockRule, Flavour, Protocol};
use std::time::Instant;

fn subject(filter: &str) -> Subject {
    Subject {
        name: filter.to_string(),
        lua_source: std::fs::read_to_string(paths::lua_reference(filter)).unwrap(),
        module: WasmModule::load(&paths::wasm_module(filter)).unwrap(),
    }
}

fn compare(
    title: &str,
    failures: &mut Vec<String>,
    left: (&str, &Outcome),
    right: (&str, &Outcome),
) {
    let mut right_outcome = right.1.clone();
    reconcile_reset(left.1, &mut right_outcome);
    if let Some(d) = diff::side_by_side(left.0, left.1, right.0, &right_outcome) {
        failures.push(format!("{title}\n{d}"));
    }
}

/// An exchange whose path Envoy answers itself (docs/envoy.md §4): no filter's request phase
/// runs, so the in-process hosts, which run the filter on any path, are not the reference.
/// What holds in Envoy: a 400 that reached no upstream, no Wasm log line, and the Lua and the
/// Wasm answered the same. A filter with a response phase would show the one listed platform
/// difference here (the Lua decorates Envoy's 400, a module never sees it; pinned by
/// `tests/tests/envoy.rs`, `envoys_own_early_replies_reach_the_lua_but_no_wasm_module`).
fn answered_by_envoy(title: &str, failures: &mut Vec<String>, lua: &Outcome, wasm: &Outcome) {
    for (side, outcome) in [("Lua", lua), ("Wasm", wasm)] {
        if outcome.response.status != 400 || outcome.upstream_request.is_some() {
            failures.push(format!(
                "{title}: Envoy + {side} gave {} (upstream reached: {}), not Envoy's own 400",
                outcome.response.status,
                outcome.upstream_request.is_some()
            ));
        }
    }
    if !wasm.logs.is_empty() {
        failures.push(format!("{title}: the Wasm logged {:?}", wasm.logs));
    }
    compare(
        title,
        failures,
        ("Envoy + Lua", lua),
        ("Envoy + Wasm", wasm),
    );
}

/// Plays every scenario of `filter`'s file; returns how many runs were also played native.
fn play_file(filter: &str) -> usize {
    let started = Instant::now();
    let file =
        ScenarioFile::parse(&std::fs::read_to_string(paths::scenarios(filter)).unwrap()).unwrap();
    let subject = subject(filter);
    let mut failures = Vec::new();
    let (mut played, mut exchanges, mut unsendable, mut native_runs) = (0, 0, 0, 0);
    let mut early = 0;
    let mut in_process_only = Vec::new();
    for scenario in &file.scenarios {
        if let Err(why) = runner::playable(scenario) {
            in_process_only.push(format!("{:?}: {why}", scenario.name));
            continue;
        }
        let harness = scenario::run(&subject, scenario).unwrap();
        // One spec per exchange played (a spec repeats `repeat` times).
        let specs: Vec<_> = scenario
            .exchanges
            .iter()
            .flat_map(|s| std::iter::repeat_n(s, s.repeat))
            .collect();
        let rule = ClockRule::for_scenario(filter, scenario);
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let lua = runner::play(filter, scenario, Flavour::Lua, protocol)
                .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
            let wasm = runner::play(filter, scenario, Flavour::Wasm, protocol)
                .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
            played += 1;
            let native =
                moonshift_bundle::native(filter, scenario.config.as_ref(), scenario.workers)
                    .is_ok()
                    .then(|| {
                        runner::play(filter, scenario, Flavour::Native, protocol)
                            .unwrap_or_else(|e| panic!("{}: {e}", scenario.name))
                    });
            native_runs += usize::from(native.is_some());
            for (i, (lua_played, wasm_played)) in
                lua.outcomes.iter().zip(&wasm.outcomes).enumerate()
            {
                let (Some((lua_out, lua_window)), Some((wasm_out, wasm_window))) =
                    (lua_played, wasm_played)
                else {
                    unsendable += 1;
                    continue;
                };
                exchanges += 1;
                let in_process = &harness.exchanges[i];
                let path = specs
                    .get(i)
                    .and_then(|s| runner::client_request(s))
                    .map(|r| r.path);
                if path.is_some_and(|p| runner::answered_by_envoy(&p)) {
                    early += 1;
                    let title = format!(
                        "{filter} / {} / exchange {i} / {protocol:?}: a path Envoy refuses",
                        scenario.name
                    );
                    // Compared as every exchange is: without what Envoy varies (`date`, ...).
                    let lua = canonical(lua_out, &rule, *lua_window, protocol);
                    let wasm = canonical(wasm_out, &rule, *wasm_window, protocol);
                    answered_by_envoy(&title, &mut failures, &lua, &wasm);
                    continue;
                }
                let harness_second = in_process.at_ms / 1000;
                let harness_window = (harness_second, harness_second);
                let title = |what: &str| {
                    format!(
                        "{filter} / {} / exchange {i} / {protocol:?}: {what}",
                        scenario.name
                    )
                };
                let envoy_lua = canonical(lua_out, &rule, *lua_window, protocol);
                let envoy_wasm = canonical(wasm_out, &rule, *wasm_window, protocol);
                if scenario.differs.is_none() {
                    // Both played in Envoy: the upstream's request line is compared too.
                    let line = |out, window| {
                        runner::lua_reply_unordered(&runner::canonical_in_envoy(
                            out, &rule, window, protocol,
                        ))
                    };
                    compare(
                        &title("Lua and Wasm differ in Envoy"),
                        &mut failures,
                        ("Envoy + Lua", &line(lua_out, *lua_window)),
                        ("Envoy + Wasm", &line(wasm_out, *wasm_window)),
                    );
                }
                let harness_lua = canonical(&in_process.lua, &rule, harness_window, protocol);
                let harness_wasm = canonical(&in_process.wasm, &rule, harness_window, protocol);
                compare(
                    &title("the Lua host differs from Envoy"),
                    &mut failures,
                    ("Envoy + Lua", &runner::lua_reply_unordered(&envoy_lua)),
                    (
                        "harness Lua host",
                        &runner::lua_reply_unordered(&harness_lua),
                    ),
                );
                compare(
                    &title("the Wasm host differs from Envoy"),
                    &mut failures,
                    ("Envoy + Wasm", &envoy_wasm),
                    ("harness Wasm host", &harness_wasm),
                );
                if let Some(Some((native_out, native_window))) =
                    native.as_ref().map(|n| &n.outcomes[i])
                {
                    let envoy_native = canonical(native_out, &rule, *native_window, protocol);
                    compare(
                        &title("Envoy's native filter and the Wasm differ"),
                        &mut failures,
                        ("Envoy native", &envoy_native),
                        ("Envoy + Wasm", &envoy_wasm),
                    );
                }
            }
        }
    }
    println!(
        "{filter}: {played} scenario runs (Lua and Wasm, HTTP/1.1 and HTTP/2; {native_runs} also native), {exchanges} exchanges compared ({early} answered by Envoy itself), {unsendable} not sendable over that protocol, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for scenario in &in_process_only {
        println!("{filter}: in-process only: {scenario}");
    }
    assert!(
        failures.is_empty(),
        "{} failures\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    native_runs
}

/// Every filter (a folder of `filters/`) and the pipeline, each by its scenario file, in Envoy:
/// a new filter's scenarios run without a test to add, and one without a file fails. A filter
/// with a native equivalent (`src/native.rs`, local-ratelimit's) plays it too.
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
        .filter(|filter| {
            let native = paths::workspace_root()
                .join("filters")
                .join(filter)
                .join("src/native.rs")
                .is_file();
            std::panic::catch_unwind(|| {
                let native_runs = play_file(filter);
                assert!(
                    !native || native_runs > 0,
                    "{filter}: its native equivalent played no scenario"
                );
            })
            .is_err()
        })
        .copied()
        .collect();
    assert!(
        failed.is_empty(),
        "scenarios failed in Envoy (each reported above): {failed:?}"
    );
}
