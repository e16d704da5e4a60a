//! Guarded effects, and their mapping onto the filters: header operations (with `when` lists
//! and the `set_if_absent` / `remove_prefix` idioms), log lines, local-reply rules.

use super::refusals::{self, KEEP_LUA};
use super::values::{entry, no, terms, tested, Cond, No, Term, NAME_VAR};
use super::{Converted, Reading, Step, Unconverted};
use moonshift_shared::template::Phase;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub enum Kind {
    /// add / set / remove of one header (`rewrite`: a deliberate `:path` / `:authority` set).
    Header {
        action: &'static str,
        name: String,
        value: Option<String>,
        rewrite: bool,
    },
    /// Removal of the names a `pairs(headers)` loop collected: the guard tests `name_prefix` or
    /// `name_exact`.
    RemoveNames,
    Log {
        level: &'static str,
        message: String,
    },
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

#[derive(Debug, Clone)]
pub struct Effect {
    pub phase: Phase,
    pub guard: Cond,
    pub kind: Kind,
    /// Headers its value reads.
    pub reads: Vec<String>,
    pub line: usize,
    pub column: usize,
    pub code: String,
}

/// What one effect changes: a header, or every header with a prefix.
#[derive(Debug, Clone)]
struct Change {
    name: String,
    prefix: bool,
    line: usize,
}

impl Change {
    fn touches(&self, header: &str) -> bool {
        // A name from route metadata (`%METADATA(...)%`) can be any header.
        if self.name.starts_with('%') {
            return true;
        }
        match self.prefix {
            true => header.starts_with(&self.name),
            false => header == self.name,
        }
    }
}

fn refuse(reading: &mut Reading, e: &Effect, why: No) {
    reading.unconverted.push(Unconverted {
        line: e.line,
        column: e.column,
        code: e.code.clone(),
        why: why.why,
        instead: why.instead,
    });
}

/// What a term of a [`Kind::RemoveNames`] guard removes (`remove_prefix` of a `name_prefix`,
/// or `remove` of a `name_exact`), and the rest of the term. `None`: the term selects no name
/// (an exact name its own negations exclude).
fn name_removal(term: &Term) -> Result<Option<(&'static str, String, Term)>, No> {
    let mut chosen: Option<(&'static str, String)> = None;
    let mut excluded = Vec::new();
    let mut rest = Vec::new();
    for (positive, atom) in term {
        let test = match (
            atom.get("name_prefix").and_then(Value::as_str),
            atom.get("name_exact").and_then(Value::as_str),
        ) {
            (Some(p), _) => ("remove_prefix", p.to_string()),
            (_, Some(e)) => ("remove", e.to_string()),
            _ => {
                rest.push((*positive, atom.clone()));
                continue;
            }
        };
        match (positive, &chosen) {
            (true, None) => chosen = Some(test),
            (true, Some(_)) => {
                return Err(no(
                    "a removal of header names under two name tests at once",
                    refusals::LOOP,
                ))
            }
            (false, _) => excluded.push(test),
        }
    }
    let Some((action, name)) = chosen else {
        return Err(no(
            "a removal of every header name, or of names no prefix or equality selects",
            refusals::LOOP,
        ));
    };
    // The names this term's negated tests leave out: none of the chosen ones, or all of them.
    for (not_action, not_name) in &excluded {
        let covers = match *not_action {
            "remove_prefix" => name.starts_with(not_name.as_str()),
            _ => action == "remove" && name == *not_name,
        };
        let overlaps = *not_action == "remove" && not_name.starts_with(name.as_str());
        match (covers, overlaps && action == "remove_prefix") {
            (true, _) => return Ok(None),
            (false, true) => {
                return Err(no(
                    format!("a removal of the names starting with {name} but {not_name}"),
                    refusals::LOOP,
                ))
            }
            _ => {}
        }
    }
    Ok(Some((action, name, rest)))
}

/// Maps `effects` (in the order the script makes them) onto steps of `reading`.
pub fn map(effects: &[Effect], reading: &mut Reading) {
    let mut changed: Vec<(Phase, Change)> = Vec::new();
    for e in effects {
        let cases = match terms(&e.guard) {
            Ok(cases) => cases,
            Err(why) => {
                refuse(reading, e, why);
                continue;
            }
        };
        let mut steps = Vec::new();
        let mut tests: Vec<String> = e.reads.clone();
        let mut changes = Vec::new();
        let mut failed = None;
        for case in cases {
            let (action, case, name) = match &e.kind {
                Kind::Header { action, name, .. } => {
                    // `if headers:get(x) == nil then headers:add(x, v) end`: set_if_absent.
                    let absent = json!({"header": {"name": name, "present": true}});
                    let idiom = matches!(*action, "add" | "set")
                        && case.iter().any(|(p, a)| !p && *a == absent);
                    match idiom {
                        true => (
                            "set_if_absent",
                            case.into_iter()
                                .filter(|(p, a)| *p || *a != absent)
                                .collect(),
                            name.clone(),
                        ),
                        false => (*action, case, name.clone()),
                    }
                }
                Kind::RemoveNames => match name_removal(&case) {
                    Ok(Some((action, name, rest))) => (action, rest, name),
                    Ok(None) => continue,
                    Err(why) => {
                        failed = Some(why);
                        break;
                    }
                },
                _ => ("", case, String::new()),
            };
            for (_, atom) in &case {
                if let Some((header, _)) = tested(atom) {
                    tests.push(header);
                }
            }
            let when: Vec<Value> = case.iter().map(entry).collect();
            if when.iter().any(|w| w.to_string().contains(NAME_VAR)) {
                failed = Some(no(
                    "a test of a header name outside a removal loop",
                    refusals::LOOP,
                ));
                break;
            }
            let mut step = match &e.kind {
                Kind::Header { value, rewrite, .. } => {
                    let mut op = json!({"action": action, "name": name});
                    if let Some(v) = value {
                        op["value"] = json!(v);
                    }
                    if *rewrite {
                        op["rewrite"] = json!(true);
                    }
                    if action == "set_if_absent" {
                        tests.push(name.clone());
                    }
                    changes.push(Change {
                        name: name.clone(),
                        prefix: false,
                        line: e.line,
                    });
                    op
                }
                Kind::RemoveNames => {
                    changes.push(Change {
                        name: name.clone(),
                        prefix: action == "remove_prefix",
                        line: e.line,
                    });
                    json!({"action": action, "name": name})
                }
                Kind::Log { level, message } => json!({"level": level, "message": message}),
                Kind::Reply {
                    status,
                    headers,
                    body,
                } => {
                    let headers: Vec<Value> = headers
                        .iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect();
                    json!({"status": status, "headers": headers, "body": body})
                }
            };
            if !when.is_empty() {
                step["when"] = json!(when);
            }
            steps.push(step);
        }
        // Split into several operations, the first may change a header a later one's
        // condition tests: the cases were disjoint when the Lua tested them, not after.
        if failed.is_none() && steps.len() > 1 {
            if let Some(c) = changes.iter().find(|c| tests.iter().any(|t| c.touches(t))) {
                failed = Some(no(
                    format!("its condition is several cases that test {}, which it changes: once the first case's operation ran, a later case could hold too", c.name),
                    "one `if` per case, or keep it in Lua",
                ));
            }
        }
        if let Some(why) = failed {
            refuse(reading, e, why);
            continue;
        }
        // The plugin tests and reads as its operations run; the Lua tested and read when it
        // got there. A header changed before is read changed.
        let before = changed
            .iter()
            .filter(|(p, _)| *p == e.phase)
            .find_map(|(_, c)| {
                tests
                    .iter()
                    .find(|t| c.touches(t))
                    .map(|t| (t.clone(), c.line))
            });
        if let Some((header, line)) = before {
            refuse(reading, e, no(
                format!("it tests or reads {header}, which line {line} changed before: the plugin would see the changed value, the Lua saw the one before"),
                KEEP_LUA,
            ));
            continue;
        }
        changed.extend(changes.into_iter().map(|c| (e.phase, c)));
        let (filter, wrap): (&str, fn(Value) -> Step) = match (&e.kind, e.phase) {
            (Kind::Log { .. }, Phase::Request) => ("path-logger", Step::Log),
            (Kind::Log { .. }, Phase::Response) => {
                ("path-logger (response line)", Step::ResponseLog)
            }
            (Kind::Reply { .. }, _) => ("local-reply", Step::Reply),
            (_, Phase::Request) => ("request-decorator", Step::Header),
            (_, Phase::Response) => ("response-decorator", Step::Header),
        };
        let became: Vec<String> = steps.iter().map(Value::to_string).collect();
        reading.converted.push(Converted {
            line: e.line,
            code: e.code.clone(),
            became: match became.is_empty() {
                true => "nothing: its condition never holds".into(),
                false => format!("{filter}: {}", became.join(" ; ")),
            },
        });
        for step in steps {
            match e.phase {
                Phase::Request => reading.request.push(wrap(step)),
                Phase::Response => reading.response.push(wrap(step)),
            }
        }
    }
}
