//! `string.format(fmt, ...)` with `%s` (and `%%`): a template, each `%s` the argument's.

use super::eval::Eval;
use super::refusals::KEEP_LUA;
use super::values::{no, Read, Transform, Val};
use full_moon::node::Node;
use std::collections::BTreeSet;

impl Eval<'_> {
    pub fn format(&mut self, node: &impl Node, format: &str, args: Vec<Val>) -> Val {
        let mut template = String::new();
        let mut literal = String::new();
        let mut reads = BTreeSet::new();
        let mut dynamic = false;
        let mut args = args.into_iter();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                template.push(c);
                literal.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => {
                    template.push('%');
                    literal.push('%');
                }
                Some('s') => {
                    let arg = args.next().unwrap_or(Val::Nil);
                    if let Some(text) = arg.as_str() {
                        literal.push_str(&text);
                    } else {
                        dynamic = true;
                    }
                    match self.template(&arg) {
                        Ok((t, r)) => {
                            template.push_str(&t);
                            reads.extend(r);
                        }
                        Err(why) => return Val::Unknown(self.at(node, why)),
                    }
                }
                other => {
                    return Val::Unknown(self.at(
                        node,
                        no(
                            format!(
                                "string.format with `%{}`: only `%s` and `%%` are followed",
                                other.map(String::from).unwrap_or_default()
                            ),
                            KEEP_LUA,
                        ),
                    ))
                }
            }
        }
        // Literal text that reads as a template command is refused, as in any value.
        if let Err(why) = self.template(&Val::Str(literal.clone())) {
            return Val::Unknown(self.at(node, why));
        }
        match dynamic {
            false => Val::Str(literal),
            true => Val::Read(Box::new(Read {
                header: None,
                template: Some(template),
                reads,
                nil_unless: Vec::new(),
                metadata: None,
                transform: Transform::None,
                what: "string.format".into(),
            })),
        }
    }
}
