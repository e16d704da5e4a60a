//! Binary operators: `and` / `or` (values chosen by a condition, `%REQ(a?b)%`, a default of
//! `""`), `==` / `~=`, `..`, and the orderings on constants.

use super::eval::Eval;
use super::refusals;
use super::syntax::is_nil;
use super::values::{no, Cond, Read, Transform, Val};
use full_moon::ast::{BinOp, Expression};
use std::collections::BTreeSet;

impl Eval<'_> {
    pub fn binary(
        &mut self,
        e: &Expression,
        lhs: &Expression,
        binop: &BinOp,
        rhs: &Expression,
    ) -> Val {
        match binop {
            BinOp::And(_) => {
                let a = self.expr(lhs);
                let Ok(ca) = self.truth(&a) else {
                    return self.unknown(e, a);
                };
                let (saved, since) = (self.pc.clone(), self.ended.len());
                self.pc = Cond::and(saved.clone(), ca.clone());
                let b = self.expr(rhs);
                self.pc = self.resume(saved, since);
                match (a, b) {
                    (Val::Cond(_) | Val::Bool(_), b @ (Val::Cond(_) | Val::Bool(_))) => {
                        match self.truth(&b) {
                            Ok(cb) => Val::Cond(Cond::and(ca, cb)),
                            Err(why) => Val::Unknown(self.at(e, why)),
                        }
                    }
                    (a, b) => Val::Choice(vec![(ca.clone(), b), (Cond::not(ca), falsy(&a))]),
                }
            }
            BinOp::Or(_) => {
                let a = self.expr(lhs);
                let saved = self.pc.clone();
                // `metadata():get(k) or ""`: the plugin renders a missing key empty.
                if let Val::Read(r) = &a {
                    if r.metadata.is_some() && r.transform == Transform::None {
                        return match self.expr(rhs) {
                            Val::Str(s) if s.is_empty() => Val::Read(Box::new(Read {
                                metadata: None,
                                ..*r.clone()
                            })),
                            _ => Val::Unknown(self.at(
                                e,
                                no(
                                    format!("`{} or ...` with a default other than \"\"", r.what),
                                    refusals::METADATA_CONDITION,
                                ),
                            )),
                        };
                    }
                }
                let Ok(ca) = self.truth(&a) else {
                    return self.unknown(e, a);
                };
                let since = self.ended.len();
                self.pc = Cond::and(saved.clone(), Cond::not(ca.clone()));
                let b = self.expr(rhs);
                self.pc = self.resume(saved, since);
                match (a, b) {
                    (Val::Read(r), Val::Str(s))
                        if s.is_empty()
                            && r.transform == Transform::None
                            && r.template.is_some() =>
                    {
                        Val::Read(Box::new(Read {
                            nil_unless: Vec::new(),
                            header: None,
                            ..*r
                        }))
                    }
                    (Val::Read(r), Val::Read(o))
                        if r.transform == Transform::None
                            && o.transform == Transform::None
                            && r.nil_unless.len() == 1
                            && r.header.is_some()
                            && o.header.is_some()
                            && o.reads.len() == 1 =>
                    {
                        let (x, y) = (
                            r.header.clone().unwrap_or_default(),
                            o.header.clone().unwrap_or_default(),
                        );
                        if x.starts_with(':') || y.starts_with(':') {
                            return Val::Choice(vec![
                                (ca.clone(), Val::Read(r)),
                                (Cond::not(ca), Val::Read(o)),
                            ]);
                        }
                        let command = super::templates::header_command(self.phase);
                        Val::Read(Box::new(Read {
                            header: None,
                            template: Some(format!("%{command}({x}?{y})%")),
                            reads: BTreeSet::from([x.clone(), y.clone()]),
                            nil_unless: o.nil_unless.clone(),
                            metadata: None,
                            transform: Transform::None,
                            what: format!("{} or {}", r.what, o.what),
                        }))
                    }
                    (a @ (Val::Cond(_) | Val::Bool(_)), b @ (Val::Cond(_) | Val::Bool(_))) => {
                        let (Ok(x), Ok(y)) = (self.truth(&a), self.truth(&b)) else {
                            return self.unknown(e, b);
                        };
                        Val::Cond(Cond::or(x, y))
                    }
                    (a, b) => Val::Choice(vec![(ca.clone(), a), (Cond::not(ca), b)]),
                }
            }
            BinOp::TwoEqual(_) | BinOp::TildeEqual(_) => {
                let equal = matches!(binop, BinOp::TwoEqual(_));
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                let (a, b) = if is_nil(lhs) { (b, a) } else { (a, b) };
                match self.compare(&a, &b) {
                    Ok(c) if equal => Val::Cond(c),
                    Ok(c) => Val::Cond(Cond::not(c)),
                    Err(why) => Val::Unknown(self.at(e, why)),
                }
            }
            BinOp::TwoDots(_) => {
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                self.concat(e, a, b)
            }
            BinOp::GreaterThan(_)
            | BinOp::GreaterThanEqual(_)
            | BinOp::LessThan(_)
            | BinOp::LessThanEqual(_) => {
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                match (&a, &b) {
                    (Val::Num(x), Val::Num(y)) => Val::Bool(match binop {
                        BinOp::GreaterThan(_) => x > y,
                        BinOp::GreaterThanEqual(_) => x >= y,
                        BinOp::LessThan(_) => x < y,
                        _ => x <= y,
                    }),
                    (Val::Read(r), Val::Num(n))
                        if r.transform == Transform::Len
                            && *n == 0.0
                            && matches!(binop, BinOp::GreaterThan(_)) =>
                    {
                        match self.compare(&a, &Val::Num(0.0)) {
                            Ok(c) => Val::Cond(Cond::not(c)),
                            Err(why) => Val::Unknown(self.at(e, why)),
                        }
                    }
                    _ => Val::Unknown(self.at(
                        e,
                        no(
                            "an ordering of request values (`<`, `>`): no condition orders values",
                            "a lua_pattern test, or keep Lua",
                        ),
                    )),
                }
            }
            _ => Val::Unknown(self.at(
                e,
                no(
                    "arithmetic on values",
                    "arithmetic on request values has no Moonshift equivalent: keep Lua",
                ),
            )),
        }
    }
}

/// The falsy value `a and b` gives when `a` is falsy.
fn falsy(a: &Val) -> Val {
    match a {
        Val::Cond(_) | Val::Bool(_) => Val::Bool(false),
        _ => Val::Nil,
    }
}
