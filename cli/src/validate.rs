//! `moonshift validate FILTER CONFIG`: the module's own `proxy_on_configure`, offline.

use crate::input;
use std::path::Path;

/// The line Envoy logs for a refused configuration, or `None` when the module accepts it.
pub fn check(filter: &str, config: &serde_json::Value) -> Option<String> {
    let bytes = config.to_string().into_bytes();
    let module = if filter == "pipeline" {
        "moonshift-bundle"
    } else {
        filter
    };
    moonshift_bundle::build_filter(filter, Some(&bytes))
        .err()
        .map(|error| format!("{module}: invalid configuration: {error}"))
}

pub fn run(filter: &str, path: &Path) -> Result<bool, String> {
    let text = input::read(path)?;
    let config = input::config(&text, &path.display().to_string())?;
    match check(filter, &config) {
        None => {
            println!("{filter}: the configuration is valid");
            Ok(true)
        }
        Some(line) => {
            println!("{line}");
            Ok(false)
        }
    }
}
