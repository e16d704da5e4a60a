//! String work on values read from the request, mapped onto conditions (`sub` with constant
//! bounds as prefix and suffix tests, `find` plain or with a pattern, `match`, `lower` /
//! `upper`, `len` / `#`) and templates (`..`, `sub(1, n)` as `):n%`).

use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::values::{
    implies_metadata, implies_present, metadata_test, no, Cond, No, Read, Transform, Val, NAME_VAR,
};
use full_moon::node::Node;
use moonshift_shared::lua_pattern::Gsub;
use moonshift_shared::template::Phase;
use serde_json::{json, Value};

/// A pattern that is a plain prefix (`^x%-internal%-`), its text.
fn plain_prefix(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => match chars.next()? {
                c if c.is_ascii_punctuation() => out.push(c),
                _ => return None,
            },
            '^' | '$' | '(' | ')' | '.' | '[' | ']' | '*' | '+' | '-' | '?' => return None,
            c => out.push(c),
        }
    }
    (!out.is_empty()).then_some(out)
}

impl Eval<'_> {
    /// A test of header `name` in this phase (`:method` as a method list, `:status` as a status).
    pub fn test(&mut self, name: &str, test: Value) -> Result<Cond, No> {
        if name == NAME_VAR {
            // Envoy's header names are lowercase: a test with an uppercase letter never holds.
            let lowercase = |t: &str| t == t.to_ascii_lowercase();
            return match (
                test.get("prefix").and_then(Value::as_str),
                test.get("exact").and_then(Value::as_str),
            ) {
                (Some(p), _) if lowercase(p) => Ok(Cond::Atom(json!({"name_prefix": p}))),
                (_, Some(e)) if lowercase(e) && !e.is_empty() => {
                    Ok(Cond::Atom(json!({"name_exact": e})))
                }
                (Some(_), _) | (_, Some(_)) => Ok(Cond::Const(false)),
                _ => Err(no(
                    "a test of a header name other than a prefix or an equality",
                    refusals::LOOP,
                )),
            };
        }
        match (name, self.phase, test.get("exact").and_then(Value::as_str)) {
            (":method", Phase::Request, Some(m)) => {
                self.reads.methods.insert(m.to_string());
                return Ok(Cond::Atom(json!({"method": [m]})));
            }
            (":status", Phase::Response, Some(s)) => {
                return s
                    .parse::<u16>()
                    .map(|code| Cond::Atom(json!({"status": [code]})))
                    .or(Ok(Cond::Const(false)));
            }
            (":status", Phase::Response, None) => {
                return Err(no("a test of :status other than equality", KEEP_LUA))
            }
            _ => {}
        }
        let value = ["exact", "prefix", "suffix", "contains", "lua_pattern"]
            .iter()
            .find_map(|k| test.get(*k).and_then(Value::as_str));
        match name {
            ":path" => {
                if let Some(v) = value {
                    self.reads.paths.insert(
                        v.trim_start_matches('^')
                            .trim_end_matches('$')
                            .replace('%', ""),
                    );
                }
            }
            ":method" | ":authority" | ":scheme" => {}
            _ => {
                let read = (name.to_string(), value.map(str::to_string));
                match self.phase {
                    Phase::Request => self.reads.headers.insert(read),
                    Phase::Response => self.reads.response_headers.insert(read),
                };
            }
        }
        let mut header = json!({"name": name});
        if let (Some(h), Some(t)) = (header.as_object_mut(), test.as_object()) {
            h.extend(t.clone());
        }
        Ok(Cond::Atom(json!({"header": header})))
    }

    /// A use of `r` that raises in Lua when it is nil. Where the script's own tests make it
    /// present, nothing. Where one header's absence makes it nil, the script stops there when
    /// it is absent: [`Eval::raise`]. A metadata value is refused (it can also be `false`, a
    /// number or a table, each its own error), and so are several headers (which one Lua
    /// names in its error is its evaluation order's).
    pub fn raises_unless_present(&mut self, r: &Read, use_: &str) -> Result<(), No> {
        if let Some(key) = r
            .metadata
            .as_ref()
            .filter(|k| !implies_metadata(&self.pc, k))
        {
            return Err(no(format!("{use_} `{}`, which is nil on a route without `{key}`: Lua raises there (the script stops, Envoy logs the error), the plugin renders it empty", r.what), refusals::METADATA_NIL));
        }
        let missing: Vec<&String> = r
            .nil_unless
            .iter()
            .filter(|header| !implies_present(&self.pc, header))
            .collect();
        match missing.as_slice() {
            [] => Ok(()),
            // Exactly where that one header is absent: a plain read of it (`a or b` is nil
            // only where both are; a concatenation names its own parts).
            [header] if !self.iterating && r.header.as_deref() == Some(header.as_str()) && r.nil_unless.len() == 1 => {
                let present = self.test(header, json!({"present": true}))?;
                self.raise(Cond::not(present), &format!("{use_} `{}` when {header} is absent", r.what));
                Ok(())
            }
            [header, ..] => Err(no(format!("{use_} `{}`, which raises in Lua when {header} is absent (the script stops there and the request goes on, with an error logged); the plugin would go on with it empty", r.what), refusals::GUARD)),
        }
    }

    pub fn read_truth(&mut self, r: &Read) -> Result<Cond, No> {
        if let Some(key) = &r.metadata {
            // `if metadata:get(k) then`: Lua's truth of the value, a metadata condition.
            return match r.transform {
                Transform::None => {
                    self.reads.metadata_tested.insert(key.clone());
                    Ok(Cond::Atom(metadata_test(key, json!({"present": true}))))
                }
                _ => Err(no(
                    format!("a test of `{}` after a string function", r.what),
                    refusals::METADATA_CONDITION,
                )),
            };
        }
        let Some(name) = r.header.clone() else {
            // A value no condition reads (a default given with `or`, a concatenation): its
            // truth is known unless it is a search.
            return match r.transform {
                Transform::Find { .. } => Err(no(
                    format!("a search in {}, which no condition reads (`v or \"\"` tests differently from the header: an absent one is \"\")", r.what),
                    "test the header itself, guarded: `if v and v:find(...) then`",
                )),
                _ => Ok(Cond::Const(true)),
            };
        };
        match &r.transform {
            Transform::None
            | Transform::Lower
            | Transform::Upper
            | Transform::Sub(..)
            | Transform::Len
            | Transform::Rendered => match r.nil_unless.is_empty() {
                true => Ok(Cond::Const(true)),
                false => self.test(&name, json!({"present": true})),
            },
            Transform::Find { pattern, plain, .. } => {
                self.raises_unless_present(r, "a search in")?;
                match plain {
                    true => self.test(&name, json!({"contains": pattern})),
                    false => self.test(&name, json!({"lua_pattern": pattern})),
                }
            }
        }
    }

    /// `s:method(args)` or `string.method(s, args)`.
    pub fn string_method(
        &mut self,
        node: &impl Node,
        subject: Val,
        method: &str,
        args: Vec<Val>,
    ) -> Val {
        let int = |v: Option<&Val>| match v {
            Some(Val::Num(n)) if n.fract() == 0.0 => Some(*n as i64),
            _ => None,
        };
        if let (Val::Str(s), "format") = (&subject, method) {
            let s = s.clone();
            return self.format(node, &s, args);
        }
        if let Some(s) = subject.as_str() {
            // Constant work is done now.
            return match (method, int(args.first()), int(args.get(1))) {
                ("lower", ..) => Val::Str(s.to_ascii_lowercase()),
                ("upper", ..) => Val::Str(s.to_ascii_uppercase()),
                ("len", ..) => Val::Num(s.len() as f64),
                ("sub", Some(i), j) => Val::Str(lua_sub(&s, i, j.unwrap_or(-1))),
                ("gsub", ..) => match args.as_slice() {
                    [Val::Str(p), Val::Str(r)] => match Gsub::parse(p.as_bytes(), r.as_bytes())
                        .ok()
                        .and_then(|g| g.apply(s.as_bytes(), usize::MAX))
                        .and_then(|out| String::from_utf8(out).ok())
                    {
                        Some(out) => Val::Str(out),
                        None => Val::Unknown(self.at(
                            node,
                            no(
                                "string.gsub of a constant with a pattern Moonshift does not run",
                                KEEP_LUA,
                            ),
                        )),
                    },
                    _ => Val::Unknown(self.at(
                        node,
                        no(
                            "string.gsub of a constant with a function, table or computed argument",
                            KEEP_LUA,
                        ),
                    )),
                },
                _ => Val::Unknown(self.at(
                    node,
                    no(
                        format!("string.{method} of a constant"),
                        refusals::builtin(method),
                    ),
                )),
            };
        }
        let Val::Read(r) = subject else {
            return match subject {
                Val::Unknown(why) => Val::Unknown(why),
                _ => Val::Unknown(self.at(
                    node,
                    no(
                        format!(":{method}() of a value that is not a string"),
                        KEEP_LUA,
                    ),
                )),
            };
        };
        if method == "gsub" || r.transform == Transform::Rendered {
            return self.rendered(node, *r, method, &args);
        }
        // `s:gmatch(p)()`, the iterator called once: the first match, as `s:match(p)` finds it
        // (a `^` is no anchor to gmatch). Lua raises at gmatch when `s` is nil, as at match.
        if method == "gmatch" {
            return match args.as_slice() {
                [Val::Str(p)] if !p.starts_with('^') => Val::FirstMatch(Box::new(
                    self.string_method(node, Val::Read(r), "match", args.clone()),
                )),
                _ => Val::Unknown(self.at(
                    node,
                    no(
                        ":gmatch() with a pattern that is not a constant or starts with `^`",
                        refusals::builtin(method),
                    ),
                )),
            };
        }
        if r.transform != Transform::None
            && !(r.transform == Transform::Lower && r.header.as_deref() == Some(NAME_VAR))
        {
            return Val::Unknown(self.at(
                node,
                no(
                    format!(":{method}() of {} after another string function", r.what),
                    KEEP_LUA,
                ),
            ));
        }
        let transform = match (method, args.as_slice()) {
            ("lower", []) => Transform::Lower,
            ("upper", []) => Transform::Upper,
            ("len", []) => Transform::Len,
            ("sub", [_]) | ("sub", [_, _]) => {
                match (int(args.first()), int(args.get(1)).or(Some(-1))) {
                    (Some(i), Some(j)) => Transform::Sub(i, j),
                    _ => {
                        return Val::Unknown(self.at(
                            node,
                            no("sub() with bounds that are not constants", KEEP_LUA),
                        ))
                    }
                }
            }
            ("find" | "match", [Val::Str(p)]) => Transform::Find {
                pattern: p.clone(),
                plain: false,
                capture: method == "match",
            },
            ("find", [Val::Str(p), Val::Num(i), t]) if *i == 1.0 && t.truthy() == Some(true) => {
                Transform::Find {
                    pattern: p.clone(),
                    plain: true,
                    capture: false,
                }
            }
            (_, [Val::Unknown(why), ..]) => return Val::Unknown(why.clone()),
            ("find" | "match", [Val::Read(p), ..]) => {
                return Val::Unknown(self.at(
                    node,
                    no(
                        format!(":{method}() with a pattern built from {} (not a constant)", p.what),
                        "a fixed pattern: the plugin's lua_pattern conditions are written in its configuration, not computed per request",
                    ),
                ))
            }
            _ => {
                return Val::Unknown(self.at(
                    node,
                    no(
                        format!(":{method}() with these arguments"),
                        refusals::builtin(method),
                    ),
                ))
            }
        };
        // A name from pairs() is lowercase already.
        if r.header.as_deref() == Some(NAME_VAR) {
            if let Transform::Find {
                pattern,
                plain: false,
                ..
            } = &transform
            {
                if let Some(prefix) = plain_prefix(pattern) {
                    return match self.test(NAME_VAR, json!({"prefix": prefix})) {
                        Ok(c) => Val::Cond(c),
                        Err(why) => Val::Unknown(self.at(node, why)),
                    };
                }
            }
            if transform == Transform::Lower {
                return Val::Read(r);
            }
        }
        // A string function of nil raises.
        if let Err(why) = self.raises_unless_present(&r, &format!(":{method}() of")) {
            return Val::Unknown(self.at(node, why));
        }
        let template = match (&transform, &r.template) {
            (Transform::Sub(1, n), Some(t))
                if *n > 0 && r.header.is_some() && t.ends_with(")%") =>
            {
                Some(format!("{}):{n}%", t.trim_end_matches(")%")))
            }
            _ => None,
        };
        Val::Read(Box::new(Read {
            template,
            transform,
            what: format!("{}:{method}(...)", r.what),
            ..*r
        }))
    }
}

/// Lua's `string.sub(s, i, j)` on a constant.
fn lua_sub(s: &str, i: i64, j: i64) -> String {
    let len = s.len() as i64;
    let i = if i < 0 {
        (len + i + 1).max(1)
    } else {
        i.max(1)
    };
    let j = if j < 0 { len + j + 1 } else { j.min(len) };
    match (usize::try_from(i - 1), usize::try_from(j)) {
        (Ok(a), Ok(b)) if a < b => s.get(a..b).unwrap_or_default().to_string(),
        _ => String::new(),
    }
}
