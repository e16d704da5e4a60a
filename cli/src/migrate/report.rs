//! What `migrate` tells: report.md (each construct, each request's verdict, the verdict) and
//! the same result as JSON for CI (`--json`).

use super::lua::{Reading, Unconverted};
use crate::compare::Verdict;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The migration's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every request behaved the same.
    Converted,
    /// Written with `--no-compare`: no evidence either way.
    Unverified,
    /// Some request differs: the manifests are under `rejected/`.
    Differs,
    /// Something could not be converted: no configuration.
    Refused,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Converted => "converted",
            Kind::Unverified => "unverified",
            Kind::Differs => "differs",
            Kind::Refused => "refused",
        }
    }
}

/// Everything the report and the JSON say.
pub struct Outcome<'a> {
    pub origin: &'a str,
    pub verdict: Kind,
    pub readings: &'a [(String, Reading)],
    /// Refusals of the file itself (per-route Lua, a configuration the module refuses).
    pub refused: Vec<Unconverted>,
    pub config: Option<&'a Value>,
    pub fail_strategy: Option<(String, String)>,
    pub verdicts: &'a [Verdict],
    pub branches: (usize, usize),
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn unconverted_table(out: &mut String, list: &[Unconverted]) {
    out.push_str("| line:column | code | why | instead |\n|---|---|---|---|\n");
    for u in list {
        if u.line == 0 {
            let _ = writeln!(out, "| file | | {} | {} |", cell(&u.why), cell(&u.instead));
            continue;
        }
        let _ = writeln!(
            out,
            "| {}:{} | `{}` | {} | {} |",
            u.line,
            u.column,
            cell(&u.code),
            cell(&u.why),
            cell(&u.instead)
        );
    }
    out.push('\n');
}

pub fn markdown(o: &Outcome) -> String {
    let mut out = format!(
        "# moonshift migrate: {}\n\n**Verdict: {}.** ",
        o.origin,
        o.verdict.name()
    );
    let same = o.verdicts.iter().filter(|v| v.difference.is_none()).count();
    out.push_str(match o.verdict {
        Kind::Converted => "One `pipeline` plugin replaces the script, and every compared request behaves the same.\n\n",
        Kind::Unverified => "The plugin configuration and manifests are written but were not compared (`--no-compare`): run `moonshift migrate` without it before deploying.\n\n",
        Kind::Differs => "Some requests behave differently: the manifests are under `rejected/`, with the differences; nothing deployable was written.\n\n",
        Kind::Refused => "No configuration was written; the script stays as it is until each construct below is dealt with.\n\n",
    });
    if !o.refused.is_empty() {
        let _ = writeln!(
            out,
            "**Not converted: {} construct(s) of the file.**\n",
            o.refused.len()
        );
        unconverted_table(&mut out, &o.refused);
    }
    for (origin, reading) in o.readings {
        if o.readings.len() > 1 {
            let _ = writeln!(out, "## {origin}\n");
        }
        if !reading.unconverted.is_empty() {
            let _ = writeln!(out, "**Not converted: {} statement(s).** No configuration was written; the script stays as it is until each one below is dealt with.\n", reading.unconverted.len());
            unconverted_table(&mut out, &reading.unconverted);
        }
        if !reading.converted.is_empty() {
            out.push_str("## Converted\n\n| line | code | became |\n|---|---|---|\n");
            for c in &reading.converted {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} |",
                    c.line,
                    cell(&c.code),
                    cell(&c.became)
                );
            }
            out.push('\n');
        }
        if !reading.notes.is_empty() {
            out.push_str("## Behaviour that differs in a corner\n\n");
            for note in &reading.notes {
                let _ = writeln!(out, "- {note}");
            }
            out.push('\n');
        }
    }
    if let Some((strategy, why)) = &o.fail_strategy {
        let _ = writeln!(out, "## Fail strategy: {strategy}\n\n{why}\n");
    }
    if let Some(config) = o.config {
        let _ = writeln!(out, "## The plugin\n\n`pluginName: pipeline`, module `moonshift-bundle`:\n\n```json\n{}\n```\n", serde_json::to_string_pretty(config).unwrap_or_default());
    }
    if !o.verdicts.is_empty() {
        let _ = writeln!(
            out,
            "## Compare: {same} of {} requests behave the same; {} of {} branches exercised\n",
            o.verdicts.len(),
            o.branches.0,
            o.branches.1
        );
        out.push_str("| verdict | request |\n|---|---|\n");
        for v in o.verdicts {
            let _ = writeln!(
                out,
                "| {} | `{}` |",
                if v.difference.is_none() {
                    "same"
                } else {
                    "DIFFERS"
                },
                cell(&v.request)
            );
        }
        out.push('\n');
        for v in o.verdicts.iter().filter(|v| v.difference.is_some()) {
            let _ = writeln!(
                out,
                "### DIFFERS: {}\n\n```\n{}\n```\n",
                v.request,
                v.difference.clone().unwrap_or_default()
            );
        }
    }
    out
}

fn unconverted_json(list: &[Unconverted]) -> Vec<Value> {
    list.iter()
        .map(|u| json!({"line": u.line, "column": u.column, "code": u.code, "why": u.why, "instead": u.instead}))
        .collect()
}

pub fn json(o: &Outcome) -> Value {
    let mut unconverted = unconverted_json(&o.refused);
    for (_, reading) in o.readings {
        unconverted.extend(unconverted_json(&reading.unconverted));
    }
    json!({
        "file": o.origin,
        "verdict": o.verdict.name(),
        "unconverted": unconverted,
        "config": o.config,
        "fail_strategy": o.fail_strategy.as_ref().map(|(s, why)| json!({"strategy": s, "why": why})),
        "requests": o.verdicts.len(),
        "same": o.verdicts.iter().filter(|v| v.difference.is_none()).count(),
        "branches": {"exercised": o.branches.0, "total": o.branches.1},
        "verdicts": o.verdicts.iter().map(|v| json!({"request": v.request, "same": v.difference.is_none(), "difference": v.difference})).collect::<Vec<_>>(),
    })
}
