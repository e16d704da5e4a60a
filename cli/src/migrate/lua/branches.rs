//! `if` / `elseif` / `else`: each arm a path under its own condition; the paths that go on
//! join, their locals merged (a [`Val::Choice`] where they differ, names collected in either
//! arm kept together).

use super::eval::{Eval, Scope};
use super::refusals;
use super::values::{no, Cond, Val};
use full_moon::ast::{self, Expression};

impl Eval<'_> {
    /// `if A then X elseif B then Y else Z end`: X under A, Y under `not A and B`, Z under
    /// `not A and not B`, each a path; control goes on under the paths that did not end.
    pub fn if_chain(&mut self, branch: &ast::If) {
        let mut arms: Vec<(Option<&Expression>, &ast::Block)> =
            vec![(Some(branch.condition()), branch.block())];
        for arm in branch.else_if().into_iter().flatten() {
            arms.push((Some(arm.condition()), arm.block()));
        }
        let has_else = branch.else_block().is_some();
        if let Some(block) = branch.else_block() {
            arms.push((None, block));
        }
        let mut entry = self.pc.clone();
        let before = self.scopes.clone();
        let mut rest = Cond::Const(true);
        // (local condition, fell through unchanged, fallthrough pc, scopes after)
        let mut outcomes: Vec<(Cond, bool, Cond, Vec<Scope>)> = Vec::new();
        for (condition, block) in arms {
            self.pc = Cond::and(entry.clone(), rest.clone());
            let since = self.ended.len();
            let tested = condition.map(|c| {
                let saved = self.anchor_at(c);
                let own = self.cond(c);
                self.anchor = saved;
                (c, own)
            });
            // Where testing the condition raised, the script ended: no arm runs there.
            entry = self.resume(entry, since);
            let own = match tested {
                None => Cond::Const(true),
                Some((_, Ok(own))) => own,
                Some((c, Err(why))) => {
                    let why = self.at(c, why);
                    self.refuse(c, why);
                    self.pc = entry;
                    self.scopes = before;
                    return;
                }
            };
            let local = Cond::and(rest.clone(), own.clone());
            let arm_entry = Cond::and(entry.clone(), local.clone());
            self.branches.push(arm_entry.clone());
            self.pc = arm_entry.clone();
            self.scopes = before.clone();
            self.block(block);
            let through = self.pc == arm_entry;
            outcomes.push((local, through, self.pc.clone(), self.scopes.clone()));
            rest = Cond::and(rest, Cond::not(own));
        }
        if !has_else {
            outcomes.push((
                rest.clone(),
                true,
                Cond::and(entry.clone(), rest),
                before.clone(),
            ));
        }
        let all_through = outcomes.iter().all(|(_, through, _, _)| *through);
        let whole = outcomes
            .iter()
            .all(|(_, through, pc, _)| *through || *pc == Cond::Const(false));
        self.pc = if all_through {
            entry
        } else if whole {
            let ended = outcomes
                .iter()
                .filter(|(_, through, _, _)| !through)
                .fold(Cond::Const(false), |acc, (local, _, _, _)| {
                    Cond::or(acc, local.clone())
                });
            Cond::and(entry, Cond::not(ended))
        } else {
            outcomes
                .iter()
                .fold(Cond::Const(false), |acc, (_, _, pc, _)| {
                    Cond::or(acc, pc.clone())
                })
        };
        // The locals after the `if`: the arms that go on, each with its own values.
        let live: Vec<&(Cond, bool, Cond, Vec<Scope>)> = outcomes
            .iter()
            .filter(|(_, _, pc, _)| *pc != Cond::Const(false))
            .collect();
        let mut merged = before;
        for (depth, scope) in merged.iter_mut().enumerate() {
            for (name, value) in scope.iter_mut() {
                let versions: Vec<(Cond, Val)> = live
                    .iter()
                    .filter_map(|(local, _, _, scopes)| {
                        scopes
                            .get(depth)?
                            .get(name)
                            .map(|v| (local.clone(), v.clone()))
                    })
                    .collect();
                let same = versions.windows(2).all(|w| match (w.first(), w.get(1)) {
                    (Some(a), Some(b)) => format!("{:?}", a.1) == format!("{:?}", b.1),
                    _ => true,
                });
                // Names collected in some arms: each was collected under its own condition.
                let collected = versions.iter().all(|(_, v)| {
                    matches!(v, Val::Names(_)) || matches!(v, Val::Table(t) if t.is_empty())
                });
                if !same && collected {
                    *value = Val::Names(
                        versions
                            .iter()
                            .flat_map(|(_, v)| match v {
                                Val::Names(guards) => guards.clone(),
                                _ => Vec::new(),
                            })
                            .collect(),
                    );
                    continue;
                }
                *value = match (same, versions.first()) {
                    (true, Some((_, v))) => v.clone(),
                    (false, _) => Val::Choice(versions),
                    (true, None) => value.clone(),
                };
            }
        }
        // Globals first set inside an arm: set on every path that goes on, each path's value;
        // set on some only, the others hold what an earlier request left on the worker.
        let mut first_set: Vec<String> = live
            .iter()
            .filter_map(|(_, _, _, scopes)| scopes.first())
            .flat_map(|scope| scope.keys().cloned())
            .filter(|name| merged.first().is_some_and(|m| !m.contains_key(name)))
            .collect();
        first_set.sort();
        first_set.dedup();
        for name in first_set {
            let versions: Vec<(Cond, Option<Val>)> = live
                .iter()
                .map(|(local, _, _, scopes)| {
                    (
                        local.clone(),
                        scopes.first().and_then(|s| s.get(&name)).cloned(),
                    )
                })
                .collect();
            let value = match versions.iter().all(|(_, v)| v.is_some()) {
                true => Val::Choice(
                    versions
                        .into_iter()
                        .filter_map(|(c, v)| v.map(|v| (c, v)))
                        .collect(),
                ),
                false => Val::Unknown(no(
                    format!("`{name}` is a global set on some paths only: on the others it holds what an earlier request left on this worker"),
                    refusals::STATE,
                )),
            };
            if let Some(first) = merged.first_mut() {
                first.insert(name, value);
            }
        }
        self.scopes = merged;
    }
}
