//! The handle's methods: header maps (get, add, replace, remove, `pairs`), logs, `respond`,
//! route metadata, the client's address, and loops over header names.

use super::effects::{Effect, Kind};
use super::eval::Eval;
use super::refusals::{self, KEEP_LUA};
use super::syntax::{code_of, position};
use super::values::{no, Cond, Read, Transform, Val, NAME_VAR};

use full_moon::node::Node;
use moonshift_harness::lua::FILTER_NAME as LUA_FILTER;

use moonshift_shared::template::Phase;
use std::collections::BTreeSet;

const LOG_METHODS: [(&str, &str); 6] = [
    ("logTrace", "trace"),
    ("logDebug", "debug"),
    ("logInfo", "info"),
    ("logWarn", "warn"),
    ("logErr", "error"),
    ("logCritical", "critical"),
];

impl Eval<'_> {
    pub fn method(&mut self, node: &impl Node, target: Val, method: &str, args: Vec<Val>) -> Val {
        match target {
            Val::Handle => self.handle_method(node, method, args),
            Val::Headers => self.headers_method(node, method, args),
            Val::Metadata => match (method, args.as_slice()) {
                ("get", [Val::Str(key)]) if !key.is_empty() && !key.contains(':') => {
                    self.notes.push(format!(
                        "`metadata():get(\"{key}\")` reads the route's metadata under {LUA_FILTER} (a value: %METADATA(ROUTE:{LUA_FILTER}:{key})%; a test: a `metadata` condition), where Envoy's Lua looks when the filter's own name has no metadata; if your routes keep it under the Lua filter's own name, put that name in the template or condition. As a value or a header name a string renders, and a number as Lua writes it (from 1e-5 to 1e15); a bool, a struct or a list renders empty, where the Lua raises writing it; as a test, Lua's truth is kept"
                    ));
                    self.reads.metadata.insert(key.clone());
                    Val::Read(Box::new(Read {
                        header: None,
                        template: Some(format!("%METADATA(ROUTE:{LUA_FILTER}:{key})%")),
                        reads: BTreeSet::new(),
                        nil_unless: Vec::new(),
                        metadata: Some(key.clone()),
                        transform: Transform::None,
                        what: format!("metadata():get(\"{key}\")"),
                    }))
                }
                _ => Val::Unknown(self.at(
                    node,
                    no(
                        "metadata() read other than get(\"literal key\")",
                        refusals::METADATA_KEY,
                    ),
                )),
            },
            Val::StreamInfo => match method {
                "downstreamRemoteAddress" => Val::Read(Box::new(Read {
                    header: None,
                    template: Some("%DOWNSTREAM_REMOTE_ADDRESS%".into()),
                    reads: BTreeSet::new(),
                    nil_unless: Vec::new(),
                    metadata: None,
                    transform: Transform::None,
                    what: "the client's address".into(),
                })),
                other => {
                    let (why, instead) = refusals::handle_call(&format!("streamInfo():{other}"));
                    let instead = if other == "dynamicMetadata" {
                        refusals::handle_call("streamInfo").1
                    } else {
                        instead
                    };
                    Val::Unknown(self.at(node, no(why, instead)))
                }
            },
            v @ (Val::Str(_) | Val::Read(_) | Val::Num(_)) => {
                self.string_method(node, v, method, args)
            }
            Val::Unknown(why) => Val::Unknown(why),
            _ => Val::Unknown(self.at(
                node,
                no(
                    format!(":{method}() on a value the evaluation does not follow"),
                    KEEP_LUA,
                ),
            )),
        }
    }

    fn handle_method(&mut self, node: &impl Node, method: &str, args: Vec<Val>) -> Val {
        if let Some((_, level)) = LOG_METHODS.iter().find(|(m, _)| *m == method) {
            return match args.as_slice() {
                [message] => match self.template(message) {
                    Ok((message, reads)) => {
                        // path-logger writes a missing value as `-` (the access-log
                        // convention); a script's `v or ""` writes nothing.
                        let always = |h: &String| match self.phase {
                            Phase::Request => {
                                matches!(h.as_str(), ":path" | ":method" | ":authority" | ":scheme")
                            }
                            Phase::Response => h == ":status",
                        };
                        let missing = reads
                            .iter()
                            .find(|h| !always(h) && !super::values::implies_present(&self.pc, h));
                        if let Some(h) = missing.cloned().or_else(|| {
                            message
                                .contains("%METADATA(")
                                .then(|| "route metadata".to_string())
                        }) {
                            return Val::Unknown(self.at(node, no(
                                format!("a log line with {h}, which can be missing here: path-logger writes `-` for it, the script an empty string"),
                                "Envoy's access log with `%REQ(x)%` (which writes `-` too, as the plugin would), or keep it in Lua",
                            )));
                        }
                        self.effect(node, Kind::Log { level, message }, reads);
                        Val::Nil
                    }
                    Err(why) => Val::Unknown(self.at(node, why)),
                },
                _ => Val::Unknown(self.at(
                    node,
                    no("a log call without exactly one argument", KEEP_LUA),
                )),
            };
        }
        match method {
            "headers" => Val::Headers,
            "metadata" => Val::Metadata,
            "streamInfo" => Val::StreamInfo,
            "respond" => self.respond(node, args),
            other => {
                let (why, instead) = refusals::handle_call(other);
                Val::Unknown(self.at(node, no(why, instead)))
            }
        }
    }

    /// Records an effect under the current condition (each alternative of a chosen value
    /// becomes one effect under its own condition).
    pub fn effect(&mut self, node: &impl Node, kind: Kind, reads: BTreeSet<String>) {
        let (line, column, code) = self.anchor.clone().unwrap_or_else(|| {
            let (line, column) = position(node);
            (line, column, code_of(node, self.source))
        });
        self.effects.push(Effect {
            phase: self.phase,
            guard: self.pc.clone(),
            kind,
            reads: reads.into_iter().collect(),
            line,
            column,
            code,
        });
    }

    fn headers_method(&mut self, node: &impl Node, method: &str, args: Vec<Val>) -> Val {
        let name = match args.first() {
            Some(Val::Str(name)) => name.to_ascii_lowercase(),
            Some(Val::Read(r)) if r.header.as_deref() == Some(NAME_VAR) && method == "remove" => {
                if self.iterating {
                    return Val::Unknown(self.at(node, no(
                        "a header removed inside `pairs(headers)`: Envoy raises \"header map cannot be modified while iterating\"",
                        "collect the names in the loop and remove them after it; that loop is request-decorator's `remove_prefix`",
                    )));
                }
                self.effect(node, Kind::RemoveNames, BTreeSet::new());
                return Val::Nil;
            }
            Some(Val::Read(r)) if matches!(method, "add" | "replace" | "remove") => {
                let Some(key) = super::implied::metadata_key(r) else {
                    return Val::Unknown(self.at(
                        node,
                        no(
                            "a header name that is neither a constant string nor route metadata",
                            KEEP_LUA,
                        ),
                    ));
                };
                if !super::implied::implies_named(&self.pc, &key) {
                    return Val::Unknown(self.at(node, no(
                        format!("a header name from `{}`, which can be missing or empty here: Lua raises on a nil name and writes an empty one", r.what),
                        "guard it first: `if name == \"\" then return end` after `local name = metadata():get(k) or \"\"`",
                    )));
                }
                self.reads.metadata.insert(key.clone());
                self.reads.metadata_tested.insert(key.clone());
                // The name the plugin renders; the change itself is any name's (below).
                format!(
                    "%METADATA(ROUTE:{}:{key})%",
                    moonshift_harness::lua::FILTER_NAME
                )
            }
            Some(Val::Unknown(why)) => return Val::Unknown(why.clone()),
            _ => {
                return Val::Unknown(self.at(
                    node,
                    no("a header name that is not a constant string", KEEP_LUA),
                ))
            }
        };
        match (method, args.get(1)) {
            ("get", None) => {
                let always = matches!(
                    (name.as_str(), self.phase),
                    (
                        ":path" | ":method" | ":authority" | ":scheme",
                        Phase::Request
                    ) | (":status", Phase::Response)
                );
                let template = match (self.phase, name.as_str()) {
                    (Phase::Response, ":status") => "%RESPONSE_CODE%".to_string(),
                    (Phase::Request, _) => format!("%REQ({name})%"),
                    (Phase::Response, _) => format!("%RESP({name})%"),
                };
                Val::Read(Box::new(Read::header(&name, template, !always)))
            }
            ("remove", None) => self.header_op(node, "remove", name, None),
            ("add" | "replace", Some(value)) => {
                let action = if method == "add" { "add" } else { "set" };
                self.header_op(node, action, name, Some(value.clone()))
            }
            _ => {
                let (why, instead) = (
                    format!("headers():{method}() with these arguments"),
                    KEEP_LUA,
                );
                Val::Unknown(self.at(node, no(why, instead)))
            }
        }
    }

    fn header_op(
        &mut self,
        node: &impl Node,
        action: &'static str,
        name: String,
        value: Option<Val>,
    ) -> Val {
        if self.iterating {
            return Val::Unknown(self.at(node, no(
                "a header changed inside `pairs(headers)`: Envoy raises \"header map cannot be modified while iterating\"",
                "change the headers after the loop",
            )));
        }
        let rewrite = matches!(name.as_str(), ":path" | ":authority")
            && action == "set"
            && self.phase == Phase::Request;
        // A new response status: response-decorator sets `:status` to a literal one.
        let status = name == ":status" && action == "set" && self.phase == Phase::Response;
        if name.starts_with(':') && !rewrite && !status {
            return Val::Unknown(self.at(node, no(
                format!("a change to the pseudo-header {name}"),
                "Envoy's route `prefix_rewrite` / `regex_rewrite`; a status: a local-reply rule",
            )));
        }
        let Some(value) = value else {
            self.effect(
                node,
                super::effects::Kind::Header {
                    action,
                    name,
                    value: None,
                    rewrite,
                },
                BTreeSet::new(),
            );
            return Val::Nil;
        };
        let (saved, since) = (self.pc.clone(), self.ended.len());
        for (c, v) in alternatives(value) {
            self.pc = Cond::and(self.resume(saved.clone(), since), c);
            // An alternative no request takes (`c and x or y` makes some).
            if super::values::terms(&self.pc).is_ok_and(|cases| cases.is_empty()) {
                continue;
            }
            match self.template(&v) {
                Ok((template, _))
                    if status && !moonshift_shared::operations::settable_status(&template) =>
                {
                    self.pc = self.resume(saved, since);
                    return Val::Unknown(self.at(node, no(
                        format!("headers():replace(\":status\", ...) with {template:?}, not a literal status from 100 to 599"),
                        "a literal status (response-decorator sets `:status` only to one)",
                    )));
                }
                Ok((template, reads)) => self.effect(
                    node,
                    Kind::Header {
                        action,
                        name: name.clone(),
                        value: Some(template),
                        rewrite,
                    },
                    reads,
                ),
                Err(why) => {
                    self.pc = self.resume(saved, since);
                    return Val::Unknown(self.at(node, why));
                }
            }
        }
        self.pc = self.resume(saved, since);
        Val::Nil
    }

    fn respond(&mut self, node: &impl Node, args: Vec<Val>) -> Val {
        if self.phase == Phase::Response {
            return Val::Unknown(self.at(
                node,
                no(
                    "respond() in envoy_on_response (Envoy refuses it)",
                    "a response-decorator operation",
                ),
            ));
        }
        let Some(Val::Table(table)) = args.first() else {
            return Val::Unknown(self.at(
                node,
                no("respond() without a literal header table", KEEP_LUA),
            ));
        };
        let mut status = None;
        let mut headers = Vec::new();
        let mut reads = BTreeSet::new();
        for (key, value) in table {
            let rendered = match self.template(value) {
                Ok((v, r)) => {
                    reads.extend(r);
                    v
                }
                Err(why) => return Val::Unknown(self.at(node, why)),
            };
            match key.as_str() {
                ":status" => {
                    status = rendered
                        .parse::<u16>()
                        .ok()
                        .filter(|s| (200..=599).contains(s))
                }
                k if k.starts_with(':') || k.parse::<u32>().is_ok() => {
                    return Val::Unknown(
                        self.at(node, no(format!("a reply header `{k}`"), KEEP_LUA)),
                    )
                }
                k => headers.push((k.to_ascii_lowercase(), rendered)),
            }
        }
        let Some(status) = status else {
            return Val::Unknown(self.at(
                node,
                no(
                    "a reply whose :status is not a literal number in 200..599",
                    KEEP_LUA,
                ),
            ));
        };
        let body = match args.get(1) {
            None | Some(Val::Nil) => String::new(),
            Some(b) => match self.template(b) {
                Ok((b, r)) => {
                    reads.extend(r);
                    b
                }
                Err(why) => return Val::Unknown(self.at(node, why)),
            },
        };
        self.effect(
            node,
            Kind::Reply {
                status,
                headers,
                body,
            },
            reads,
        );
        // respond() ends the script.
        self.ended.push(self.pc.clone());
        self.pc = Cond::Const(false);
        Val::Nil
    }
}

/// The alternatives of a value: itself, or each choice under its condition.
pub fn alternatives(value: Val) -> Vec<(Cond, Val)> {
    match value {
        Val::Choice(list) => list
            .into_iter()
            .flat_map(|(c, v)| {
                alternatives(v)
                    .into_iter()
                    .map(move |(d, w)| (Cond::and(c.clone(), d), w))
            })
            .collect(),
        other => vec![(Cond::Const(true), other)],
    }
}
