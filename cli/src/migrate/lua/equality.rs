//! `a == b` over request values: header tests (`exact`, a case-insensitive `lua_pattern` for
//! `lower()`/`upper()`, `prefix`/`suffix` for `sub` with constant bounds, `find(...) == 1`,
//! lengths), methods, statuses, and constants.

use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::values::{metadata_test, no, Cond, No, Read, Transform, Val};
use serde_json::json;

/// `text` as a Lua pattern that matches it exactly (magic characters escaped); `ci`: either case.
fn literal_pattern(text: &str, ci: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '^' | '$' | '(' | ')' | '%' | '.' | '[' | ']' | '*' | '+' | '-' | '?' => {
                out.push('%');
                out.push(c);
            }
            c if ci && c.is_ascii_alphabetic() => {
                out.push('[');
                out.push(c.to_ascii_lowercase());
                out.push(c.to_ascii_uppercase());
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

impl Eval<'_> {
    /// `a == b`.
    pub fn compare(&mut self, a: &Val, b: &Val) -> Result<Cond, No> {
        match (a, b) {
            (Val::Read(r), Val::Nil) => Ok(Cond::not(self.read_truth(r)?)),
            (Val::Nil, Val::Nil) => Ok(Cond::Const(true)),
            (Val::Read(r), other) | (other, Val::Read(r)) if other.as_str().is_some() => {
                let lit = other.as_str().unwrap_or_default();
                self.compare_read(r, &lit, matches!(other, Val::Num(_)))
            }
            (Val::Choice(list), other) | (other, Val::Choice(list)) => {
                let mut out = Cond::Const(false);
                for (c, v) in list.clone() {
                    out = Cond::or(out, Cond::and(c, self.compare(&v, other)?));
                }
                Ok(out)
            }
            (Val::Nil, x) | (x, Val::Nil) if x.truthy() == Some(true) => Ok(Cond::Const(false)),
            (Val::Bool(x), Val::Bool(y)) => Ok(Cond::Const(x == y)),
            (Val::Cond(c), Val::Bool(b)) | (Val::Bool(b), Val::Cond(c)) => {
                Ok(if *b { c.clone() } else { Cond::not(c.clone()) })
            }
            (x, y) if x.as_str().is_some() && y.as_str().is_some() => Ok(Cond::Const(
                x.as_str() == y.as_str() && matches!(x, Val::Num(_)) == matches!(y, Val::Num(_)),
            )),
            (Val::Unknown(why), _) | (_, Val::Unknown(why)) => Err(why.clone()),
            _ => Err(no(
                "a comparison of values the evaluation does not follow",
                KEEP_LUA,
            )),
        }
    }

    fn compare_read(&mut self, r: &Read, lit: &str, numeric: bool) -> Result<Cond, No> {
        if let Some(key) = &r.metadata {
            // `metadata:get(k) == "v"`: a string test of the value (a number never equals it).
            return match (&r.transform, numeric) {
                (Transform::None, false) => {
                    self.reads.metadata_tested.insert(key.clone());
                    self.reads
                        .metadata_values
                        .insert((key.clone(), lit.to_string()));
                    Ok(Cond::Atom(metadata_test(key, json!({"exact": lit}))))
                }
                _ => Err(no(
                    format!(
                        "a comparison of `{}` with a number or after a string function",
                        r.what
                    ),
                    refusals::METADATA_CONDITION,
                )),
            };
        }
        if let Some(key) = super::implied::metadata_key(r).filter(|_| r.metadata.is_none()) {
            // `(metadata:get(k) or "") == "v"`: nil and false read as "", a number never
            // equals a string.
            if numeric {
                return Err(no(
                    format!("a comparison of `{}` with a number", r.what),
                    refusals::METADATA_CONDITION,
                ));
            }
            self.reads.metadata_tested.insert(key.clone());
            self.reads
                .metadata_values
                .insert((key.clone(), lit.to_string()));
            let exact = Cond::Atom(metadata_test(&key, json!({"exact": lit})));
            return Ok(match lit.is_empty() {
                true => Cond::or(
                    Cond::not(Cond::Atom(metadata_test(&key, json!({"present": true})))),
                    exact,
                ),
                false => exact,
            });
        }
        let Some(name) = r.header.clone() else {
            return Err(no(
                format!("a comparison of {}, which no condition tests", r.what),
                KEEP_LUA,
            ));
        };
        if numeric && !matches!(r.transform, Transform::Len | Transform::Find { .. }) {
            return Ok(Cond::Const(false));
        }
        match &r.transform {
            Transform::None => self.test(&name, json!({"exact": lit})),
            Transform::Lower | Transform::Upper => {
                let fits = match r.transform {
                    Transform::Lower => lit == lit.to_ascii_lowercase(),
                    _ => lit == lit.to_ascii_uppercase(),
                };
                if !fits {
                    return Ok(Cond::Const(false));
                }
                self.raises_unless_present(r, "a case change of")?;
                let pattern = format!("^{}$", literal_pattern(lit, true));
                self.test(&name, json!({"lua_pattern": pattern}))
            }
            Transform::Sub(1, n) if *n > 0 => {
                self.raises_unless_present(r, "a `sub` of")?;
                let n = usize::try_from(*n).unwrap_or(usize::MAX);
                match lit.len() {
                    l if l == n => self.test(&name, json!({"prefix": lit})),
                    l if l < n => self.test(&name, json!({"exact": lit})),
                    _ => Ok(Cond::Const(false)),
                }
            }
            Transform::Sub(i, -1) if *i < 0 => {
                self.raises_unless_present(r, "a `sub` of")?;
                let n = usize::try_from(-*i).unwrap_or(usize::MAX);
                match lit.len() {
                    l if l == n => self.test(&name, json!({"suffix": lit})),
                    l if l < n => self.test(&name, json!({"exact": lit})),
                    _ => Ok(Cond::Const(false)),
                }
            }
            Transform::Len => {
                self.raises_unless_present(r, "the length of")?;
                match lit {
                    "0" => self.test(&name, json!({"exact": ""})),
                    n => {
                        let dots = n
                            .parse::<usize>()
                            .ok()
                            .filter(|n| *n <= 64)
                            .ok_or_else(|| no("a length compared with a large number", KEEP_LUA))?;
                        self.test(
                            &name,
                            json!({"lua_pattern": format!("^{}$", ".".repeat(dots))}),
                        )
                    }
                }
            }
            Transform::Find {
                pattern,
                plain,
                capture: false,
            } if numeric && lit == "1" => {
                self.raises_unless_present(r, "a search in")?;
                match (plain, pattern.starts_with('^')) {
                    (true, _) => self.test(&name, json!({"prefix": pattern})),
                    (false, true) => self.test(&name, json!({"lua_pattern": pattern})),
                    (false, false) => {
                        self.test(&name, json!({"lua_pattern": format!("^{pattern}")}))
                    }
                }
            }
            _ => Err(no(
                format!("a comparison of {} with a constant", r.what),
                KEEP_LUA,
            )),
        }
    }
}
