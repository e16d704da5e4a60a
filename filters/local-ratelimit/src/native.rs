//! Envoy's own `envoy.filters.http.local_ratelimit` doing what a local-ratelimit configuration
//! does, for the tools (feature `host`, never in a module): the real-Envoy suites play every
//! scenario that has one against native too (`tests/tests/scenarios_in_envoy.rs`), and the
//! example configs show it beside the Lua and the Wasm (`examples/envoy/`).

use alloc::format;
use alloc::string::String;
use serde_json::{json, Map, Value};

/// The HTTP filter entry of native `local_ratelimit` with `typed_config` fields `fields`.
pub fn filter_entry(fields: Value) -> Value {
    let mut typed_config = Map::new();
    typed_config.insert(
        "@type".into(),
        json!(
            "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
        ),
    );
    if let Value::Object(fields) = fields {
        typed_config.extend(fields);
    }
    json!({"name": "envoy.filters.http.local_ratelimit", "typed_config": typed_config})
}

/// Milliseconds of a `fill_interval` as the configuration writes it (`"1s"`, `"0.5s"`, `"250ms"`).
fn millis(value: &Value) -> Option<u64> {
    let text = value.as_str()?;
    match text.strip_suffix("ms") {
        Some(ms) => ms.parse().ok(),
        None => text
            .strip_suffix('s')?
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0).round() as u64),
    }
}

/// The native filter entry doing what `config` does on `workers` workers, or why there is none.
/// With one worker, `scope: worker` and `process` are the same bucket.
pub fn equivalent(config: Option<&Value>, workers: usize) -> Result<Value, String> {
    let empty = json!({});
    let config = config.unwrap_or(&empty);
    for unsupported in ["client_key", "body"] {
        if config.get(unsupported).is_some() {
            return Err(format!("native local_ratelimit has no `{unsupported}`"));
        }
    }
    if workers != 1 && config.get("scope").and_then(Value::as_str) == Some("worker") {
        return Err("native local_ratelimit has no per-worker scope".into());
    }
    let bucket = config.get("token_bucket").cloned().unwrap_or(json!({}));
    let interval_ms = bucket
        .get("fill_interval")
        .map_or(Some(60_000), millis)
        .ok_or("bad fill_interval")?;
    // The runtime keys Envoy's own documentation gives them.
    let fraction = |name: &str, runtime_key: &str| {
        let default = config
            .get(name)
            .and_then(|f| f.get("default_value"))
            .cloned()
            .unwrap_or(json!({"numerator": 100, "denominator": "HUNDRED"}));
        json!({"runtime_key": runtime_key, "default_value": default})
    };
    let mut native = json!({
        "stat_prefix": config.get("stat_prefix").cloned().unwrap_or(json!("http_local_rate_limiter")),
        "token_bucket": {
            "max_tokens": bucket.get("max_tokens").cloned().unwrap_or(json!(100)),
            "tokens_per_fill": bucket.get("tokens_per_fill").cloned().unwrap_or(json!(100)),
            "fill_interval": match interval_ms % 1000 {
                0 => format!("{}s", interval_ms / 1000),
                ms => format!("{}.{ms:03}s", interval_ms / 1000),
            },
        },
        "filter_enabled": fraction("filter_enabled", "local_rate_limit_enabled"),
        "filter_enforced": fraction("filter_enforced", "local_rate_limit_enforced"),
    });
    for field in [
        "status",
        "response_headers_to_add",
        "request_headers_to_add_when_not_enforced",
        "enable_x_ratelimit_headers",
    ] {
        if let (Some(value), Some(target)) = (config.get(field), native.as_object_mut()) {
            target.insert(field.into(), value.clone());
        }
    }
    Ok(filter_entry(native))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn equivalents_table() -> Result<(), String> {
        let typed = |config: Value, workers| {
            equivalent(Some(&config), workers).map(|entry| entry["typed_config"].clone())
        };
        let defaults = typed(json!({}), 1)?;
        assert_eq!(
            defaults["token_bucket"],
            json!({"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"})
        );
        assert_eq!(
            defaults["filter_enforced"]["default_value"]["numerator"],
            100
        );
        assert_eq!(
            defaults["filter_enabled"]["runtime_key"],
            "local_rate_limit_enabled"
        );
        let bucket = json!({"token_bucket": {"max_tokens": 1, "tokens_per_fill": 3, "fill_interval": "250ms"}, "status": 503});
        let native = typed(bucket, 2)?;
        assert_eq!(native["token_bucket"]["fill_interval"], "0.250s");
        assert_eq!(native["status"], 503);
        assert_eq!(
            typed(json!({"token_bucket": {"fill_interval": "1.5s"}}), 1)?["token_bucket"]
                ["fill_interval"],
            "1.500s"
        );
        for (config, workers, why) in [
            (
                json!({"client_key": {"header": "x-user"}}),
                1,
                "native local_ratelimit has no `client_key`",
            ),
            (
                json!({"body": "slow down"}),
                1,
                "native local_ratelimit has no `body`",
            ),
            (
                json!({"scope": "worker"}),
                2,
                "native local_ratelimit has no per-worker scope",
            ),
        ] {
            assert_eq!(typed(config, workers), Err(why.to_string()));
        }
        assert!(typed(json!({"scope": "worker"}), 1).is_ok());
        Ok(())
    }
}
