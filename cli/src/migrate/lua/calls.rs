//! Calls of the script's own functions, inlined (no recursion), and `table.insert` of a
//! header name into a list of names.

use super::eval::{Eval, Scope};
use super::refusals::KEEP_LUA;
use super::syntax::identifier;
use super::values::{no, Cond, Function, Val};
use full_moon::ast::{self, Expression, Var};
use full_moon::node::Node;

impl Eval<'_> {
    /// `table.insert(names, name)` with a header name from `pairs(headers)`: `names` collects
    /// it under the current condition. False when `call` is not that.
    pub fn table_insert(&mut self, call: &ast::FunctionCall) -> bool {
        let ast::Prefix::Name(root) = call.prefix() else {
            return false;
        };
        let suffixes: Vec<&ast::Suffix> = call.suffixes().collect();
        let [ast::Suffix::Index(ast::Index::Dot { name, .. }), ast::Suffix::Call(ast::Call::AnonymousCall(ast::FunctionArgs::Parentheses {
            arguments,
            ..
        }))] = suffixes.as_slice()
        else {
            return false;
        };
        if identifier(root).as_deref() != Some("table")
            || identifier(name).as_deref() != Some("insert")
        {
            return false;
        }
        let args: Vec<&Expression> = arguments.iter().collect();
        let [Expression::Var(Var::Name(list)), item] = args.as_slice() else {
            return false;
        };
        let list = identifier(list).unwrap_or_default();
        // A module-level table keeps what it collects between requests: not this idiom.
        if !self.scopes.iter().any(|scope| scope.contains_key(&list)) {
            return false;
        }
        let item = self.expr(item);
        let is_name =
            matches!(&item, Val::Read(r) if r.header.as_deref() == Some(super::values::NAME_VAR));
        let collected = match (self.lookup(&list), is_name) {
            (Val::Table(t), true) if t.is_empty() => vec![self.pc.clone()],
            (Val::Names(mut guards), true) => {
                guards.push(self.pc.clone());
                guards
            }
            _ => return false,
        };
        self.assign(&list, Val::Names(collected));
        true
    }

    /// Inlines `f` with `args`; the value it returns (a choice when it returns under
    /// conditions).
    pub fn inline(&mut self, node: &impl Node, f: &Function, args: Vec<Val>) -> Val {
        if self.calls.contains(&f.name) {
            return Val::Unknown(self.at(
                node,
                no(format!("a recursive call of {}", f.name), KEEP_LUA),
            ));
        }
        if self.calls.len() > 32 {
            return Val::Unknown(self.at(node, no("calls nested more than 32 deep", KEEP_LUA)));
        }
        let saved = std::mem::replace(&mut self.scopes, f.env.clone());
        let hidden = std::mem::replace(&mut self.hidden, f.hidden.clone());
        let entry = self.pc.clone();
        let ended = self.ended.len();
        let mut params = Scope::new();
        let mut args = args.into_iter();
        for p in f.body.parameters().iter() {
            if let ast::Parameter::Name(token) = p {
                params.insert(
                    identifier(token).unwrap_or_default(),
                    super::eval::kept(args.next().unwrap_or(Val::Nil)),
                );
            }
        }
        self.scopes.push(params);
        self.calls.push(f.name.clone());
        self.returns.push(Vec::new());
        self.block(f.body.block());
        let mut returned = self.returns.pop().unwrap_or_default();
        self.calls.pop();
        if self.pc != Cond::Const(false) {
            returned.push((self.pc.clone(), Val::Nil));
        }
        self.scopes = saved;
        self.hidden = hidden;
        // The caller goes on, unless the helper replied or raised.
        self.pc = self.resume(entry, ended);
        match returned.as_slice() {
            [(_, one)] => one.clone(),
            _ => Val::Choice(returned),
        }
    }
}
