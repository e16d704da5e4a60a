//! Values as templates: a literal, a header read (`%REQ(x)%`), and a header's value after one
//! string function (`%REQ(x):lower%`, `:sub(i,j)`, `:match(pattern)`), each parsed by the
//! plugin's own template parser before it is written.

use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::values::{implies_atom, no, number, No, Read, Transform, Val, NAME_VAR};
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
    /// Lua raises on nil where a string is needed: the script's own tests must make it match.
    fn transformed(&self, r: &Read, transform: &Transform) -> Result<String, No> {
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
                    return Err(no(
                        format!("the capture `{}` as a value where the script has not tested that the pattern matches: Lua raises on the nil it gives when it does not (the script stops, Envoy logs the error), the plugin would write it empty", r.what),
                        "test it first, as scripts do: `local v = s:match(p) if v then ... end`",
                    ));
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
                    (Some(t), Transform::None | Transform::Sub(..)) => {
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
}
