//! A Lua script, parsed with a real Lua parser (full_moon), read statement by statement into the
//! catalogue's terms: header operations, log lines, local replies, each under the conditions of
//! the `if`s around it. What has no equivalent is reported with its line, its column, why, and
//! what to use instead; nothing is guessed.

use full_moon::ast::{
    self, BinOp, Call, Expression, Field, FunctionArgs, Index, LastStmt, Prefix, Stmt, Suffix,
    UnOp, Var,
};
use full_moon::node::Node;
use full_moon::tokenizer::{Symbol, TokenReference, TokenType};
/// The name Envoy's Lua reads route metadata under when the filter's own name has none.
use moonshift_harness::lua::FILTER_NAME as LUA_FILTER;
use moonshift_shared::operations::{self, OperationConfig};
use moonshift_shared::strftime::Format;
use moonshift_shared::template::{Phase, Template};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// A statement the catalogue cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    pub line: usize,
    pub column: usize,
    pub code: String,
    pub why: String,
    pub instead: String,
}

/// What one phase of the script does, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A header operation (request-decorator or response-decorator's JSON).
    Header(Value),
    /// A log line (path-logger's config).
    Log(Value),
    /// A local reply (a local-reply rule).
    Reply(Value),
}

/// A converted statement, for the report: where, and what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub line: usize,
    pub code: String,
    pub became: String,
}

/// What reading the script found.
#[derive(Debug, Default)]
pub struct Reading {
    pub request: Vec<Step>,
    pub response: Vec<Step>,
    pub converted: Vec<Converted>,
    pub unconverted: Vec<Unconverted>,
    /// Behaviour that is kept but differs in a corner, for the report.
    pub notes: Vec<String>,
    /// What the script reads, to derive requests from: header names with the values its
    /// conditions name, paths, methods.
    pub reads: Reads,
}

#[derive(Debug, Default, Clone)]
pub struct Reads {
    /// Request headers read (with the value a condition compares them to).
    pub headers: BTreeSet<(String, Option<String>)>,
    /// Response headers read in `envoy_on_response` (`:status` aside): the compared
    /// upstream replies carry them.
    pub response_headers: BTreeSet<(String, Option<String>)>,
    pub paths: BTreeSet<String>,
    pub methods: BTreeSet<String>,
    /// Route metadata keys read with `metadata():get(key)`.
    pub metadata: BTreeSet<String>,
}

impl Reads {
    /// Adds what `other` reads (several scripts read, together, what each reads).
    pub fn extend(&mut self, other: &Reads) {
        self.headers.extend(other.headers.iter().cloned());
        self.response_headers
            .extend(other.response_headers.iter().cloned());
        self.paths.extend(other.paths.iter().cloned());
        self.methods.extend(other.methods.iter().cloned());
        self.metadata.extend(other.metadata.iter().cloned());
    }
}

/// Why a node has no translation, and what to use instead.
struct No {
    why: String,
    instead: &'static str,
}

fn no(why: impl Into<String>, instead: &'static str) -> No {
    No {
        why: why.into(),
        instead,
    }
}

const WRITE_IT_NATIVE: &str =
    "keep this logic in Lua (TrafficExtension `lua:`), or write a filter against moonshift-kit";

/// What a local name stands for.
#[derive(Debug, Clone)]
enum Binding {
    /// The function's handle parameter.
    Handle,
    /// `handle:headers()`.
    Headers,
    /// A string value, as a template, and the headers it read (to catch a later change).
    Value {
        template: String,
        reads: BTreeSet<String>,
    },
}

struct Reader<'a> {
    phase: Phase,
    names: HashMap<String, Binding>,
    /// Headers the operations so far changed.
    changed: BTreeSet<String>,
    reading: &'a mut Reading,
    source: &'a str,
}

fn position(node: &impl Node) -> (usize, usize) {
    node.start_position()
        .map_or((0, 0), |p| (p.line(), p.character()))
}

/// The source text of `node`, on one line, bounded.
fn code_of(node: &impl Node, source: &str) -> String {
    let range = node.range().map(|(a, b)| (a.bytes(), b.bytes()));
    let text = range
        .and_then(|(a, b)| source.get(a..b))
        .unwrap_or_default();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 100 {
        format!("{}…", flat.chars().take(100).collect::<String>())
    } else {
        flat
    }
}

fn identifier(token: &TokenReference) -> Option<String> {
    match token.token().token_type() {
        TokenType::Identifier { identifier } => Some(identifier.to_string()),
        _ => None,
    }
}

/// The value of a Lua string literal, escapes resolved; `None` for what is not one.
pub fn string_literal(token: &TokenReference) -> Option<String> {
    let TokenType::StringLiteral {
        literal,
        multi_line_depth,
        ..
    } = token.token().token_type()
    else {
        return None;
    };
    if *multi_line_depth > 0 {
        return Some(literal.to_string());
    }
    let mut out = Vec::new();
    let bytes = literal.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1)?;
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'9' => {
                let digits: Vec<u8> = bytes
                    .get(i - 1..)?
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_ascii_digit())
                    .copied()
                    .collect();
                i += digits.len() - 1;
                out.push(std::str::from_utf8(&digits).ok()?.parse::<u8>().ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

fn string_expr(e: &Expression) -> Option<String> {
    match e {
        Expression::String(token) => string_literal(token),
        Expression::Parentheses { expression, .. } => string_expr(expression),
        _ => None,
    }
}

fn is_nil(e: &Expression) -> bool {
    matches!(e, Expression::Symbol(t) if matches!(t.token().token_type(), TokenType::Symbol { symbol: Symbol::Nil }))
}

/// A call chain as (root name, [(method or field, args)]).
type Chain<'e> = (String, Vec<(String, Option<&'e FunctionArgs>)>);

fn chain<'e>(prefix: &'e Prefix, suffixes: impl Iterator<Item = &'e Suffix>) -> Option<Chain<'e>> {
    let Prefix::Name(root) = prefix else {
        return None;
    };
    let mut links = Vec::new();
    for suffix in suffixes {
        match suffix {
            Suffix::Call(Call::MethodCall(m)) => {
                links.push((identifier(m.name())?, Some(m.args())))
            }
            Suffix::Index(Index::Dot { name, .. }) => links.push((identifier(name)?, None)),
            Suffix::Call(Call::AnonymousCall(args)) => match links.last_mut() {
                Some((_, slot @ None)) => *slot = Some(args),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some((identifier(root)?, links))
}

fn args_list(args: Option<&FunctionArgs>) -> Vec<&Expression> {
    match args {
        Some(FunctionArgs::Parentheses { arguments, .. }) => arguments.iter().collect(),
        _ => Vec::new(),
    }
}

/// What a handle method the catalogue cannot express is, and the native filter that does it.
fn handle_call(method: &str) -> (String, &'static str) {
    let why = format!("handle:{method}()");
    let instead = match method {
        "body" | "bodyChunks" => "body rewriting is out of scope for Moonshift: Envoy's ext_proc, or a native filter",
        "httpCall" => "an authorization call: Envoy's ext_authz; other side calls: ext_proc",
        "metadata" => "route metadata as a value: `handle:metadata():get(\"key\")` with a literal key",
        "connection" => "JWT or certificate claims: Envoy's jwt_authn `claim_to_headers`, or %DOWNSTREAM_PEER_URI_SAN%",
        "streamInfo" => "dynamic metadata: proxy-wasm writes filter state, not dynamic metadata (docs/migrating.md)",
        "trailers" => "trailers are out of scope",
        _ => WRITE_IT_NATIVE,
    };
    (why, instead)
}

const LOG_METHODS: [(&str, &str); 6] = [
    ("logTrace", "trace"),
    ("logDebug", "debug"),
    ("logInfo", "info"),
    ("logWarn", "warn"),
    ("logErr", "error"),
    ("logCritical", "critical"),
];

impl Reader<'_> {
    fn header_command(&self, name: &str) -> String {
        match self.phase {
            Phase::Request => format!("%REQ({name})%"),
            Phase::Response if name == ":status" => "%RESPONSE_CODE%".to_string(),
            Phase::Response => format!("%RESP({name})%"),
        }
    }

    /// `handle:headers():get("n")` or `headers:get("n")`: the header name.
    fn header_get(&self, e: &Expression) -> Option<String> {
        let Expression::FunctionCall(call) = e else {
            return None;
        };
        let (root, links) = chain(call.prefix(), call.suffixes())?;
        let rest = match (self.names.get(&root), links.as_slice()) {
            (Some(Binding::Handle), [(headers, _), rest @ ..]) if headers == "headers" => rest,
            (Some(Binding::Headers), rest) => rest,
            _ => return None,
        };
        match rest {
            [(get, args)] if get == "get" => match args_list(*args).as_slice() {
                [name] => string_expr(name).map(|n| n.to_ascii_lowercase()),
                _ => None,
            },
            _ => None,
        }
    }

    /// A string expression as a template, and the headers it reads.
    fn template(&mut self, e: &Expression) -> Result<(String, BTreeSet<String>), No> {
        if let Some(text) = string_expr(e) {
            let literal = Template::parse("", &text, self.phase)
                .ok()
                .and_then(|t| t.literal().map(str::to_string));
            return match literal {
                Some(_) => Ok((text, BTreeSet::new())),
                None => Err(no(
                    "the literal text reads as a template command (`%NAME%`)",
                    WRITE_IT_NATIVE,
                )),
            };
        }
        if let Some(name) = self.header_get(e) {
            self.read_header((name.clone(), None));
            if self.changed.contains(&name) {
                return Err(no(
                    format!("reads {name} after the script changed it"),
                    WRITE_IT_NATIVE,
                ));
            }
            return Ok((self.header_command(&name), BTreeSet::from([name])));
        }
        match e {
            Expression::Number(token) => Ok((token.token().to_string(), BTreeSet::new())),
            Expression::Parentheses { expression, .. } => self.template(expression),
            // `headers:get("a") or headers:get("b")`: Envoy's `%REQ(a?b)%`.
            Expression::BinaryOperator {
                lhs,
                binop: BinOp::Or(_),
                rhs,
            } => {
                let (Some(first), Some(second)) = (self.header_get(lhs), self.header_get(rhs))
                else {
                    return Err(no(
                        "`or` of something other than two header reads",
                        "a header or another: headers:get(\"a\") or headers:get(\"b\"); a default value: a set_if_absent operation before",
                    ));
                };
                if let Some(changed) = [&first, &second]
                    .into_iter()
                    .find(|h| self.changed.contains(*h))
                {
                    return Err(no(
                        format!("reads {changed} after the script changed it"),
                        WRITE_IT_NATIVE,
                    ));
                }
                if first == ":status" || second == ":status" {
                    return Err(no("`or` with :status", WRITE_IT_NATIVE));
                }
                let command = match self.phase {
                    Phase::Request => "REQ",
                    Phase::Response => "RESP",
                };
                for name in [&first, &second] {
                    self.read_header((name.clone(), None));
                }
                Ok((
                    format!("%{command}({first}?{second})%"),
                    BTreeSet::from([first, second]),
                ))
            }
            Expression::BinaryOperator {
                lhs,
                binop: BinOp::TwoDots(_),
                rhs,
            } => {
                let (a, mut reads) = self.template(lhs)?;
                let (b, more) = self.template(rhs)?;
                reads.extend(more);
                Ok((format!("{a}{b}"), reads))
            }
            Expression::Var(Var::Name(token)) => {
                let name = identifier(token).unwrap_or_default();
                match self.names.get(&name) {
                    Some(Binding::Value { template, reads }) => {
                        if let Some(changed) = reads.iter().find(|h| self.changed.contains(*h)) {
                            return Err(no(format!("`{name}` holds {changed} as it was before the script changed it"), WRITE_IT_NATIVE));
                        }
                        Ok((template.clone(), reads.clone()))
                    }
                    _ => Err(no(
                        format!("`{name}` is not a value this reader knows"),
                        WRITE_IT_NATIVE,
                    )),
                }
            }
            Expression::FunctionCall(call) => {
                let (root, links) = chain(call.prefix(), call.suffixes())
                    .ok_or_else(|| no("a call this reader does not know", WRITE_IT_NATIVE))?;
                match (root.as_str(), links.as_slice()) {
                    ("os", [(date, args)]) if date == "date" => {
                        let format = match args_list(*args).as_slice() {
                            [f] => string_expr(f),
                            _ => None,
                        };
                        match format.as_deref().and_then(|f| f.strip_prefix('!')) {
                            Some(utc) => match Format::parse(utc) {
                                Ok(_) => Ok((format!("%START_TIME({utc})%"), BTreeSet::new())),
                                Err(e) => Err(no(format!("os.date's format has {e:?}, outside the clock-only strftime subset"), "a fixed format from timestamp-header's README")),
                            },
                            None => Err(no("os.date without a literal `!` format renders local time (or a table)", "os.date(\"!...\"): UTC, which is what the Wasm renders")),
                        }
                    }
                    (handle, [(info, _), (addr, _)])
                        if matches!(self.names.get(handle), Some(Binding::Handle))
                            && info == "streamInfo"
                            && addr == "downstreamRemoteAddress" =>
                    {
                        Ok(("%DOWNSTREAM_REMOTE_ADDRESS%".into(), BTreeSet::new()))
                    }
                    (handle, [(metadata, _), (get, args)])
                        if matches!(self.names.get(handle), Some(Binding::Handle))
                            && metadata == "metadata"
                            && get == "get" =>
                    {
                        let key = match args_list(*args).as_slice() {
                            [key] => string_expr(key).filter(|k| !k.is_empty() && !k.contains(':')),
                            _ => None,
                        };
                        let key = key.ok_or_else(|| {
                            no(
                                "metadata():get() of something other than a literal key",
                                "a literal key: metadata():get(\"team\")",
                            )
                        })?;
                        self.reading.notes.push(format!(
                            "`metadata():get(\"{key}\")` becomes %METADATA(ROUTE:{LUA_FILTER}:{key})%: it reads {LUA_FILTER}, where Envoy's Lua looks when the filter's own name has no metadata; if your routes keep it under the Lua filter's own name, put that name in the template. Only a string renders (a number or table renders empty)"
                        ));
                        self.reading.reads.metadata.insert(key.clone());
                        Ok((
                            format!("%METADATA(ROUTE:{LUA_FILTER}:{key})%"),
                            BTreeSet::new(),
                        ))
                    }
                    (handle, [(method, _), ..])
                        if matches!(self.names.get(handle), Some(Binding::Handle)) =>
                    {
                        let (why, instead) = handle_call(method);
                        Err(no(why, instead))
                    }
                    _ => Err(no("a call this reader does not know", WRITE_IT_NATIVE)),
                }
            }
            _ => Err(no(
                "an expression this reader does not turn into a value",
                WRITE_IT_NATIVE,
            )),
        }
    }

    /// A condition as `when` entries (all must hold).
    fn condition(&mut self, e: &Expression) -> Result<Vec<Value>, No> {
        match e {
            Expression::Parentheses { expression, .. } => self.condition(expression),
            Expression::BinaryOperator {
                lhs,
                binop: BinOp::And(_),
                rhs,
            } => {
                let mut all = self.condition(lhs)?;
                all.extend(self.condition(rhs)?);
                Ok(all)
            }
            Expression::UnaryOperator {
                unop: UnOp::Not(_),
                expression,
            } => match self.condition(expression)?.as_slice() {
                [one] => Ok(vec![json!({"not": one})]),
                _ => Err(no(
                    "`not` of several conditions",
                    "split the `if`, or write the negations one by one",
                )),
            },
            Expression::BinaryOperator {
                lhs,
                binop: op @ (BinOp::TwoEqual(_) | BinOp::TildeEqual(_)),
                rhs,
            } => {
                let equal = matches!(op, BinOp::TwoEqual(_));
                let (subject, other) = match self.header_subject(lhs) {
                    Some(name) => (name, rhs),
                    None => (
                        self.header_subject(rhs).ok_or_else(|| {
                            no(
                                "a comparison of something other than a header",
                                WRITE_IT_NATIVE,
                            )
                        })?,
                        lhs,
                    ),
                };
                let test = if is_nil(other) {
                    self.read_header((subject.clone(), None));
                    self.header_test(&subject, json!({"present": !equal}))?
                } else if let Some(value) = string_expr(other) {
                    let test = self.exact(&subject, &value)?;
                    if equal {
                        test
                    } else {
                        json!({"not": test})
                    }
                } else {
                    return Err(no(
                        "a comparison with something other than nil or a string literal",
                        WRITE_IT_NATIVE,
                    ));
                };
                Ok(vec![test])
            }
            _ => {
                if let Some(name) = self.header_subject(e) {
                    self.read_header((name.clone(), None));
                    return Ok(vec![self.header_test(&name, json!({"present": true}))?]);
                }
                self.match_call(e).map(|c| vec![c])
            }
        }
    }

    /// A header read as a condition's subject (`headers:get("x")` or a name bound to one).
    fn header_subject(&self, e: &Expression) -> Option<String> {
        if let Some(name) = self.header_get(e) {
            return Some(name);
        }
        if let Expression::Var(Var::Name(token)) = e {
            if let Some(Binding::Value { template, reads }) = self.names.get(&identifier(token)?) {
                let name = reads.iter().next()?;
                if reads.len() == 1 && *template == self.header_command(name) {
                    return Some(name.clone());
                }
            }
        }
        None
    }

    fn header_test(&mut self, name: &str, test: Value) -> Result<Value, No> {
        if self.changed.contains(name) {
            return Err(no(
                format!("tests {name} after the script changed it"),
                WRITE_IT_NATIVE,
            ));
        }
        // `headers:get(":path")` is the whole path, query included: a header test on `:path`
        // (a `path` condition sees the path without its query, as RBAC's url_path does).
        Ok(match (name, self.phase) {
            (":status", Phase::Response) => {
                return Err(no("a test of :status other than equality", WRITE_IT_NATIVE))
            }
            _ => {
                let mut header = json!({"name": name});
                if let (Some(h), Some(t)) = (header.as_object_mut(), test.as_object()) {
                    h.extend(t.clone());
                }
                json!({"header": header})
            }
        })
    }

    fn exact(&mut self, name: &str, value: &str) -> Result<Value, No> {
        match (name, self.phase) {
            (":method", Phase::Request) => {
                self.reading.reads.methods.insert(value.to_string());
                Ok(json!({"method": [value]}))
            }
            (":status", Phase::Response) => value
                .parse::<u16>()
                .map(|code| json!({"status": [code]}))
                .map_err(|_| no("a status compared with a non-number", WRITE_IT_NATIVE)),
            (":path", Phase::Request) => {
                self.reading.reads.paths.insert(value.to_string());
                self.header_test(name, json!({"exact": value}))
            }
            _ => {
                self.read_header((name.to_string(), Some(value.to_string())));
                self.header_test(name, json!({"exact": value}))
            }
        }
    }

    /// `v:match("p")`, `string.match(v, "p")`, `string.find(v, "p")`, `string.find(v, "s", 1,
    /// true)`: a Lua pattern (or a plain substring) test.
    fn match_call(&mut self, e: &Expression) -> Result<Value, No> {
        let unknown = || no("a condition this reader does not know", WRITE_IT_NATIVE);
        let Expression::FunctionCall(call) = e else {
            return Err(unknown());
        };
        let mut suffixes: Vec<&Suffix> = call.suffixes().collect();
        // `subject:match("p")`: the subject is everything before the last method call.
        let (subject, args, plain) = match suffixes.pop() {
            Some(Suffix::Call(Call::MethodCall(m)))
                if matches!(identifier(m.name()).as_deref(), Some("match" | "find")) =>
            {
                let subject = match call.prefix() {
                    Prefix::Name(token) if suffixes.is_empty() => {
                        Expression::Var(Var::Name(token.clone()))
                    }
                    prefix => Expression::FunctionCall(
                        ast::FunctionCall::new(prefix.clone())
                            .with_suffixes(suffixes.into_iter().cloned().collect()),
                    ),
                };
                let list = args_list(Some(m.args()));
                let plain = identifier(m.name()).as_deref() == Some("find") && list.len() == 3;
                (subject, list.first().and_then(|p| string_expr(p)), plain)
            }
            _ => match chain(call.prefix(), call.suffixes()) {
                Some((root, links)) if root == "string" => match links.as_slice() {
                    [(f, args)] if f == "match" || f == "find" => {
                        let list = args_list(*args);
                        let plain = f == "find" && list.len() == 4;
                        match list.as_slice() {
                            [subject, pattern, ..] => {
                                ((*subject).clone(), string_expr(pattern), plain)
                            }
                            _ => return Err(unknown()),
                        }
                    }
                    _ => return Err(unknown()),
                },
                _ => return Err(unknown()),
            },
        };
        let name = self.header_subject(&subject).ok_or_else(unknown)?;
        let pattern =
            args.ok_or_else(|| no("a pattern that is not a string literal", WRITE_IT_NATIVE))?;
        if name != ":path" {
            self.reading.notes.push(format!(
                "`{}` raises in Lua when {name} is absent (the script then stops, failing open); the condition is simply false",
                code_of(call, self.source)
            ));
        }
        if name == ":path" {
            self.reading.reads.paths.insert(
                pattern
                    .trim_start_matches('^')
                    .trim_end_matches('$')
                    .replace('%', ""),
            );
        } else {
            self.read_header((name.clone(), Some(pattern.clone())));
        }
        let test = if plain {
            json!({"contains": pattern})
        } else {
            json!({"lua_pattern": pattern})
        };
        self.header_test(&name, test)
    }

    /// A value read from a header the conditions do not require: the Lua raises on a missing
    /// one (`"x" .. nil`, `add(name, nil)`) and stops there, failing open; the Wasm goes on.
    fn note_unguarded(
        &mut self,
        node: &impl Node,
        reads: &BTreeSet<String>,
        when: &[Value],
        wasm_does: &str,
    ) {
        let guarded = condition_headers(&json!(when));
        for header in reads {
            let always_there = matches!(
                header.as_str(),
                ":path" | ":method" | ":authority" | ":scheme" | ":status"
            );
            if !always_there && !guarded.contains(header) {
                self.reading.notes.push(format!(
                    "line {}: `{}` raises in Lua when {header} is absent (the script stops there and the request goes on); the Wasm {wasm_does}. Guard it (`if v then ... end`) to make both skip it",
                    position(node).0,
                    code_of(node, self.source)
                ));
            }
        }
    }

    fn unconverted(&mut self, node: &impl Node, why: No) {
        let (line, column) = position(node);
        self.reading.unconverted.push(Unconverted {
            line,
            column,
            code: code_of(node, self.source),
            why: why.why,
            instead: why.instead.to_string(),
        });
    }

    fn converted(&mut self, node: &impl Node, became: String) {
        let (line, _) = position(node);
        self.reading.converted.push(Converted {
            line,
            code: code_of(node, self.source),
            became,
        });
    }

    fn push(&mut self, step: Step) {
        match self.phase {
            Phase::Request => self.reading.request.push(step),
            Phase::Response => self.reading.response.push(step),
        }
    }

    fn block(&mut self, block: &ast::Block, when: &[Value]) {
        for stmt in block.stmts() {
            self.stmt(stmt, when);
        }
        match block.last_stmt() {
            None => {}
            Some(LastStmt::Return(r)) if r.returns().is_empty() => {}
            Some(other) => self.unconverted(
                other,
                no("a return with values, or a break", WRITE_IT_NATIVE),
            ),
        }
    }

    fn stmt(&mut self, stmt: &Stmt, when: &[Value]) {
        match stmt {
            Stmt::LocalAssignment(local) => {
                let names: Vec<String> = local.names().iter().filter_map(identifier).collect();
                let values: Vec<&Expression> = local.expressions().iter().collect();
                let ([name], [value]) = (names.as_slice(), values.as_slice()) else {
                    return self.unconverted(local, no("a local assignment of several names or none", WRITE_IT_NATIVE));
                };
                if let Expression::FunctionCall(call) = value {
                    if let Some((root, links)) = chain(call.prefix(), call.suffixes()) {
                        if matches!(self.names.get(&root), Some(Binding::Handle)) && matches!(links.as_slice(), [(h, _)] if h == "headers") {
                            self.names.insert(name.clone(), Binding::Headers);
                            return;
                        }
                    }
                }
                match self.template(value) {
                    Ok((template, reads)) => {
                        self.names.insert(name.clone(), Binding::Value { template, reads });
                    }
                    Err(why) => self.unconverted(local, why),
                }
            }
            Stmt::FunctionCall(call) => self.call(call, when),
            Stmt::If(branch) => self.if_chain(branch, when),
            other => self.unconverted(other, no("a statement this reader does not know (loops, assignments to globals, nested functions)", WRITE_IT_NATIVE)),
        }
    }

    /// `if A then X elseif B then Y else Z end`: X under A, Y under `not A` and B, Z under
    /// `not A` and `not B`. The Lua tests once, before any arm runs; the operations test as
    /// they run, so no arm may change a header any of the conditions tests, and a condition an
    /// arm after it negates must be one test (the negation of several is an `or`).
    fn if_chain(&mut self, branch: &ast::If, when: &[Value]) {
        let mut arms: Vec<(Option<&Expression>, &ast::Block)> =
            vec![(Some(branch.condition()), branch.block())];
        for arm in branch.else_if().into_iter().flatten() {
            arms.push((Some(arm.condition()), arm.block()));
        }
        if let Some(block) = branch.else_block() {
            arms.push((None, block));
        }
        let last = arms.len() - 1;
        let changed_before = self.changed.clone();
        let mut earlier_failed: Vec<Value> = Vec::new();
        let mut tested = BTreeSet::new();
        for (i, (condition, block)) in arms.into_iter().enumerate() {
            let own = match condition.map(|c| (c, self.condition(c))) {
                None => Vec::new(),
                Some((_, Ok(own))) => own,
                Some((c, Err(why))) => return self.unconverted(c, why),
            };
            let mut inner = when.to_vec();
            inner.extend(earlier_failed.iter().cloned());
            inner.extend(own.iter().cloned());
            tested.extend(condition_headers(&json!(inner)));
            self.block(block, &inner);
            if i < last {
                match (own.as_slice(), condition) {
                    ([one], _) => earlier_failed.push(json!({"not": one})),
                    (_, Some(c)) => {
                        return self.unconverted(
                            c,
                            no(
                                "an `elseif` or `else` after a condition of several tests (it runs when any of them fails: an `or`)",
                                "one `if` per case, each with its whole condition",
                            ),
                        )
                    }
                    (_, None) => {}
                }
            }
        }
        // An operation that changes a header a condition tests would change the answer for the
        // operations after it; the Lua tested once.
        if let Some(h) = self
            .changed
            .difference(&changed_before)
            .find(|h| tested.contains(*h))
        {
            let h = h.clone();
            self.unconverted(
                branch,
                no(
                    format!("the `if` changes {h}, which its condition tests"),
                    WRITE_IT_NATIVE,
                ),
            );
        }
    }

    /// Records that the script reads header `name` (compared with `value`) in this phase.
    fn read_header(&mut self, read: (String, Option<String>)) {
        match self.phase {
            Phase::Request => self.reading.reads.headers.insert(read),
            Phase::Response => self.reading.reads.response_headers.insert(read),
        };
    }

    fn call(&mut self, call: &ast::FunctionCall, when: &[Value]) {
        let Some((root, links)) = chain(call.prefix(), call.suffixes()) else {
            return self.unconverted(
                call,
                no("a call this reader does not know", WRITE_IT_NATIVE),
            );
        };
        let on_headers = match (self.names.get(&root), links.as_slice()) {
            (Some(Binding::Handle), [(h, _), (op, args)]) if h == "headers" => {
                Some((op.clone(), *args))
            }
            (Some(Binding::Headers), [(op, args)]) => Some((op.clone(), *args)),
            _ => None,
        };
        if let Some((op, args)) = on_headers {
            return self.header_op(call, &op, &args_list(args), when);
        }
        match (self.names.get(&root), links.as_slice()) {
            (Some(Binding::Handle), [(method, args)])
                if LOG_METHODS.iter().any(|(m, _)| m == method) =>
            {
                let level = LOG_METHODS
                    .iter()
                    .find(|(m, _)| m == method)
                    .map_or("info", |(_, l)| l);
                if self.phase == Phase::Response {
                    return self.unconverted(
                        call,
                        no(
                            "a log line in envoy_on_response",
                            "path-logger logs on the request; for responses use Envoy's access log",
                        ),
                    );
                }
                if !when.is_empty() {
                    return self.unconverted(
                        call,
                        no(
                            "a log line under a condition",
                            "Envoy's access log with a filter, or an unconditional log line",
                        ),
                    );
                }
                match args_list(*args).as_slice() {
                    [message] => match self.template(message) {
                        Ok((template, reads)) => {
                            self.note_unguarded(call, &reads, when, "logs `-` for it");
                            self.converted(call, format!("path-logger: {level} {template:?}"));
                            self.push(Step::Log(json!({"level": level, "message": template})));
                        }
                        Err(why) => self.unconverted(call, why),
                    },
                    _ => self.unconverted(
                        call,
                        no("a log call without exactly one argument", WRITE_IT_NATIVE),
                    ),
                }
            }
            (Some(Binding::Handle), [(respond, args)]) if respond == "respond" => {
                self.respond(call, &args_list(*args), when)
            }
            (Some(Binding::Handle), [(method, _), ..]) => {
                let (why, instead) = handle_call(method);
                self.unconverted(call, no(why, instead))
            }
            _ => self.unconverted(
                call,
                no("a call this reader does not know", WRITE_IT_NATIVE),
            ),
        }
    }

    fn header_op(
        &mut self,
        call: &ast::FunctionCall,
        op: &str,
        args: &[&Expression],
        when: &[Value],
    ) {
        let action = match op {
            "add" => "add",
            "replace" => "set",
            "remove" => "remove",
            other => {
                return self.unconverted(call, no(format!("headers():{other}()"), WRITE_IT_NATIVE))
            }
        };
        let Some(name) = args
            .first()
            .and_then(|n| string_expr(n))
            .map(|n| n.to_ascii_lowercase())
        else {
            return self.unconverted(
                call,
                no(
                    "a header name that is not a string literal",
                    WRITE_IT_NATIVE,
                ),
            );
        };
        // A rewrite of where the request goes is converted (request-decorator's `rewrite`);
        // any other change to a pseudo-header is not.
        let rewrite = matches!(name.as_str(), ":path" | ":authority")
            && action == "set"
            && self.phase == Phase::Request;
        if name.starts_with(':') && !rewrite {
            return self.unconverted(
                call,
                no(
                    format!("a change to the pseudo-header {name}"),
                    "Envoy's route `prefix_rewrite` / `regex_rewrite`",
                ),
            );
        }
        let mut entry = json!({"action": action, "name": name});
        if rewrite {
            entry["rewrite"] = json!(true);
        }
        match (action, args.get(1)) {
            ("remove", None) => {}
            ("remove", Some(_)) | (_, None) => {
                return self.unconverted(
                    call,
                    no("a header call with the wrong arguments", WRITE_IT_NATIVE),
                )
            }
            (_, Some(value)) => match self.template(value) {
                Ok((template, reads)) => {
                    if let Some(why) = rewrite
                        .then(|| refused_rewrite(&entry, &template))
                        .flatten()
                    {
                        return self.unconverted(
                            call,
                            no(
                                format!("a {name} rewrite request-decorator refuses: {why}"),
                                "Envoy's route `prefix_rewrite` / `regex_rewrite` / `host_rewrite_literal`",
                            ),
                        );
                    }
                    self.note_unguarded(call, &reads, when, "renders it empty");
                    entry["value"] = json!(template);
                }
                Err(why) => return self.unconverted(call, why),
            },
        }
        if !when.is_empty() {
            entry["when"] = json!(when);
        }
        let filter = match self.phase {
            Phase::Request => "request-decorator",
            Phase::Response => "response-decorator",
        };
        self.converted(call, format!("{filter}: {entry}"));
        self.changed.insert(name);
        self.push(Step::Header(entry));
    }

    fn respond(&mut self, call: &ast::FunctionCall, args: &[&Expression], when: &[Value]) {
        if self.phase == Phase::Response {
            return self.unconverted(
                call,
                no(
                    "respond() in envoy_on_response (Envoy refuses it)",
                    "a response-decorator operation",
                ),
            );
        }
        let Some(Expression::TableConstructor(table)) = args.first() else {
            return self.unconverted(
                call,
                no("respond() without a literal header table", WRITE_IT_NATIVE),
            );
        };
        let mut status = None;
        let mut headers = Vec::new();
        for field in table.fields().iter() {
            let (key, value) = match field {
                Field::ExpressionKey { key, value, .. } => (string_expr(key), value),
                Field::NameKey { key, value, .. } => (identifier(key), value),
                _ => {
                    return self.unconverted(
                        call,
                        no(
                            "a reply header table with positional entries",
                            WRITE_IT_NATIVE,
                        ),
                    )
                }
            };
            let Some(key) = key else {
                return self.unconverted(
                    call,
                    no(
                        "a reply header whose name is not a literal",
                        WRITE_IT_NATIVE,
                    ),
                );
            };
            match self.template(value) {
                Ok((v, _)) if key == ":status" => status = v.parse::<u16>().ok(),
                Ok((v, _)) => headers.push(json!({"name": key.to_ascii_lowercase(), "value": v})),
                Err(why) => return self.unconverted(call, why),
            }
        }
        let Some(status) = status else {
            return self.unconverted(
                call,
                no(
                    "a reply whose :status is not a literal number",
                    WRITE_IT_NATIVE,
                ),
            );
        };
        let body = match args.get(1) {
            None => String::new(),
            Some(b) => match self.template(b) {
                Ok((b, _)) => b,
                Err(why) => return self.unconverted(call, why),
            },
        };
        let mut rule = json!({"status": status, "headers": headers, "body": body});
        if !when.is_empty() {
            rule["when"] = json!(when);
        }
        self.converted(call, format!("local-reply: {rule}"));
        self.push(Step::Reply(rule));
    }
}

/// The headers a `when` list tests (`:path` for path tests, `:method` for method tests).
fn condition_headers(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match value {
        Value::Array(items) => items.iter().for_each(|i| out.extend(condition_headers(i))),
        Value::Object(map) => {
            for (key, item) in map {
                match key.as_str() {
                    "header" => {
                        if let Some(name) = item.get("name").and_then(Value::as_str) {
                            out.insert(name.to_string());
                        }
                    }
                    "path" => {
                        out.insert(":path".into());
                    }
                    "method" => {
                        out.insert(":method".into());
                    }
                    _ => out.extend(condition_headers(item)),
                }
            }
        }
        _ => {}
    }
    out
}

/// Reads `source`: its `envoy_on_request` and `envoy_on_response`, statement by statement.
pub fn read(source: &str) -> Result<Reading, String> {
    let ast = full_moon::parse(source).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        format!("the Lua does not parse: {first}")
    })?;
    let mut reading = Reading::default();
    for stmt in ast.nodes().stmts() {
        let Stmt::FunctionDeclaration(function) = stmt else {
            let mut reader = Reader {
                phase: Phase::Request,
                names: HashMap::new(),
                changed: BTreeSet::new(),
                reading: &mut reading,
                source,
            };
            reader.unconverted(
                stmt,
                no(
                    "code outside envoy_on_request and envoy_on_response (state kept per worker)",
                    WRITE_IT_NATIVE,
                ),
            );
            continue;
        };
        let name = function
            .name()
            .names()
            .iter()
            .filter_map(identifier)
            .collect::<Vec<_>>()
            .join(".");
        let phase = match name.as_str() {
            "envoy_on_request" => Phase::Request,
            "envoy_on_response" => Phase::Response,
            _ => {
                let mut reader = Reader {
                    phase: Phase::Request,
                    names: HashMap::new(),
                    changed: BTreeSet::new(),
                    reading: &mut reading,
                    source,
                };
                reader.unconverted(stmt, no(format!("the function {name}"), WRITE_IT_NATIVE));
                continue;
            }
        };
        let mut names = HashMap::new();
        if let Some(ast::Parameter::Name(handle)) = function.body().parameters().iter().next() {
            names.insert(identifier(handle).unwrap_or_default(), Binding::Handle);
        }
        let mut reader = Reader {
            phase,
            names,
            changed: BTreeSet::new(),
            reading: &mut reading,
            source,
        };
        reader.block(function.body().block(), &[]);
    }
    Ok(reading)
}

/// Why request-decorator's own validation refuses the rewrite `entry` with `template` as its
/// value, or `None` when it accepts it.
fn refused_rewrite(entry: &Value, template: &str) -> Option<String> {
    let mut op = entry.clone();
    op["value"] = json!(template);
    let op: OperationConfig = serde_json::from_value(op).ok()?;
    operations::validate(&[op], Phase::Request)
        .err()
        .map(|e| e.to_string())
}
