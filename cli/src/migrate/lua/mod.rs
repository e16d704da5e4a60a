//! A Lua script, parsed with a real Lua parser (full_moon) and evaluated symbolically: every
//! path through `envoy_on_request` and `envoy_on_response` yields guarded effects (header
//! operations, log lines, local replies, each under the conditions of its path), which are then
//! mapped onto the filters' operations, `when` lists and local-reply rules. What it cannot
//! follow is reported with its line, its column, why, and what to use instead; nothing is
//! guessed.

mod branches;
mod calls;
pub mod effects;
mod equality;
mod eval;
mod expr;
mod format;
mod handle;
mod implied;
mod loops;
mod ops;
mod raises;
mod reads;
mod refusals;
mod strings;
pub mod syntax;
mod templates;
pub mod values;
pub use raises::is_mark as is_raise_mark;
pub use reads::Reads;

use eval::{Eval, Scope};
use full_moon::ast::{self, Stmt, Var};
use moonshift_shared::template::Phase;
use refusals::KEEP_LUA;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use syntax::{code_of, identifier, position};
use values::{no, Cond, Function, No, Val};

/// A construct the catalogue cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    pub line: usize,
    pub column: usize,
    pub code: String,
    pub why: String,
    pub instead: String,
}

/// What one phase of the script does, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A header operation (request-decorator or response-decorator's JSON).
    Header(Value),
    /// A log line (path-logger's config).
    Log(Value),
    /// A log line of the response (path-logger's `response`).
    ResponseLog(Value),
    /// A local reply (a local-reply rule).
    Reply(Value),
}

/// A converted statement, for the report: where, and what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub line: usize,
    pub code: String,
    pub became: String,
}

/// What reading the script found.
#[derive(Debug, Default)]
pub struct Reading {
    pub request: Vec<Step>,
    pub response: Vec<Step>,
    pub converted: Vec<Converted>,
    pub unconverted: Vec<Unconverted>,
    /// Behaviour that is kept but differs in a corner, for the report.
    pub notes: Vec<String>,
    /// What the script reads, to derive requests from.
    pub reads: Reads,
    /// Each branch of the script (an `if` arm), by the condition under which it runs.
    pub branches: Vec<(Phase, Cond)>,
}

fn refuse(reading: &mut Reading, node: &impl full_moon::node::Node, source: &str, why: No) {
    let (line, column, code) = why.at.clone().unwrap_or_else(|| {
        let (line, column) = position(node);
        (line, column, code_of(node, source))
    });
    reading.unconverted.push(Unconverted {
        line,
        column,
        code,
        why: why.why,
        instead: why.instead,
    });
}

/// Evaluates a statement run when the script loads: constants, tables and functions become
/// the module's names; anything else is refused.
fn load_time(
    stmt: &Stmt,
    globals: &mut Scope,
    hidden: &BTreeSet<String>,
    reading: &mut Reading,
    source: &str,
) {
    let value_of = |e: &ast::Expression, globals: &Scope| {
        let mut eval = Eval::new(source, Phase::Request, globals);
        eval.hidden = hidden.clone();
        let v = eval.expr(e);
        (v, eval.refusals)
    };
    let bind = |name: String,
                value: Val,
                node: &dyn Fn() -> (usize, usize, String),
                reading: &mut Reading,
                globals: &mut Scope| match value {
        Val::Unknown(mut why) => {
            if why.at.is_none() {
                why.at = Some(node());
            }
            why.why = format!("at load time: {}", why.why);
            let (line, column, code) = why.at.clone().unwrap_or_default();
            reading.unconverted.push(Unconverted {
                line,
                column,
                code,
                why: why.why,
                instead: why.instead,
            });
        }
        v => {
            globals.insert(name, v);
        }
    };
    match stmt {
        Stmt::LocalAssignment(local) => {
            let names: Vec<String> = local.names().iter().filter_map(identifier).collect();
            for (i, name) in names.into_iter().enumerate() {
                let value = match local.expressions().iter().nth(i) {
                    Some(e) => value_of(e, globals).0,
                    None => Val::Nil,
                };
                let at = || {
                    let (l, c) = position(local);
                    (l, c, code_of(local, source))
                };
                bind(name, value, &at, reading, globals);
            }
        }
        Stmt::Assignment(assign) => {
            for (var, e) in assign.variables().iter().zip(assign.expressions().iter()) {
                let at = || {
                    let (l, c) = position(assign);
                    (l, c, code_of(assign, source))
                };
                match var {
                    Var::Name(token) => {
                        let value = value_of(e, globals).0;
                        bind(
                            identifier(token).unwrap_or_default(),
                            value,
                            &at,
                            reading,
                            globals,
                        );
                    }
                    _ => refuse(
                        reading,
                        assign,
                        source,
                        no("a table field set when the script loads", KEEP_LUA),
                    ),
                }
            }
        }
        Stmt::LocalFunction(f) => {
            let name = identifier(f.name()).unwrap_or_default();
            globals.insert(
                name.clone(),
                Val::Func(Rc::new(Function {
                    name,
                    body: f.body().clone(),
                    env: Vec::new(),
                    hidden: hidden.clone(),
                })),
            );
        }
        Stmt::FunctionDeclaration(f) => {
            let names: Vec<String> = f.name().names().iter().filter_map(identifier).collect();
            let method = f.name().method_name().is_some();
            let function = |name: &str| {
                Val::Func(Rc::new(Function {
                    name: name.to_string(),
                    body: f.body().clone(),
                    env: Vec::new(),
                    hidden: hidden.clone(),
                }))
            };
            match (names.as_slice(), method) {
                ([one], false) => {
                    globals.insert(one.clone(), function(one));
                }
                ([table, field], false) => match globals.get_mut(table) {
                    Some(Val::Table(t)) => {
                        t.insert(field.clone(), function(&format!("{table}.{field}")));
                    }
                    _ => refuse(reading, f, source, no(format!("a function stored into `{table}`, which is not a table of this script"), KEEP_LUA)),
                },
                _ => refuse(reading, f, source, no("a method or a nested function name", KEEP_LUA)),
            }
        }
        Stmt::FunctionCall(call) => {
            let mut eval = Eval::new(source, Phase::Request, globals);
            let why = match eval.call(call) {
                Val::Unknown(why) => why,
                _ => no("a call when the script loads", KEEP_LUA),
            };
            let mut why = eval.at(call, why);
            why.why = format!("at load time: {}", why.why);
            refuse(reading, call, source, why);
        }
        other => refuse(
            reading,
            other,
            source,
            no(
                "code run when the script loads (state kept per worker)",
                refusals::STATE,
            ),
        ),
    }
}

/// Reads `source`: its `envoy_on_request` and `envoy_on_response`, evaluated over every path.
pub fn read(source: &str) -> Result<Reading, String> {
    let mut reading = Reading::default();
    if let Some((line, column)) = syntax::too_deep(source) {
        reading.unconverted.push(Unconverted {
            line,
            column,
            code: String::new(),
            why: format!(
                "the script nests blocks and brackets more than {} deep",
                syntax::MAX_DEPTH
            ),
            instead: KEEP_LUA.into(),
        });
        return Ok(reading);
    }
    let ast = full_moon::parse(source).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        format!("the Lua does not parse: {first}")
    })?;
    let mut globals = Scope::new();
    let mut handlers = Vec::new();
    // Where each module-level local is first declared: code before it sees a global there.
    let mut first_local: HashMap<String, usize> = HashMap::new();
    for (i, stmt) in ast.nodes().stmts().enumerate() {
        let names: Vec<String> = match stmt {
            Stmt::LocalAssignment(l) => l.names().iter().filter_map(identifier).collect(),
            Stmt::LocalFunction(f) => identifier(f.name()).into_iter().collect(),
            _ => Vec::new(),
        };
        for name in names {
            first_local.entry(name).or_insert(i);
        }
    }
    let declared_after = |i: usize| -> BTreeSet<String> {
        first_local
            .iter()
            .filter(|(_, at)| **at > i)
            .map(|(name, _)| name.clone())
            .collect()
    };
    for (i, stmt) in ast.nodes().stmts().enumerate() {
        if let Stmt::FunctionDeclaration(f) = stmt {
            let name: Vec<String> = f.name().names().iter().filter_map(identifier).collect();
            match name.as_slice() {
                [n] if n == "envoy_on_request" => {
                    handlers.push((Phase::Request, f, declared_after(i)));
                    continue;
                }
                [n] if n == "envoy_on_response" => {
                    handlers.push((Phase::Response, f, declared_after(i)));
                    continue;
                }
                _ => {}
            }
        }
        load_time(stmt, &mut globals, &declared_after(i), &mut reading, source);
    }
    if let Some(last) = ast.nodes().last_stmt() {
        refuse(
            &mut reading,
            last,
            source,
            no("a `return` at the top of the script", KEEP_LUA),
        );
    }
    let mut effects = Vec::new();
    for (phase, f, hidden) in &handlers {
        let mut eval = Eval::new(source, *phase, &globals);
        eval.hidden = hidden.clone();
        if let Some(ast::Parameter::Name(handle)) = f.body().parameters().iter().next() {
            eval.bind(identifier(handle).unwrap_or_default(), Val::Handle);
        }
        eval.block(f.body().block());
        reading.unconverted.extend(eval.refusals);
        reading.notes.extend(eval.notes);
        reading.reads.extend(&eval.reads);
        reading
            .branches
            .extend(eval.branches.into_iter().map(|b| (*phase, b)));
        effects.extend(eval.effects);
    }
    reading.notes.dedup();
    if !reading.unconverted.is_empty() {
        return Ok(reading);
    }
    effects::map(&effects, &mut reading);
    let response_logs = reading
        .response
        .iter()
        .filter(|s| matches!(s, Step::ResponseLog(_)))
        .count();
    if response_logs > 1 {
        let (line, column, code) = effects
            .iter()
            .find(|e| e.phase == Phase::Response && matches!(e.kind, effects::Kind::Log { .. }))
            .map(|e| (e.line, e.column, e.code.clone()))
            .unwrap_or_default();
        reading.unconverted.push(Unconverted {
            line,
            column,
            code,
            why: format!(
                "{response_logs} log lines in envoy_on_response: path-logger writes one response line"
            ),
            instead: refusals::RESPONSE_LOG.into(),
        });
    }
    if reading.unconverted.is_empty() && reading.request.is_empty() && reading.response.is_empty() {
        let (line, column, code) = handlers
            .first()
            .map(|(_, f, _)| {
                let (l, c) = position(*f);
                (l, c, code_of(*f, source))
            })
            .unwrap_or((1, 1, String::new()));
        reading.unconverted.push(Unconverted {
            line,
            column,
            code,
            why: "the script does nothing a plugin would do (an empty envoy_on_request / envoy_on_response, or conditions that never hold)".into(),
            instead: "nothing to migrate: delete the EnvoyFilter".into(),
        });
    }
    Ok(reading)
}
