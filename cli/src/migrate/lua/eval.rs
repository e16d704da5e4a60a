//! The symbolic evaluation: statements run over every path at once. `pc` is the condition
//! under which control is here; an `if` runs each arm under its own condition and joins them
//! (locals that differ become a [`Val::Choice`]); an early `return` (and a `respond`) ends its
//! path, so what follows runs under its negation.

use super::effects::Effect;
use super::refusals::{self, KEEP_LUA};
use super::syntax::{code_of, identifier, position, MAX_DEPTH};
use super::values::{no, Cond, Function, No, Val};
use super::{Reads, Unconverted};
use full_moon::ast::{self, LastStmt, Stmt, Var};
use full_moon::node::Node;
use moonshift_shared::template::Phase;
use std::collections::HashMap;
use std::rc::Rc;

pub type Scope = HashMap<String, Val>;

pub struct Eval<'a> {
    pub source: &'a str,
    pub phase: Phase,
    /// The condition under which control reaches the statement being evaluated.
    pub pc: Cond,
    pub scopes: Vec<Scope>,
    pub globals: &'a Scope,
    pub effects: Vec<Effect>,
    pub refusals: Vec<Unconverted>,
    pub notes: Vec<String>,
    pub reads: Reads,
    /// Every `if` arm's condition, for the branch count.
    pub branches: Vec<Cond>,
    /// The conditions under which the script ended (a `respond`, a `return` in the handler).
    pub ended: Vec<Cond>,
    pub depth: usize,
    /// The functions being inlined (a call to one of them is recursion).
    pub calls: Vec<String>,
    /// The values the inlined functions return, each under its condition.
    pub returns: Vec<Vec<(Cond, Val)>>,
    /// Inside a `pairs(headers)` loop over this header map.
    pub iterating: bool,
    /// The statement (or `if` condition) being evaluated: where its refusals and effects are.
    pub anchor: Option<(usize, usize, String)>,
    /// Module-level locals declared after the code being evaluated (unset globals there).
    pub hidden: std::collections::BTreeSet<String>,
}

impl<'a> Eval<'a> {
    pub fn new(source: &'a str, phase: Phase, globals: &'a Scope) -> Self {
        Eval {
            source,
            phase,
            pc: Cond::Const(true),
            scopes: vec![Scope::new()],
            globals,
            effects: Vec::new(),
            refusals: Vec::new(),
            notes: Vec::new(),
            reads: Reads::default(),
            branches: Vec::new(),
            ended: Vec::new(),
            depth: 0,
            calls: Vec::new(),
            returns: Vec::new(),
            iterating: false,
            anchor: None,
            hidden: Default::default(),
        }
    }

    pub fn refuse(&mut self, node: &impl Node, why: No) {
        let (line, column, code) = match why.at.clone() {
            Some(at) => at,
            None => {
                let (line, column) = position(node);
                (line, column, code_of(node, self.source))
            }
        };
        if self
            .refusals
            .iter()
            .any(|r| r.line == line && r.column == column)
        {
            return;
        }
        self.refusals.push(Unconverted {
            line,
            column,
            code,
            why: why.why,
            instead: why.instead,
        });
    }

    /// `No` located at `node`.
    pub fn at(&self, node: &impl Node, mut why: No) -> No {
        if why.at.is_none() {
            why.at = Some(self.anchor.clone().unwrap_or_else(|| {
                let (line, column) = position(node);
                (line, column, code_of(node, self.source))
            }));
        }
        why
    }

    pub fn lookup(&self, name: &str) -> Val {
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.get(name) {
                return v.clone();
            }
        }
        if let Some(v) = self
            .globals
            .get(name)
            .filter(|_| !self.hidden.contains(name))
        {
            return v.clone();
        }
        match name {
            "string" | "table" | "os" | "math" | "tostring" | "tonumber" | "type" | "pairs"
            | "ipairs" | "next" | "select" | "require" | "print" | "pcall" | "error" | "io"
            | "loadfile" | "dofile" | "unpack" => Val::Builtin(name.to_string()),
            _ => Val::Unknown(no(
                format!("`{name}` is a global this script does not set before reading it: it holds what an earlier request left on this worker, or nil"),
                refusals::STATE,
            )),
        }
    }

    pub fn assign(&mut self, name: &str, value: Val) {
        let value = kept(value);
        for scope in self.scopes.iter_mut().rev() {
            if let Some(slot) = scope.get_mut(name) {
                *slot = value;
                return;
            }
        }
        // A global set in the handler: one invocation's value, as long as it is set before
        // it is read (a read before is refused by `lookup`).
        if let Some(first) = self.scopes.first_mut() {
            first.insert(name.to_string(), value);
        }
    }

    pub fn bind(&mut self, name: String, value: Val) {
        let value = kept(value);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, value);
        }
    }

    /// Runs `block` in a scope of its own; `self.pc` is then the condition for falling out.
    pub fn block(&mut self, block: &ast::Block) {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.refuse(
                block,
                no(
                    format!("blocks nested more than {MAX_DEPTH} deep"),
                    KEEP_LUA,
                ),
            );
            self.depth -= 1;
            return;
        }
        self.scopes.push(Scope::new());
        for stmt in block.stmts() {
            if self.pc == Cond::Const(false) {
                break;
            }
            self.stmt(stmt);
        }
        match block.last_stmt() {
            None => {}
            Some(LastStmt::Return(r)) => {
                let saved = self.anchor_at(r);
                let value = match r.returns().iter().next() {
                    Some(e) => self.expr(e),
                    None => Val::Nil,
                };
                match self.returns.last_mut() {
                    Some(frame) => frame.push((self.pc.clone(), value)),
                    None => self.ended.push(self.pc.clone()),
                }
                self.pc = Cond::Const(false);
                self.anchor = saved;
            }
            Some(other) => self.refuse(
                other,
                no("a `break` (loops are not followed)", refusals::LOOP),
            ),
        }
        self.scopes.pop();
        self.depth -= 1;
    }

    pub fn anchor_at(&mut self, node: &impl Node) -> Option<(usize, usize, String)> {
        let (line, column) = position(node);
        self.anchor
            .replace((line, column, code_of(node, self.source)))
    }

    fn stmt(&mut self, stmt: &Stmt) {
        let saved = match stmt {
            Stmt::If(_) | Stmt::Do(_) | Stmt::GenericFor(_) => self.anchor.clone(),
            _ => self.anchor_at(stmt),
        };
        self.stmt_inner(stmt);
        self.anchor = saved;
    }

    fn stmt_inner(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::LocalAssignment(local) => {
                let names: Vec<String> = local.names().iter().filter_map(identifier).collect();
                let mut values: Vec<Val> =
                    local.expressions().iter().map(|e| self.expr(e)).collect();
                values.resize(names.len(), Val::Nil);
                // A value the evaluation cannot follow is refused where it is made.
                if let Some(Val::Unknown(why)) =
                    values.iter().find(|v| matches!(v, Val::Unknown(_)))
                {
                    let why = self.at(local, why.clone());
                    self.refuse(local, why);
                }
                for (name, value) in names.into_iter().zip(values) {
                    self.bind(name, value);
                }
            }
            Stmt::Assignment(assign) => {
                let values: Vec<Val> = assign.expressions().iter().map(|e| self.expr(e)).collect();
                for (i, var) in assign.variables().iter().enumerate() {
                    let value = values.get(i).cloned().unwrap_or(Val::Nil);
                    match var {
                        Var::Name(token) => {
                            let name = identifier(token).unwrap_or_default();
                            let local = self.scopes.iter().any(|s| s.contains_key(&name));
                            if !local && self.globals.contains_key(&name) {
                                self.refuse(assign, no(format!("assigns the module-level `{name}`, which keeps its value between requests on a worker"), refusals::STATE));
                                continue;
                            }
                            self.assign(&name, value);
                        }
                        _ => self.refuse(var, no("an assignment into a table field", KEEP_LUA)),
                    }
                }
            }
            Stmt::LocalFunction(f) => {
                let name = identifier(f.name()).unwrap_or_default();
                let function = Function {
                    name: name.clone(),
                    body: f.body().clone(),
                    env: self.scopes.clone(),
                    hidden: self.hidden.clone(),
                };
                self.bind(name, Val::Func(Rc::new(function)));
            }
            Stmt::FunctionDeclaration(f) => {
                let name: Vec<String> = f.name().names().iter().filter_map(identifier).collect();
                match name.as_slice() {
                    [one] => {
                        let function = Function {
                            name: one.clone(),
                            body: f.body().clone(),
                            env: self.scopes.clone(),
                            hidden: self.hidden.clone(),
                        };
                        self.assign(one, Val::Func(Rc::new(function)));
                    }
                    _ => self.refuse(
                        f,
                        no("a function stored into a table inside a handler", KEEP_LUA),
                    ),
                }
            }
            Stmt::FunctionCall(call) if self.table_insert(call) => {}
            Stmt::FunctionCall(call) => {
                let value = self.call(call);
                if let Val::Unknown(why) = value {
                    let why = self.at(call, why);
                    self.refuse(call, why);
                }
            }
            Stmt::If(branch) => self.if_chain(branch),
            Stmt::Do(d) => self.block(d.block()),
            Stmt::GenericFor(f) => self.generic_for(f),
            Stmt::NumericFor(f) => self.refuse(f, no("a numeric `for` loop", refusals::LOOP)),
            Stmt::While(w) => self.refuse(w, no("a `while` loop", refusals::LOOP)),
            Stmt::Repeat(r) => self.refuse(r, no("a `repeat` loop", refusals::LOOP)),
            other => self.refuse(
                other,
                no("a statement the evaluation does not follow", KEEP_LUA),
            ),
        }
    }
}

/// A value as a variable keeps it. A gmatch iterator is followed only where it is called at
/// once (`s:gmatch(p)()`): kept, each call would give the next match.
pub fn kept(value: Val) -> Val {
    match value {
        Val::FirstMatch(_) => Val::Unknown(no(
            "a gmatch iterator kept in a variable (each call gives the next match)",
            refusals::CAPTURE,
        )),
        other => other,
    }
}
