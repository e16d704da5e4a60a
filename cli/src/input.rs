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
    shallow_enough(text, what)?;
    serde_yaml_ng::from_str(text).map_err(|e| format!("{what}: {e}"))
}

/// How deep YAML flow collections (`[`, `{`) may nest in what the commands read.
pub const MAX_FLOW_DEPTH: usize = 128;

/// Refuses YAML whose `[` / `{` nest deeper than [`MAX_FLOW_DEPTH`], in one linear pass, before
/// the YAML parser sees it: the parser takes time quadratic in that depth before it refuses
/// (97 s for 400 KB). Brackets are counted wherever they stand, in quoted text and block
/// scalars too: no configuration or script nests anywhere near that deep.
pub fn shallow_enough(text: &str, what: &str) -> Result<(), String> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    for byte in text.bytes() {
        column += 1;
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(format!(
                        "{what}:{line}:{column}: YAML nested deeper than {MAX_FLOW_DEPTH} levels of [ and {{"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                column = 0;
            }
            _ => {}
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}{}", "[".repeat(20_000), "]".repeat(20_000));
        // The message is the scan's, with where it stopped: the parser never saw the text.
        let error = config(&deep, "c.yaml").err().unwrap_or_default();
        assert_eq!(
            error,
            "c.yaml:1:132: YAML nested deeper than 128 levels of [ and {"
        );
        let fine = format!("a: {}1{}", "[".repeat(100), "]".repeat(100));
        assert!(config(&fine, "c.yaml").is_ok());
    }
}
