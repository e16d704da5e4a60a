//! Reading what users hand the command: JSON or YAML configurations, request files.

use moonshift_harness::scenario::{ExchangeSpec, ScenarioFile};
use serde_json::Value;
use std::path::Path;

/// The file's text; `-` is standard input.
pub fn read(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A configuration, JSON or YAML (JSON is YAML, but JSON errors read better from a JSON parser).
pub fn config(text: &str, what: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| format!("{what}: {e}"));
    }
    serde_yaml_ng::from_str(text).map_err(|e| format!("{what}: {e}"))
}

/// Requests: a scenario file's exchanges (every scenario's, in order), or a recorded-requests
/// file of one JSON request per line (blank lines and `#` comments skipped). A line is a
/// scenario exchange: `{"method": "POST", "path": "/api", "headers": [["x-a", "1"]]}`, with
/// optional `at_ms` / `advance_ms` (the clock), `remote_address`, `upstream`, `expect`.
pub fn requests(path: &Path) -> Result<Vec<ExchangeSpec>, String> {
    let text = read(path)?;
    if text.trim_start().starts_with("{\"filter\"") || path.extension().is_some_and(|e| e == "json")
    {
        if let Ok(file) = ScenarioFile::parse(&text) {
            return Ok(file
                .scenarios
                .into_iter()
                .flat_map(|s| s.exchanges)
                .collect());
        }
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}
