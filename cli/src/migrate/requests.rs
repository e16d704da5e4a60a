//! The requests a migration is compared on, derived from the script's own tests: for each
//! test a request that makes it true and one that makes it false (headers present, absent and
//! empty; each method named, plus OPTIONS and HEAD; paths either side of each prefix, suffix
//! and pattern; header names either side of each removed prefix), and for each branch one that
//! takes it. The branch count: how many of the script's branches some request takes.

use super::lua::values::{terms, Cond};
use super::lua::{Reading, Reads};
use super::samples::{matching, sample};
use moonshift_harness::scenario::ExchangeSpec;
use moonshift_shared::lua_pattern::LuaPattern;
use moonshift_shared::template::Phase;
use serde_json::{json, Value};

/// A request as generated: the request line, headers, and the upstream's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub authority: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
}

impl Default for Req {
    fn default() -> Self {
        Req {
            method: "GET".into(),
            path: "/".into(),
            authority: "moonshift.test".into(),
            headers: Vec::new(),
            status: 200,
            response_headers: Vec::new(),
        }
    }
}

/// The most requests one migration is compared on (per route variant).
pub const MAX_REQUESTS: usize = 96;

/// Sets `name` to `value` (`None`: absent) on `req`, in `phase`.
fn set(req: &mut Req, phase: Phase, name: &str, value: Option<String>) {
    match (name, value) {
        (":path", Some(v)) => {
            req.path = if v.starts_with('/') {
                v
            } else {
                format!("/{v}")
            }
        }
        (":method", Some(v)) => req.method = v,
        (":authority", Some(v)) if !v.is_empty() => req.authority = v,
        (":status", Some(v)) => req.status = v.parse().unwrap_or(200),
        (n, _) if n.starts_with(':') => {}
        (n, value) => {
            let list = match phase {
                Phase::Request => &mut req.headers,
                Phase::Response => &mut req.response_headers,
            };
            list.retain(|(k, _)| k != n);
            if let Some(v) = value {
                list.push((n.to_string(), v));
            }
        }
    }
}

/// Changes `req` so that `atom` holds (`want`), when it can.
fn apply(req: &mut Req, phase: Phase, atom: &Value, want: bool) {
    if let Some(methods) = atom.get("method").and_then(Value::as_array) {
        req.method = match want {
            true => methods
                .first()
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_string(),
            false => ["OPTIONS", "HEAD", "PATCH", "GET"]
                .iter()
                .find(|m| !methods.contains(&json!(m)))
                .unwrap_or(&"TRACE")
                .to_string(),
        };
        return;
    }
    if let Some(codes) = atom.get("status").and_then(Value::as_array) {
        let code = codes.first().and_then(Value::as_u64).unwrap_or(200) as u16;
        req.status = if want {
            code
        } else if code == 404 {
            200
        } else {
            404
        };
        return;
    }
    if let Some(prefix) = atom.get("name_prefix").and_then(Value::as_str) {
        let name = if want {
            format!("{prefix}moonshift")
        } else {
            "x-moonshift-other".to_string()
        };
        set(req, phase, &name, Some("1".into()));
        return;
    }
    if let Some(exact) = atom.get("name_exact").and_then(Value::as_str) {
        let name = match want {
            true => exact.to_string(),
            false => format!("{exact}-other"),
        };
        set(req, phase, &name, Some("1".into()));
        return;
    }
    let Some(h) = atom.get("header") else { return };
    let name = h.get("name").and_then(Value::as_str).unwrap_or_default();
    let text = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_string);
    let value = if let Some(present) = h.get("present").and_then(Value::as_bool) {
        (present == want).then(|| "moonshift".to_string())
    } else if let Some(v) = text("exact") {
        Some(if want { v } else { format!("{v}x") })
    } else if let Some(p) = text("prefix") {
        Some(if want {
            format!("{p}moonshift")
        } else {
            format!("/x{p}")
        })
    } else if let Some(s) = text("suffix") {
        Some(if want {
            format!("/moonshift{s}")
        } else {
            format!("{s}x")
        })
    } else if let Some(c) = text("contains") {
        Some(if want {
            format!("/a{c}b")
        } else {
            "/ab".to_string()
        })
    } else if let Some(p) = text("lua_pattern") {
        sample(&p, want)
    } else {
        None
    };
    set(req, phase, name, value);
}

/// Whether `atom` holds for `req`, as the conditions test it.
fn holds(req: &Req, phase: Phase, atom: &Value) -> bool {
    if let Some(methods) = atom.get("method").and_then(Value::as_array) {
        return methods.contains(&json!(req.method));
    }
    if let Some(codes) = atom.get("status").and_then(Value::as_array) {
        return codes.contains(&json!(req.status));
    }
    if let Some(prefix) = atom.get("name_prefix").and_then(Value::as_str) {
        return req.headers.iter().any(|(k, _)| k.starts_with(prefix));
    }
    if let Some(exact) = atom.get("name_exact").and_then(Value::as_str) {
        return req.headers.iter().any(|(k, _)| k == exact);
    }
    let Some(h) = atom.get("header") else {
        return false;
    };
    let name = h.get("name").and_then(Value::as_str).unwrap_or_default();
    let value = match (name, phase) {
        (":path", _) => Some(req.path.clone()),
        (":method", _) => Some(req.method.clone()),
        (":authority", _) => Some(req.authority.clone()),
        (":status", Phase::Response) => Some(req.status.to_string()),
        (n, Phase::Request) => {
            let all: Vec<&str> = req
                .headers
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect();
            (!all.is_empty()).then(|| all.join(","))
        }
        (n, Phase::Response) => req
            .response_headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone()),
    };
    let text = |k: &str| h.get(k).and_then(Value::as_str);
    match (value, h.get("present").and_then(Value::as_bool)) {
        (v, Some(present)) => v.is_some() == present,
        (None, None) => false,
        (Some(v), None) => {
            if let Some(x) = text("exact") {
                v == x
            } else if let Some(x) = text("prefix") {
                v.starts_with(x)
            } else if let Some(x) = text("suffix") {
                v.ends_with(x)
            } else if let Some(x) = text("contains") {
                v.contains(x)
            } else if let Some(x) = text("lua_pattern") {
                LuaPattern::parse(x.as_bytes()).is_ok_and(|p| p.find(v.as_bytes()))
            } else {
                false
            }
        }
    }
}

/// Whether `c` holds for `req`.
pub fn eval(c: &Cond, req: &Req, phase: Phase) -> bool {
    match c {
        Cond::Const(b) => *b,
        Cond::Atom(a) => holds(req, phase, a),
        Cond::Not(x) => !eval(x, req, phase),
        Cond::And(xs) => xs.iter().all(|x| eval(x, req, phase)),
        Cond::Or(xs) => xs.iter().any(|x| eval(x, req, phase)),
    }
}

/// The requests for `readings`: a plain GET and POST, each test true and false, each branch's
/// cases, each method named plus OPTIONS and HEAD.
pub fn derive_all(readings: &[&Reading]) -> Vec<Req> {
    let mut out = vec![
        Req::default(),
        Req {
            method: "POST".into(),
            path: "/orders/42?page=2".into(),
            ..Req::default()
        },
    ];
    let push = |req: Req, out: &mut Vec<Req>| {
        if !out.contains(&req) {
            out.push(req);
        }
    };
    for reading in readings {
        for (phase, branch) in &reading.branches {
            let mut atoms = Vec::new();
            branch.atoms(&mut atoms);
            for atom in &atoms {
                for want in [true, false] {
                    let mut req = Req::default();
                    apply(&mut req, *phase, atom, want);
                    push(req, &mut out);
                }
                // Present but empty.
                if let Some(name) = atom
                    .get("header")
                    .and_then(|h| h.get("name"))
                    .and_then(Value::as_str)
                {
                    let mut req = Req::default();
                    set(&mut req, *phase, name, Some(String::new()));
                    push(req, &mut out);
                }
            }
            for case in terms(branch).unwrap_or_default().iter().take(4) {
                let mut req = Req::default();
                for (positive, atom) in case {
                    apply(&mut req, *phase, atom, *positive);
                }
                push(req, &mut out);
            }
        }
    }
    let reads = Reads::of(readings);
    // Each substitution made on a value that holds a match, once and twice.
    for (name, pattern) in &reads.substituted {
        let Some(hit) = matching(pattern) else {
            continue;
        };
        let values = match name.as_str() {
            ":path" => vec![
                format!("/?{hit}"),
                format!("/x?a=1{hit}"),
                format!("/x?{hit}a=1&{hit}"),
            ],
            _ => vec![hit.clone(), format!("x{hit}, {hit}")],
        };
        for value in values {
            let mut req = Req::default();
            set(&mut req, Phase::Request, name, Some(value));
            push(req, &mut out);
        }
    }
    for method in reads
        .methods
        .iter()
        .map(String::as_str)
        .chain(["OPTIONS", "HEAD"])
    {
        push(
            Req {
                method: method.to_string(),
                ..Req::default()
            },
            &mut out,
        );
    }
    out.truncate(MAX_REQUESTS);
    out
}

/// How many of the branches of `readings` some request in `requests` takes, of how many.
pub fn branches_taken_all(readings: &[&Reading], requests: &[Req]) -> (usize, usize) {
    let all: Vec<&(Phase, Cond)> = readings.iter().flat_map(|r| &r.branches).collect();
    let taken = all
        .iter()
        .filter(|(phase, c)| requests.iter().any(|r| eval(c, r, *phase)))
        .count();
    (taken, all.len())
}

/// `req` as the compare takes it.
pub fn spec(req: &Req) -> Option<ExchangeSpec> {
    let mut request: Vec<(String, String)> = vec![
        (":authority".into(), req.authority.clone()),
        (":path".into(), req.path.clone()),
        (":method".into(), req.method.clone()),
        (":scheme".into(), "http".into()),
    ];
    request.extend(req.headers.iter().cloned());
    let mut spec = json!({"request": request});
    if req.status != 200 || !req.response_headers.is_empty() {
        spec["upstream"] = json!({"status": req.status, "headers": req.response_headers});
    }
    serde_json::from_value(spec).ok()
}
