//! `moonshift validate FILTER CONFIG`: the module's own `proxy_on_configure`, offline; and
//! `moonshift schema FILTER`, the shape it reads.

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
    moonshift_bundle::build_in_own_module(filter, Some(&bytes))
        .err()
        .map(|error| format!("{module}: invalid configuration: {error}"))
}

/// A usage error unless `filter` is one of the bundle's filters or `pipeline`.
pub fn known(filter: &str) -> Result<(), String> {
    if filter != "pipeline" && !moonshift_bundle::filter_names().any(|name| name == filter) {
        let names: Vec<&str> = moonshift_bundle::filter_names().collect();
        return Err(format!(
            "no filter is named {filter:?}: use one of {} or pipeline",
            names.join(", ")
        ));
    }
    Ok(())
}

/// `moonshift schema FILTER`: the configuration's JSON Schema on standard output.
pub fn schema(filter: &str) -> Result<bool, String> {
    known(filter)?;
    let schema = moonshift_bundle::schema::of(filter).ok_or("no schema")?;
    let text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(true)
}

pub fn run(filter: &str, path: &Path) -> Result<bool, String> {
    known(filter)?;
    let text = input::read(path)?;
    let config = input::config(&text, &path.display().to_string())?;
    match check(filter, &config) {
        None => {
            println!("{filter}: the configuration is valid");
            Ok(true)
        }
        // The refusal is the verdict, and an error: on standard error, exit 1.
        Some(line) => {
            eprintln!("{line}");
            Ok(false)
        }
    }
}
