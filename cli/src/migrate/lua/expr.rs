//! Expressions: names, literals, `..`, `and` / `or` / `not`, comparisons, tables and calls
//! (handle methods, header maps, helpers inlined, the string library).

use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::syntax::{identifier, string_literal, MAX_LITERAL};
use super::values::{no, number, Cond, Function, Read, Transform, Val};
use full_moon::ast::{
    self, Call, Expression, Field, FunctionArgs, Index, Prefix, Suffix, UnOp, Var,
};
use full_moon::tokenizer::{Symbol, TokenType};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

impl Eval<'_> {
    pub fn expr(&mut self, e: &Expression) -> Val {
        self.depth += 1;
        let value = if self.depth > super::syntax::MAX_DEPTH {
            Val::Unknown(self.at(
                e,
                no(
                    format!(
                        "an expression nested more than {} deep",
                        super::syntax::MAX_DEPTH
                    ),
                    KEEP_LUA,
                ),
            ))
        } else {
            self.expr_inner(e)
        };
        self.depth -= 1;
        value
    }

    fn expr_inner(&mut self, e: &Expression) -> Val {
        match e {
            Expression::String(token) => match string_literal(token) {
                Some(s) if s.len() > MAX_LITERAL => Val::Unknown(self.at(e, no(
                    format!("a literal of {} bytes: a header value or reply the plugin writes holds at most {MAX_LITERAL}", s.len()),
                    "serve a large body from the upstream, or Envoy's `direct_response`",
                ))),
                Some(s) => Val::Str(s),
                None => Val::Unknown(self.at(e, no("a string literal that is not UTF-8", KEEP_LUA))),
            },
            Expression::Number(token) => match token.token().to_string().parse::<f64>() {
                Ok(n) => Val::Num(n),
                Err(_) => Val::Unknown(self.at(e, no("a number in a form this reader does not read", KEEP_LUA))),
            },
            Expression::Symbol(token) => match token.token().token_type() {
                TokenType::Symbol { symbol: Symbol::True } => Val::Bool(true),
                TokenType::Symbol { symbol: Symbol::False } => Val::Bool(false),
                TokenType::Symbol { symbol: Symbol::Nil } => Val::Nil,
                _ => Val::Unknown(self.at(e, no("`...`", KEEP_LUA))),
            },
            Expression::Parentheses { expression, .. } => self.expr(expression),
            Expression::Var(Var::Name(token)) => self.lookup(&identifier(token).unwrap_or_default()),
            Expression::Var(Var::Expression(var)) => {
                let root = self.prefix(var.prefix());
                self.suffixes(root, var.suffixes())
            }
            Expression::FunctionCall(call) => self.call(call),
            Expression::Function(f) => Val::Func(Rc::new(Function {
                name: format!("function at line {}", super::syntax::position(e).0),
                body: f.body().clone(),
                env: self.scopes.clone(),
                hidden: self.hidden.clone(),
            })),
            Expression::TableConstructor(table) => {
                let mut out = BTreeMap::new();
                let mut i = 0;
                for field in table.fields() {
                    let (key, value) = match field {
                        Field::NameKey { key, value, .. } => (identifier(key), value),
                        Field::ExpressionKey { key, value, .. } => (self.expr(key).as_str(), value),
                        Field::NoKey(value) => {
                            i += 1;
                            (Some(i.to_string()), value)
                        }
                        _ => (None, e),
                    };
                    match key {
                        Some(key) => {
                            let v = self.expr(value);
                            out.insert(key, v);
                        }
                        None => return Val::Unknown(self.at(field, no("a table key that is not a literal", KEEP_LUA))),
                    }
                }
                Val::Table(out)
            }
            Expression::UnaryOperator { unop, expression } => {
                let value = self.expr(expression);
                match unop {
                    UnOp::Not(_) => match self.truth(&value) {
                        Ok(c) => Val::Cond(Cond::not(c)),
                        Err(why) => Val::Unknown(self.at(e, why)),
                    },
                    UnOp::Hash(_) => self.string_method(e, value, "len", Vec::new()),
                    UnOp::Minus(_) => match value {
                        Val::Num(n) => Val::Num(-n),
                        _ => Val::Unknown(self.at(e, no("arithmetic on values", KEEP_LUA))),
                    },
                    _ => Val::Unknown(self.at(e, no("arithmetic on values", KEEP_LUA))),
                }
            }
            Expression::BinaryOperator { lhs, binop, rhs } => self.binary(e, lhs, binop, rhs),
            _ => Val::Unknown(self.at(e, no("an expression this reader does not follow", KEEP_LUA))),
        }
    }

    pub fn unknown(&self, e: &Expression, v: Val) -> Val {
        match v {
            Val::Unknown(why) => Val::Unknown(self.at(e, why)),
            _ => Val::Unknown(self.at(
                e,
                no("a value whose truth the evaluation cannot tell", KEEP_LUA),
            )),
        }
    }

    /// The condition under which `value` is truthy.
    pub fn truth(&mut self, value: &Val) -> Result<Cond, super::values::No> {
        if let Some(b) = value.truthy() {
            return Ok(Cond::Const(b));
        }
        match value {
            Val::Cond(c) => Ok(c.clone()),
            Val::Read(r) => self.read_truth(r),
            Val::Choice(alternatives) => {
                // Each alternative's truth is taken where it is chosen (`v and v:match(p)`:
                // the search runs only when v is there).
                let (saved, since) = (self.pc.clone(), self.ended.len());
                let mut out = Cond::Const(false);
                for (c, v) in alternatives {
                    self.pc = Cond::and(saved.clone(), c.clone());
                    let truth = self.truth(v);
                    self.pc = self.resume(saved.clone(), since);
                    out = Cond::or(out, Cond::and(c.clone(), truth?));
                }
                Ok(out)
            }
            Val::Unknown(why) => Err(why.clone()),
            _ => Err(no(
                "a value whose truth the evaluation cannot tell",
                KEEP_LUA,
            )),
        }
    }

    pub fn cond(&mut self, e: &Expression) -> Result<Cond, super::values::No> {
        let value = self.expr(e);
        self.truth(&value)
    }

    /// `a .. b`: a template, when neither side can be nil where the script gets here.
    pub fn concat(&mut self, e: &Expression, a: Val, b: Val) -> Val {
        let mut template = String::new();
        let mut reads = BTreeSet::new();
        for side in [a, b] {
            match self.template(&side) {
                Ok((t, r)) => {
                    template.push_str(&t);
                    reads.extend(r);
                }
                Err(why) => return Val::Unknown(self.at(e, why)),
            }
        }
        Val::Read(Box::new(Read {
            header: None,
            template: Some(template),
            reads,
            nil_unless: Vec::new(),
            metadata: None,
            transform: Transform::None,
            what: "a concatenation".into(),
        }))
    }

    fn prefix(&mut self, prefix: &Prefix) -> Val {
        match prefix {
            Prefix::Name(token) => self.lookup(&identifier(token).unwrap_or_default()),
            Prefix::Expression(e) => self.expr(e),
            _ => Val::Unknown(no("a prefix this reader does not follow", KEEP_LUA)),
        }
    }

    pub fn call(&mut self, call: &ast::FunctionCall) -> Val {
        let root = self.prefix(call.prefix());
        self.suffixes(root, call.suffixes())
    }

    fn args(&mut self, args: &FunctionArgs) -> Vec<Val> {
        match args {
            FunctionArgs::Parentheses { arguments, .. } => {
                arguments.iter().map(|a| self.expr(a)).collect()
            }
            FunctionArgs::String(token) => vec![string_literal(token).map_or(
                Val::Unknown(no("a string that is not UTF-8", KEEP_LUA)),
                Val::Str,
            )],
            FunctionArgs::TableConstructor(t) => {
                vec![self.expr(&Expression::TableConstructor(t.clone()))]
            }
            _ => Vec::new(),
        }
    }

    fn suffixes<'s>(&mut self, mut value: Val, suffixes: impl Iterator<Item = &'s Suffix>) -> Val {
        for suffix in suffixes {
            value = match (value, suffix) {
                (Val::Unknown(why), _) => return Val::Unknown(why),
                (v, Suffix::Index(Index::Dot { name, .. })) => {
                    let field = identifier(name).unwrap_or_default();
                    self.field(suffix, v, &field)
                }
                (v, Suffix::Index(Index::Brackets { expression, .. })) => {
                    let key = self.expr(expression);
                    match key.as_str() {
                        Some(k) => self.field(suffix, v, &k),
                        None => Val::Unknown(
                            self.at(suffix, no("a table index that is not a constant", KEEP_LUA)),
                        ),
                    }
                }
                (v, Suffix::Call(Call::MethodCall(m))) => {
                    let args = self.args(m.args());
                    let method = identifier(m.name()).unwrap_or_default();
                    self.method(suffix, v, &method, args)
                }
                (v, Suffix::Call(Call::AnonymousCall(a))) => {
                    let args = self.args(a);
                    self.apply(suffix, v, args)
                }
                (_, _) => Val::Unknown(
                    self.at(suffix, no("a call this reader does not follow", KEEP_LUA)),
                ),
            };
        }
        value
    }

    fn field(&mut self, node: &impl full_moon::node::Node, v: Val, field: &str) -> Val {
        match v {
            Val::Table(t) => t.get(field).cloned().unwrap_or(Val::Nil),
            Val::Builtin(lib) => Val::Builtin(format!("{lib}.{field}")),
            _ => Val::Unknown(self.at(
                node,
                no(
                    format!("`.{field}` of a value that is not a table"),
                    KEEP_LUA,
                ),
            )),
        }
    }

    /// Calls the value `f`: a helper (inlined) or a library function.
    fn apply(&mut self, node: &impl full_moon::node::Node, f: Val, args: Vec<Val>) -> Val {
        match f {
            Val::Func(f) => self.inline(node, &f, args),
            Val::Builtin(name) => self.builtin(node, &name, args),
            Val::FirstMatch(first) if args.is_empty() => *first,
            _ => Val::Unknown(self.at(
                node,
                no("a call of something that is not a function", KEEP_LUA),
            )),
        }
    }

    fn builtin(
        &mut self,
        node: &impl full_moon::node::Node,
        name: &str,
        mut args: Vec<Val>,
    ) -> Val {
        if let Some(method) = name.strip_prefix("string.") {
            if args.is_empty() {
                return Val::Unknown(
                    self.at(node, no(format!("{name} without arguments"), KEEP_LUA)),
                );
            }
            let subject = args.remove(0);
            return self.string_method(node, subject, method, args);
        }
        match (name, args.as_slice()) {
            ("tostring", [v @ (Val::Str(_) | Val::Read(_))]) => v.clone(),
            ("tostring", [Val::Num(n)]) => Val::Str(number(*n)),
            ("os.date", [Val::Str(format)]) => self.os_date(node, format),
            ("table.insert", _) => Val::Unknown(self.at(
                node,
                no(
                    "table.insert other than of a header name from pairs() into a local list (a module-level table keeps its items between requests)",
                    refusals::LOOP,
                ),
            )),
            ("print", _) => Val::Unknown(self.at(
                node,
                no(
                    "print() writes to Envoy's stdout",
                    "a log line: handle:logInfo(...)",
                ),
            )),
            _ => Val::Unknown(self.at(node, no(format!("{name}()"), refusals::builtin(name)))),
        }
    }
}
