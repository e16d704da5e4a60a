//! What the symbolic evaluation computes: values (constants, strings read from the request,
//! booleans over the request) and conditions, with their disjoint normal form (`when` lists).

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Why something has no translation, where, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct No {
    pub why: String,
    pub instead: String,
    /// Where the construct is (line, column, code), when it is not the statement reporting it.
    pub at: Option<(usize, usize, String)>,
}

pub fn no(why: impl Into<String>, instead: impl Into<String>) -> No {
    No {
        why: why.into(),
        instead: instead.into(),
        at: None,
    }
}

/// A value read from the request (or the response, or the route) and how it was changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The header (lowercase, pseudo-headers too), or `None` for a value conditions cannot test.
    pub header: Option<String>,
    /// The value as a template, `None` when no template renders it.
    pub template: Option<String>,
    /// Headers the value reads (to catch a read after a change).
    pub reads: BTreeSet<String>,
    /// Headers whose absence makes the value nil.
    pub nil_unless: Vec<String>,
    /// The route metadata key whose absence makes the value nil.
    pub metadata: Option<String>,
    /// A transform of the header's value: `lower`, `upper`, `sub(i, j)`, `len`, `find`.
    pub transform: Transform,
    /// What it is, for messages.
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    None,
    Lower,
    Upper,
    Sub(i64, i64),
    Len,
    /// `find(pattern)` (`plain`: `find(s, 1, true)`), or `match(pattern)` (`capture`): its
    /// first result, a position for `find`, the first capture (or the match) for `match`.
    Find {
        pattern: String,
        plain: bool,
        capture: bool,
    },
    /// Changed by a chain of template transforms (`gsub`, then `lower`, ...): `template`
    /// renders it; a value only, never tested.
    Rendered,
}

/// The name a `pairs(headers)` loop gives, as the header [`Read`]s of it name.
pub const NAME_VAR: &str = "\u{0}name";

impl Read {
    /// A header's value as `headers:get(name)` gives it.
    pub fn header(name: &str, template: String, may_be_nil: bool) -> Read {
        Read {
            header: Some(name.to_string()),
            template: Some(template),
            reads: BTreeSet::from([name.to_string()]),
            nil_unless: if may_be_nil {
                vec![name.to_string()]
            } else {
                Vec::new()
            },
            metadata: None,
            transform: Transform::None,
            what: format!("headers:get(\"{name}\")"),
        }
    }
}

/// A function the script defines, kept by its place in the tree.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub body: full_moon::ast::FunctionBody,
    /// The locals it sees where it is defined.
    pub env: Vec<std::collections::HashMap<String, Val>>,
    /// Module-level locals declared after it: in its body those names are (unset) globals.
    pub hidden: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub enum Val {
    Nil,
    Bool(bool),
    Num(f64),
    Str(String),
    Read(Box<Read>),
    Cond(Cond),
    Handle,
    Headers,
    Metadata,
    StreamInfo,
    Func(Rc<Function>),
    /// A standard library function or table (`string`, `string.sub`, `tostring`, ...).
    Builtin(String),
    Table(BTreeMap<String, Val>),
    /// Names collected in a loop (`table.insert(t, name)`), each under its tests.
    Names(Vec<Cond>),
    /// One of several values, by condition (a merge after an `if`, `c and a or b`).
    Choice(Vec<(Cond, Val)>),
    /// A value this evaluation cannot follow; using it is refused for this reason.
    Unknown(No),
    /// `s:gmatch(p)`'s iterator, whose first call gives the first match (`s:match(p)` when `p`
    /// has no `^`); only that first call is followed.
    FirstMatch(Box<Val>),
}

impl Val {
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Val::Nil => Some(false),
            Val::Bool(b) => Some(*b),
            Val::Str(_)
            | Val::Num(_)
            | Val::Table(_)
            | Val::Func(_)
            | Val::Handle
            | Val::Headers
            | Val::Metadata
            | Val::StreamInfo
            | Val::Builtin(_)
            | Val::Names(_)
            | Val::FirstMatch(_) => Some(true),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Num(n) => Some(number(*n)),
            _ => None,
        }
    }
}

/// A number as Lua prints it (`%.14g`: integers without a point, 14 significant digits,
/// an exponent below 1e-4 and from 1e14).
pub fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e14 {
        return format!("{}", n as i64);
    }
    let exponent = if n == 0.0 {
        0
    } else {
        n.abs().log10().floor() as i32
    };
    if (-4..14).contains(&exponent) {
        let decimals = usize::try_from(13 - exponent).unwrap_or(0);
        let fixed = format!("{n:.decimals$}");
        return fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string();
    }
    let scientific = format!("{n:.13e}");
    let (mantissa, power) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    let power: i32 = power.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if power < 0 { '-' } else { '+' },
        power.abs()
    )
}

/// A boolean over the request: `when` entries combined.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Const(bool),
    /// One `when` entry (a header, path, method or status test), or `{"name_prefix": p}` / `{"name_exact": n}` for a
    /// header name `pairs` gives.
    Atom(Value),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    pub fn and(a: Cond, b: Cond) -> Cond {
        match (a, b) {
            (Cond::Const(false), _) | (_, Cond::Const(false)) => Cond::Const(false),
            (Cond::Const(true), x) | (x, Cond::Const(true)) => x,
            (Cond::And(mut xs), Cond::And(ys)) => {
                xs.extend(ys);
                Cond::And(xs)
            }
            (Cond::And(mut xs), y) => {
                xs.push(y);
                Cond::And(xs)
            }
            (x, y) => Cond::And(vec![x, y]),
        }
    }

    pub fn or(a: Cond, b: Cond) -> Cond {
        match (a, b) {
            (Cond::Const(true), _) | (_, Cond::Const(true)) => Cond::Const(true),
            (Cond::Const(false), x) | (x, Cond::Const(false)) => x,
            // `method == "GET" or method == "DELETE"`: one method list.
            (Cond::Atom(x), Cond::Atom(y))
                if x.get("method").is_some() && y.get("method").is_some() =>
            {
                let mut all: Vec<Value> = x["method"].as_array().cloned().unwrap_or_default();
                all.extend(y["method"].as_array().cloned().unwrap_or_default());
                Cond::Atom(json!({"method": all}))
            }
            (Cond::Or(mut xs), y) => {
                xs.push(y);
                Cond::Or(xs)
            }
            (x, y) => Cond::Or(vec![x, y]),
        }
    }

    pub fn not(a: Cond) -> Cond {
        match a {
            Cond::Const(b) => Cond::Const(!b),
            Cond::Not(x) => *x,
            x => Cond::Not(Box::new(x)),
        }
    }

    /// Every atom, for the requests that make each true and false.
    pub fn atoms(&self, out: &mut Vec<Value>) {
        match self {
            Cond::Const(_) => {}
            Cond::Atom(a) => out.push(a.clone()),
            Cond::Not(x) => x.atoms(out),
            Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| x.atoms(out)),
        }
    }
}

/// A literal of a term: an atom, or its negation.
pub type Term = Vec<(bool, Value)>;

/// The most cases one guarded effect may split into.
pub const MAX_TERMS: usize = 32;

/// `c` as disjoint terms (at most one holds for any request): each becomes a `when` list.
pub fn terms(c: &Cond) -> Result<Vec<Term>, No> {
    let out = match c {
        Cond::Const(true) => vec![Vec::new()],
        Cond::Const(false) => Vec::new(),
        Cond::Atom(a) => vec![vec![(true, a.clone())]],
        Cond::Not(x) => match x.as_ref() {
            Cond::Atom(a) => vec![vec![(false, a.clone())]],
            Cond::Const(b) => terms(&Cond::Const(!b))?,
            Cond::Not(y) => terms(y)?,
            Cond::And(xs) => terms(&Cond::Or(xs.iter().cloned().map(Cond::not).collect()))?,
            Cond::Or(xs) => terms(&Cond::And(xs.iter().cloned().map(Cond::not).collect()))?,
        },
        Cond::And(xs) => {
            let mut acc: Vec<Term> = vec![Vec::new()];
            for x in xs {
                let next = terms(x)?;
                let mut product = Vec::new();
                for a in &acc {
                    for b in &next {
                        let mut t = a.clone();
                        t.extend(b.iter().cloned());
                        if let Some(t) = consistent(t) {
                            product.push(t);
                        }
                    }
                }
                if product.len() > MAX_TERMS {
                    return Err(too_many());
                }
                acc = product;
            }
            acc
        }
        Cond::Or(xs) => {
            let mut out = Vec::new();
            let mut before = Cond::Const(true);
            for x in xs {
                out.extend(terms(&Cond::and(before.clone(), x.clone()))?);
                before = Cond::and(before, Cond::not(x.clone()));
                if out.len() > MAX_TERMS {
                    return Err(too_many());
                }
            }
            out
        }
    };
    Ok(out)
}

fn too_many() -> No {
    no(
        format!("a condition of more than {MAX_TERMS} cases once written as `when` lists"),
        "split the script's tests into fewer `if`s, or keep it in Lua (TrafficExtension `lua:`)",
    )
}

/// `t` without repeated literals, or `None` when it holds an atom and its negation.
fn consistent(t: Term) -> Option<Term> {
    let mut out: Term = Vec::new();
    for (positive, atom) in t {
        if out.iter().any(|(p, a)| *a == atom && *p != positive) {
            return None;
        }
        if !out.iter().any(|(p, a)| *a == atom && *p == positive) {
            out.push((positive, atom));
        }
    }
    Some(out)
}

pub use super::implied::{
    entry, implies_atom, implies_metadata, implies_present, metadata_test, tested,
};

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
