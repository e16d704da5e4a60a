//! Which `failStrategy` a plugin is deployed with, and why: a plugin that can deny a request
//! fails closed (an access gate must not open because its plugin cannot run), one that only
//! decorates fails open (a missing header is better than failing every request). `deploy` and
//! `migrate` both choose here; `--fail-strategy` overrides the choice, and the output says which
//! was taken and why.

use moonshift_oci::facts::Facts;
use serde_json::Value;

/// `--fail-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailStrategy {
    FailOpen,
    FailClose,
}

impl FailStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailOpen => "FAIL_OPEN",
            Self::FailClose => "FAIL_CLOSE",
        }
    }
}

/// The strategy taken and the reason, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub strategy: FailStrategy,
    pub why: String,
}

/// Why `filter` with `config` can deny a request, if it can: its crate says it fails closed
/// (an auth check, a rate limiter), or it answers a 4xx of its own (a local-reply rule).
fn gate(facts: &Facts, config: &Value) -> Option<String> {
    if facts.fail_strategy == "FAIL_CLOSE" {
        return Some(format!("{}: {}", facts.filter, facts.fail_why));
    }
    let rules = config.get("rules").and_then(Value::as_array)?;
    rules.iter().enumerate().find_map(|(i, rule)| {
        let status = rule.get("status").and_then(Value::as_u64)?;
        (400..500).contains(&status).then(|| {
            format!(
                "{}: rules[{i}] answers {status}, which gates the request",
                facts.filter
            )
        })
    })
}

/// The members of a plugin: a pipeline's `filters[]` with their configurations, or the one
/// filter.
fn members<'a>(filter: &str, config: &'a Value) -> Vec<(String, &'a Value)> {
    match filter {
        "pipeline" => config
            .get("filters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                let name = m.get("filter").and_then(Value::as_str).unwrap_or_default();
                (name.to_string(), m.get("config").unwrap_or(&Value::Null))
            })
            .collect(),
        _ => vec![(filter.to_string(), config)],
    }
}

/// The strategy for `filter` (or `pipeline`) with `config`, each member's facts in `facts`.
pub fn choose(
    filter: &str,
    config: &Value,
    facts: &[Facts],
    given: Option<FailStrategy>,
) -> Choice {
    let gates: Vec<String> = members(filter, config)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (name, member_config))| {
            let member = facts.iter().find(|f| f.filter == name)?;
            let why = gate(member, member_config)?;
            Some(match filter {
                "pipeline" => format!("filters[{i}] ({why})"),
                _ => why,
            })
        })
        .collect();
    let chosen = match gates.is_empty() {
        true => Choice {
            strategy: FailStrategy::FailOpen,
            why: "nothing in it can deny a request: when the plugin cannot run, requests pass undecorated rather than fail".into(),
        },
        false => Choice {
            strategy: FailStrategy::FailClose,
            why: format!(
                "it can deny requests ({}): a gate must not open when its plugin cannot run",
                gates.join("; ")
            ),
        },
    };
    match given {
        Some(strategy) if strategy != chosen.strategy => Choice {
            strategy,
            why: format!(
                "--fail-strategy {} (Moonshift would choose {}: {})",
                strategy.as_str(),
                chosen.strategy.as_str(),
                chosen.why
            ),
        },
        _ => chosen,
    }
}

/// A filter's facts as the tests need them: its name, phase and fail strategy.
#[cfg(test)]
pub fn test_facts(filter: &str, phase: &str, fail: &str) -> Facts {
    Facts {
        filter: filter.into(),
        phase: phase.into(),
        phase_why: String::new(),
        fail_strategy: fail.into(),
        fail_why: "an auth filter".into(),
        plugin_config: Value::Null,
        credentials: None,
        deploy_config: Value::Null,
        bench_config: Value::Null,
        bench_native: None,
        bench_floor_config: None,
        bench_by_hand: None,
        bench_as_lua: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(filter: &str, fail: &str) -> Facts {
        test_facts(filter, "AUTHN", fail)
    }

    #[test]
    fn a_plugin_that_can_deny_fails_closed() {
        let all = [
            facts("api-key-auth", "FAIL_CLOSE"),
            facts("local-reply", "FAIL_OPEN"),
            facts("request-decorator", "FAIL_OPEN"),
        ];
        let gate401 = json!({"rules": [{"status": 200}, {"status": 401}]});
        let redirect = json!({"rules": [{"status": 301}]});
        let cases: &[(&str, Value, Option<FailStrategy>, FailStrategy, &str)] = &[
            (
                "api-key-auth",
                json!({}),
                None,
                FailStrategy::FailClose,
                "api-key-auth: an auth filter",
            ),
            (
                "local-reply",
                gate401.clone(),
                None,
                FailStrategy::FailClose,
                "local-reply: rules[1] answers 401",
            ),
            (
                "local-reply",
                redirect.clone(),
                None,
                FailStrategy::FailOpen,
                "nothing in it can deny",
            ),
            (
                "request-decorator",
                json!({}),
                None,
                FailStrategy::FailOpen,
                "nothing in it can deny",
            ),
            (
                "pipeline",
                json!({"filters": [{"filter": "request-decorator"}, {"filter": "local-reply", "config": gate401}]}),
                None,
                FailStrategy::FailClose,
                "filters[1] (local-reply: rules[1] answers 401",
            ),
            (
                "pipeline",
                json!({"filters": [{"filter": "request-decorator"}, {"filter": "local-reply", "config": redirect}]}),
                None,
                FailStrategy::FailOpen,
                "nothing in it",
            ),
            (
                "api-key-auth",
                json!({}),
                Some(FailStrategy::FailOpen),
                FailStrategy::FailOpen,
                "--fail-strategy FAIL_OPEN (Moonshift would choose FAIL_CLOSE",
            ),
            (
                "api-key-auth",
                json!({}),
                Some(FailStrategy::FailClose),
                FailStrategy::FailClose,
                "api-key-auth: an auth filter",
            ),
        ];
        for (filter, config, given, want, why) in cases {
            let choice = choose(filter, config, &all, *given);
            assert_eq!(choice.strategy, *want, "{filter} {config}");
            assert!(
                choice.why.contains(why),
                "{filter} {config}: {}",
                choice.why
            );
        }
    }
}
