//! Values as templates: a literal, a header read (`%REQ(x)%`), and a header's value after one
//! string function (`%REQ(x):lower%`, `:sub(i,j)`, `:match(pattern)`), each parsed by the
//! plugin's own template parser before it is written.

use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::values::{implies_atom, no, number, Cond, No, Read, Transform, Val, NAME_VAR};
use full_moon::node::Node;
use moonshift_shared::template::{Phase, Template};
use serde_json::json;
use std::collections::BTreeSet;

/// The template command that reads a header of `phase`'s map.
pub fn header_command(phase: Phase) -> &'static str {
    match phase {
        Phase::Request => "REQ",
        Phase::Response => "RESP",
    }
}

impl Eval<'_> {
    /// The template of a header's value after one string function (`%REQ(x):lower%`,
    /// `:sub(i,j)`, `:match(pattern)`). A capture is nil where the pattern does not match, and
    /// Lua raises on nil where a string is needed: where the script's own tests do not make
    /// it match, the script stops there ([`Eval::raise`]).
    fn transformed(&mut self, r: &Read, transform: &Transform) -> Result<String, No> {
        let name = r.header.clone().unwrap_or_default();
        let command = header_command(self.phase);
        let chain = match transform {
            Transform::Lower => "lower".to_string(),
            Transform::Upper => "upper".to_string(),
            Transform::Sub(i, j) => format!("sub({i},{j})"),
            Transform::Find {
                pattern,
                plain: false,
                capture: true,
            } => {
                let atom = json!({"header": {"name": name, "lua_pattern": pattern}});
                if !implies_atom(&self.pc, &atom) {
                    if self.iterating {
                        return Err(no(
                            format!("the capture `{}` as a value where the script has not tested that the pattern matches, inside a loop", r.what),
                            "test it first, as scripts do: `local v = s:match(p) if v then ... end`",
                        ));
                    }
                    let matches = self.test(&name, json!({"lua_pattern": pattern}))?;
                    self.raise(
                        Cond::not(matches),
                        &format!(
                            "the capture `{}` used where the pattern does not match",
                            r.what
                        ),
                    );
                }
                format!("match({pattern})")
            }
            _ => {
                return Err(no(
                    format!("the position or length `{}` as a value", r.what),
                    refusals::CAPTURE,
                ))
            }
        };
        let template = format!("%{command}({name}):{chain}%");
        // The plugin takes the transform as the Lua's string function does, or refuses it.
        match Template::parse("value", &template, self.phase) {
            Ok(_) => Ok(template),
            Err(why) => Err(no(
                format!("`{}` as a value: {}", r.what, why.message()),
                refusals::CAPTURE,
            )),
        }
    }

    /// A value as a template, and the headers it reads.
    pub fn template(&mut self, v: &Val) -> Result<(String, BTreeSet<String>), No> {
        match v {
            Val::Str(s) => match Template::parse("", s, self.phase)
                .ok()
                .and_then(|t| t.literal().map(str::to_string))
            {
                Some(_) => Ok((s.clone(), BTreeSet::new())),
                None => Err(no(
                    "the literal text reads as a template command (`%NAME%`)",
                    KEEP_LUA,
                )),
            },
            Val::Num(n) => Ok((number(*n), BTreeSet::new())),
            Val::Read(r) if r.header.as_deref() == Some(NAME_VAR) => {
                Err(no("a header name from pairs() as a value", refusals::LOOP))
            }
            Val::Read(r) => {
                self.raises_unless_present(r, "a use of")?;
                match (&r.template, &r.transform) {
                    (Some(t), Transform::None | Transform::Sub(..) | Transform::Rendered) => {
                        Ok((t.clone(), r.reads.clone()))
                    }
                    (None, transform) if r.header.is_some() => {
                        let t = self.transformed(r, transform)?;
                        Ok((t, r.reads.clone()))
                    }
                    (_, Transform::Find { plain: false, .. }) => Err(no(
                        format!("the capture or position `{}` as a value", r.what),
                        refusals::CAPTURE,
                    )),
                    _ => Err(no(
                        format!("`{}` as a value: no template renders it", r.what),
                        refusals::CAPTURE,
                    )),
                }
            }
            Val::Nil => Err(no(
                "nil where Lua needs a string (it raises)",
                refusals::GUARD,
            )),
            Val::Unknown(why) => Err(why.clone()),
            Val::Choice(_) => Err(no(
                "a value that depends on a condition, inside a larger value",
                "set the header in each branch of an `if`",
            )),
            _ => Err(no("a value that is not a string", KEEP_LUA)),
        }
    }

    /// `r:method(args)` as one more transform of a template: `gsub` with a constant pattern and
    /// replacement, and after a `gsub`, `lower`, `upper` and `sub`. The result is a value only.
    pub fn rendered(&mut self, node: &impl Node, r: Read, method: &str, args: &[Val]) -> Val {
        match self.rendered_template(&r, method, args) {
            Ok(template) => {
                if method == "gsub" {
                    if let (Some(header), [Val::Str(pattern), ..]) = (&r.header, args) {
                        if self.phase == Phase::Request {
                            self.reads
                                .substituted
                                .insert((header.clone(), pattern.clone()));
                        }
                    }
                }
                Val::Read(Box::new(Read {
                    template: Some(template),
                    transform: Transform::Rendered,
                    what: format!("{}:{method}(...)", r.what),
                    ..r
                }))
            }
            Err(why) => Val::Unknown(self.at(node, why)),
        }
    }

    fn rendered_template(&mut self, r: &Read, method: &str, args: &[Val]) -> Result<String, No> {
        let int = |v: &Val| match v {
            Val::Num(n) if n.fract() == 0.0 => Some(*n as i64),
            _ => None,
        };
        let item = match (method, args) {
            ("gsub", [Val::Str(pattern), Val::Str(replacement)]) => format!(
                "gsub({},{})",
                template_pattern(pattern),
                template_replacement(replacement)
            ),
            ("gsub", [_, _, _, ..]) => {
                return Err(no(
                    "gsub() with a count of replacements",
                    "a pattern that matches only where it should (`^`, `$`), without a count",
                ))
            }
            ("gsub", [_, Val::Str(_)]) => {
                return Err(no(
                    format!("gsub() of {} with a pattern that is not a constant", r.what),
                    "a fixed pattern: the plugin's templates are written in its configuration",
                ))
            }
            ("gsub", _) => {
                return Err(no(
                    format!("gsub() of {} with a function, a table or a computed replacement", r.what),
                    "a fixed replacement string (`%1` for a capture), or keep it in Lua (TrafficExtension `lua:`)",
                ))
            }
            ("lower" | "upper", []) => method.to_string(),
            ("sub", [i]) if int(i).is_some() => format!("sub({})", int(i).unwrap_or(1)),
            ("sub", [i, j]) if int(i).is_some() && int(j).is_some() => {
                format!("sub({},{})", int(i).unwrap_or(1), int(j).unwrap_or(-1))
            }
            _ => {
                return Err(no(
                    format!(":{method}() of {}, a value changed by gsub", r.what),
                    "test the header itself before changing it, or keep it in Lua (TrafficExtension `lua:`)",
                ))
            }
        };
        if r.header.as_deref() == Some(NAME_VAR) {
            return Err(no(
                format!(":{method}() of a header name from pairs()"),
                refusals::LOOP,
            ));
        }
        let base = match (&r.transform, &r.template) {
            (Transform::Rendered, Some(t)) => t.clone(),
            // A capture, changed further: `%REQ(x):match(p):gsub(a,b)%`.
            (
                Transform::Find {
                    plain: false,
                    capture: true,
                    ..
                },
                None,
            ) if r.header.is_some() => {
                self.raises_unless_present(r, &format!(":{method}() of"))?;
                self.transformed(r, &r.transform)?
            }
            (Transform::None, Some(t)) if r.header.is_some() && one_command(t) => {
                // A string function of nil raises.
                self.raises_unless_present(r, &format!(":{method}() of"))?;
                t.clone()
            }
            _ => {
                return Err(no(
                    format!(":{method}() of {}, which no template command reads", r.what),
                    refusals::CAPTURE,
                ))
            }
        };
        let template = format!("{}:{item}%", base.strip_suffix('%').unwrap_or(&base));
        // The plugin takes the chain as the Lua's string functions do, or refuses it.
        match Template::parse("value", &template, self.phase) {
            Ok(_) => Ok(template),
            Err(why) => Err(no(
                format!("`{}:{method}(...)` as a value: {}", r.what, why.message()),
                refusals::CAPTURE,
            )),
        }
    }
}

/// Whether `t` is one command and nothing else (`%REQ(x)%`, `%REQ(a?b)%`).
fn one_command(t: &str) -> bool {
    t.starts_with('%') && t.ends_with(")%") && t.matches('%').count() == 2
}

/// A Lua pattern as a `:gsub` pattern: each `,` outside a set escaped (`%,` is a comma to Lua
/// too), so that the first bare comma ends it.
pub fn template_pattern(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    let mut in_set = false;
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                out.push('%');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                continue;
            }
            '[' if !in_set => {
                in_set = true;
                out.push('[');
                // `]` right after `[` or `[^` is a member.
                let rest = chars.as_str();
                let skip = match (
                    rest.starts_with('^'),
                    rest.trim_start_matches('^').starts_with(']'),
                ) {
                    (true, true) => 2,
                    (false, true) | (true, false) => 1,
                    (false, false) => 0,
                };
                let head: String = rest.chars().take(skip).collect();
                out.push_str(&head);
                for _ in 0..skip {
                    chars.next();
                }
                continue;
            }
            ']' if in_set => in_set = false,
            ',' if !in_set => {
                out.push_str("%,");
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A replacement as a `:gsub` replacement: each `)` escaped (`%)` is `)` to Lua's gsub too),
/// so that the first bare `)` ends it.
pub fn template_replacement(replacement: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                out.push('%');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            ')' => out.push_str("%)"),
            _ => out.push(c),
        }
    }
    out
}
