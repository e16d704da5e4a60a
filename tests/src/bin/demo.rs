//! `make demo`: every filter in a real Envoy, once as its Lua reference and once as its Wasm
//! module, the same requests through both, and a table of what each did.

use moonshift_envoy::http::Request;
use moonshift_envoy::runner::{
    self, canonical_in_envoy, lua_reply_unordered, reconcile_reset, ClockRule, Flavour, Protocol,
    ENVOY_REQUEST_HEADERS, ENVOY_RESPONSE_HEADERS,
};
use moonshift_harness::artifacts;
use moonshift_harness::exchange::{show_bytes, Header, Outcome};
use moonshift_harness::scenario::{Scenario, ScenarioFile};
use serde_json::{json, Value};

/// What one filter shows: its scenario file's demo scenarios (`"demo": true`), each played once
/// with the Lua reference and once with the module, in two fresh Envoys.
struct Demo {
    filter: String,
    scenarios: Vec<Scenario>,
}

/// One demo per filter (a folder of `filters/`): the list is the filters' own, never written
/// here. A filter without a demo scenario is an error, so a new filter cannot be left out.
fn demos() -> Result<Vec<Demo>, String> {
    artifacts::FILTERS
        .iter()
        .map(|filter| {
            let path = artifacts::scenarios(filter);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file =
                ScenarioFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let scenarios: Vec<Scenario> = file.scenarios.into_iter().filter(|s| s.demo).collect();
            if scenarios.is_empty() {
                return Err(format!(
                    "{}: no scenario has \"demo\": true; mark the one `make demo` shows",
                    path.display()
                ));
            }
            if let Some(bad) = scenarios.iter().find(|s| runner::playable(s).is_err()) {
                return Err(format!(
                    "{}: the demo scenario {:?} cannot be played in Envoy",
                    path.display(),
                    bad.name
                ));
            }
            Ok(Demo {
                filter: filter.to_string(),
                scenarios,
            })
        })
        .collect()
}

/// What the filter changed, as short lines: headers the upstream got that the client did not
/// send, the status, response headers the upstream did not send, the body of a local reply, and
/// the filter's log lines.
fn effect(request: &Request, outcome: &Outcome) -> Vec<String> {
    let sent: Vec<&Header> = request.headers.iter().collect();
    let mut lines = Vec::new();
    match &outcome.upstream_request {
        Some(headers) => {
            for header in headers {
                let unchanged = match header.0.as_str() {
                    ":path" => header.1 == request.path,
                    ":method" => header.1 == request.method.as_bytes(),
                    ":authority" => header.1 == request.authority.as_bytes(),
                    _ => sent.contains(&header),
                };
                if !unchanged && !ENVOY_REQUEST_HEADERS.contains(&header.0.as_str()) {
                    lines.push(format!(
                        "upstream got {}: {}",
                        header.0,
                        show_bytes(&header.1)
                    ));
                }
            }
        }
        None => lines.push("upstream not reached".into()),
    }
    lines.push(format!("client got {}", outcome.response.status));
    for (name, value) in &outcome.response.headers {
        if name != "x-upstream" && !ENVOY_RESPONSE_HEADERS.contains(&name.as_str()) {
            lines.push(format!("  {name}: {}", show_bytes(value)));
        }
    }
    if let Some(body) = &outcome.response.body {
        lines.push(format!("  body {:?}", show_bytes(body)));
    }
    for log in &outcome.logs {
        lines.push(format!("log {log}"));
    }
    lines
}

fn cell(text: &str, width: usize) -> String {
    let mut out: String = text.chars().take(width).collect();
    let len = out.chars().count();
    out.extend(std::iter::repeat_n(' ', width - len));
    out
}

/// The seed's whole script as `moonshift migrate` converted it (`--pipeline-config FILE`, the
/// `pipeline-config.json` migrate wrote): the Lua against the one pipeline plugin.
fn migrated(args: &[String]) -> Result<Option<Demo>, String> {
    let Some(path) = args
        .iter()
        .position(|a| a == "--pipeline-config")
        .and_then(|i| args.get(i + 1))
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let scenario = serde_json::from_value(json!({
        "name": "the seed's whole EnvoyFilter, as `moonshift migrate` converted it: one plugin",
        "config": config,
        "exchanges": [{}, {"method": "POST", "path": "/orders/42?expand=items"}],
    }))
    .map_err(|e| format!("the migrated demo: {e}"))?;
    Ok(Some(Demo {
        filter: "pipeline".into(),
        scenarios: vec![scenario],
    }))
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(why) => {
            eprintln!("demo: {why}");
            std::process::exit(2);
        }
    }
}

/// A request as a table row's title: method, path, and the headers the client added.
fn title(request: &Request) -> String {
    let mut title = format!("{} {}", request.method, show_bytes(&request.path));
    for (name, value) in &request.headers {
        title.push_str(&format!(" ({name}: {})", show_bytes(value)));
    }
    title
}

/// Plays one scenario with the Lua and with the Wasm and prints its table; (identical, total).
fn show(filter: &str, scenario: &Scenario) -> Result<(usize, usize), String> {
    let lua = runner::play(filter, scenario, Flavour::Lua, Protocol::Http1)?;
    let wasm = runner::play(filter, scenario, Flavour::Wasm, Protocol::Http1)?;
    println!("\n== {filter} ==  {}", scenario.name);
    println!(
        "  {}  {}  {}  verdict",
        cell("request", 36),
        cell("Envoy + Lua", 56),
        cell("Envoy + Wasm", 56),
    );
    // The timestamps the plugin writes, from its configuration (as compare does).
    let rule = ClockRule::for_scenario(filter, scenario);
    let requests = scenario
        .exchanges
        .iter()
        .flat_map(|spec| std::iter::repeat_n(spec, spec.repeat))
        .map(runner::client_request);
    let (mut identical, mut total) = (0, 0);
    for ((request, lua_played), wasm_played) in requests.zip(&lua.outcomes).zip(&wasm.outcomes) {
        let (Some(request), Some((lua_out, lua_window)), Some((wasm_out, wasm_window))) =
            (request, lua_played, wasm_played)
        else {
            return Err(format!(
                "{filter}: {:?} has an exchange Envoy cannot be sent",
                scenario.name
            ));
        };
        let a = lua_reply_unordered(&canonical_in_envoy(
            lua_out,
            &rule,
            *lua_window,
            Protocol::Http1,
        ));
        let mut b = lua_reply_unordered(&canonical_in_envoy(
            wasm_out,
            &rule,
            *wasm_window,
            Protocol::Http1,
        ));
        reconcile_reset(&a, &mut b);
        let verdict = if a == b { "identical" } else { "DIFFERENT" };
        total += 1;
        identical += usize::from(a == b);
        let (left, right) = (effect(&request, lua_out), effect(&request, wasm_out));
        let title = title(&request);
        for i in 0..left.len().max(right.len()) {
            let first = i == 0;
            println!(
                "  {}  {}  {}  {}",
                cell(if first { &title } else { "" }, 36),
                cell(left.get(i).map_or("", String::as_str), 56),
                cell(right.get(i).map_or("", String::as_str), 56),
                if first { verdict } else { "" }
            );
        }
    }
    Ok((identical, total))
}

/// Plays every demo; whether every exchange was identical.
fn run() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut identical, mut total) = (0, 0);
    for demo in migrated(&args)?.into_iter().chain(demos()?) {
        for scenario in &demo.scenarios {
            let (same, played) = show(&demo.filter, scenario)?;
            identical += same;
            total += played;
        }
    }
    println!("\n{identical} of {total} exchanges identical. Envoy's own headers (x-request-id, date, ...) are left out;");
    println!("a timestamp counts as identical when it is the second each request was in flight.");
    println!(
        "Each filter's demo is the scenario marked \"demo\" in tests/scenarios/<filter>.json."
    );
    println!(
        "Configs and logs of these Envoys: target/envoy-tests/play-*/. The full suite: make test."
    );
    Ok(identical == total)
}

#[cfg(test)]
mod tests {
    /// Every filter has a demo scenario Envoy can play, so `make demo` shows every filter.
    #[test]
    fn every_filter_has_a_playable_demo_scenario() {
        let demos = super::demos().unwrap_or_else(|why| panic!("{why}"));
        let shown: Vec<&str> = demos.iter().map(|d| d.filter.as_str()).collect();
        let filters: Vec<&str> = moonshift_harness::artifacts::FILTERS.to_vec();
        assert_eq!(shown, filters);
    }
}
