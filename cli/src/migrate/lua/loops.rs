//! Loops over header names: `for name in pairs(headers)` (the body runs for every name; a
//! removal inside raises in Envoy) and `for _, name in ipairs(names)` over names collected in
//! one; and `os.date`.

use super::eval::Eval;
use super::refusals;
use super::syntax::identifier;
use super::values::{no, Cond, Read, Transform, Val, NAME_VAR};
use full_moon::ast::{self, Expression};
use full_moon::node::Node;
use moonshift_shared::strftime::Format;
use std::collections::BTreeSet;

impl Eval<'_> {
    /// `for name in pairs(headers)`: the body runs once for every header name; `for _, name in
    /// ipairs(names)` over names collected in such a loop.
    pub fn generic_for(&mut self, f: &ast::GenericFor) {
        let names: Vec<String> = f.names().iter().filter_map(identifier).collect();
        let exprs: Vec<&Expression> = f.expressions().iter().collect();
        let Some(Expression::FunctionCall(call)) = exprs.first() else {
            return self.refuse(
                f,
                no(
                    "a `for` over something other than pairs()/ipairs()",
                    refusals::LOOP,
                ),
            );
        };
        let Val::Builtin(iter) = self.call_root(call) else {
            return self.refuse(
                f,
                no(
                    "a `for` over something other than pairs()/ipairs()",
                    refusals::LOOP,
                ),
            );
        };
        let collection = match call.suffixes().next() {
            Some(ast::Suffix::Call(ast::Call::AnonymousCall(ast::FunctionArgs::Parentheses {
                arguments,
                ..
            }))) => arguments.iter().next().map(|a| self.expr(a)),
            _ => None,
        };
        let (key, value) = (
            names.first().cloned().unwrap_or_default(),
            names.get(1).cloned(),
        );
        let name_read = |guard: Cond| {
            let mut r = Read::header(NAME_VAR, String::new(), false);
            r.template = None;
            r.what = "a header name from pairs()".into();
            (guard, Val::Read(Box::new(r)))
        };
        self.scopes.push(Default::default());
        let saved = self.pc.clone();
        let iterating = self.iterating;
        match (iter.as_str(), collection) {
            ("pairs", Some(Val::Headers)) => {
                let (_, name) = name_read(Cond::Const(true));
                self.bind(key, name);
                if let Some(v) = value {
                    self.bind(
                        v,
                        Val::Unknown(no("a header value from pairs()", refusals::LOOP)),
                    );
                }
                self.iterating = true;
            }
            ("pairs" | "ipairs", Some(Val::Names(guards))) => {
                let guard = guards.into_iter().fold(Cond::Const(false), Cond::or);
                self.pc = Cond::and(saved.clone(), guard);
                let (_, name) = name_read(Cond::Const(true));
                self.bind(value.unwrap_or(key), name);
            }
            _ => {
                self.scopes.pop();
                return self.refuse(f, no("a loop over something other than the header map or names collected from it", refusals::LOOP));
            }
        }
        let (effects, ended, inner_pc) = (self.effects.len(), self.ended.len(), self.pc.clone());
        self.block(f.block());
        // The body runs once per name: only removals by name (and names collected) are
        // expressed; anything else would run once in the plugin and N times in Lua.
        let once = self
            .effects
            .get(effects..)
            .unwrap_or_default()
            .iter()
            .any(|e| !matches!(e.kind, super::effects::Kind::RemoveNames));
        let ends =
            self.ended.len() != ended || (self.pc != inner_pc && self.pc != Cond::Const(true));
        if once || ends {
            self.effects.truncate(effects);
            self.ended.truncate(ended);
            let why = match once {
                true => "a loop body that logs, replies or changes headers once per header name",
                false => "a `return` or reply inside a loop over header names",
            };
            self.refuse(f, no(why, refusals::LOOP));
        }
        self.iterating = iterating;
        self.scopes.pop();
        self.pc = saved;
    }

    fn call_root(&mut self, call: &ast::FunctionCall) -> Val {
        match call.prefix() {
            ast::Prefix::Name(token) => self.lookup(&identifier(token).unwrap_or_default()),
            _ => Val::Nil,
        }
    }

    pub fn os_date(&mut self, node: &impl Node, format: &str) -> Val {
        match format
            .strip_prefix('!')
            .map(|utc| (utc, Format::parse(utc)))
        {
            Some((utc, Ok(_))) => Val::Read(Box::new(Read {
                header: None,
                template: Some(format!("%START_TIME({utc})%")),
                reads: BTreeSet::new(),
                nil_unless: Vec::new(),
                metadata: None,
                transform: Transform::None,
                what: "os.date".into(),
            })),
            Some((_, Err(e))) => Val::Unknown(self.at(
                node,
                no(
                    format!("os.date's format has {e:?}, outside the clock-only strftime subset"),
                    "a fixed format from timestamp-header's README",
                ),
            )),
            None => Val::Unknown(self.at(
                node,
                no(
                    "os.date without a `!` format renders local time",
                    "os.date(\"!...\"): UTC, which is what the plugin renders",
                ),
            )),
        }
    }
}
