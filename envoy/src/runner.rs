//! Long because: one scenario played three ways (Lua, Wasm, native) over two protocols, and
//! turned into the harness's outcomes, is one flow; the per-flavour pieces are each short.
//!
//! Plays a scenario file (the in-process suite's format) against a real Envoy, with the filter
//! as its Lua reference, as its Wasm module, or as Envoy's native filter where it has one, over
//! HTTP/1.1 or HTTP/2, and turns what happened into the harness's [`Outcome`]s so the same diff
//! compares them.
//!
//! What a real Envoy adds or varies is normalised by rule before comparing ([`canonical`]): the
//! headers Envoy itself adds (`x-request-id`, `date`, ...), the clock (a header a filter stamps
//! with the time is accepted when it is its format rendered at a second the request was in
//! flight), fresh UUIDs, and
//! `x-ratelimit-reset` within one second.

use crate::envoy::{self, Envoy};
use crate::h2client;
use crate::http::Request;
use crate::paths;
use crate::upstream::{Reply, Upstream};
use moonshift_harness::exchange::{
    has_body, mask_unique_ids, renders_unique_ids, show_bytes, Header, Level, LogLine, Outcome,
    Response, RouteMetadata, UPSTREAM_BODY,
};
use moonshift_harness::lua_config;
use moonshift_harness::scenario::{ExchangeSpec, Scenario};
use moonshift_shared::strftime::Format;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the filter runs in Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Lua,
    Wasm,
    /// Envoy's own filter doing the same, for a filter whose crate declares one
    /// (`moonshift_bundle::native`).
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    /// HTTP/2 with prior knowledge, cleartext.
    Http2,
}

/// The most a scenario may sleep in Envoy (its `advance_ms` summed); longer ones stay in-process.
pub const MAX_SLEEP_MS: u64 = 4_000;

/// Why a scenario cannot be played in Envoy as written, or `Ok`.
pub fn playable(scenario: &Scenario) -> Result<(), String> {
    if let Some(why) = &scenario.not_in_envoy {
        return Err(why.clone());
    }
    if scenario.workers > 1 {
        return Err("chooses workers per exchange; Envoy picks the worker (the concurrency tests cover workers)".into());
    }
    let sleep: u64 = scenario.exchanges.iter().map(|e| e.advance_ms).sum();
    if sleep > MAX_SLEEP_MS {
        return Err(format!("moves the clock {sleep} ms; Envoy's clock is real"));
    }
    Ok(())
}

/// The Lua filter entry for the script at `source` with `config` rendered into its `config`
/// table (a script without one runs as written), written to `path`, where Envoy loads it.
pub fn lua_entry(
    source: &std::path::Path,
    config: Option<&Value>,
    path: &std::path::Path,
) -> Result<Value, String> {
    let text = std::fs::read_to_string(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let rendered = match lua_config::takes_config(&text) {
        true => {
            lua_config::render(&text, config).map_err(|e| format!("{}: {e}", source.display()))?
        }
        false => text,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, rendered).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(envoy::lua_filter_at(path))
}

/// The HTTP filter entry for `flavour`; Lua configs are rendered into a file under `dir`.
pub fn filter_entry(
    filter: &str,
    config: Option<&Value>,
    flavour: Flavour,
    dir: &std::path::Path,
) -> Result<Value, String> {
    match flavour {
        Flavour::Wasm => Ok(envoy::wasm_filter_at(
            filter,
            &paths::try_wasm_module(filter)?,
            config.map(Value::to_string).as_deref(),
        )),
        Flavour::Lua => lua_entry(
            &paths::lua_reference(filter),
            config,
            &dir.join(format!("{filter}.lua")),
        ),
        // The filter's own translation (its crate's), on this runner's one worker.
        Flavour::Native => moonshift_bundle::native(filter, config, 1),
    }
}

/// Whether Envoy answers this request path itself, with a 400, before any HTTP filter runs: an
/// empty path, or one with bytes outside printable ASCII (docs/envoy.md §4). Such exchanges are
/// still played, over HTTP/1.1 (a raw socket sends any bytes); what they show is Envoy's reply,
/// not the filter's, so they are compared Lua against Wasm in Envoy, not against in-process.
pub fn answered_by_envoy(path: &[u8]) -> bool {
    path.is_empty() || !path.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The client request for an exchange, or `None` when it has no `:path` to send.
pub fn client_request(spec: &ExchangeSpec) -> Option<Request> {
    let exchange = spec.exchange();
    let mut request = Request::get("/");
    let mut path = None;
    request.headers.clear();
    for (name, value) in exchange.request_headers {
        match name.as_str() {
            ":path" => path = Some(value),
            ":method" => request.method = String::from_utf8_lossy(&value).into_owned(),
            ":authority" => request.authority = String::from_utf8_lossy(&value).into_owned(),
            ":scheme" => {}
            _ => request.headers.push((name, value)),
        }
    }
    request.path = path?;
    Some(request)
}

fn level(tag: &str) -> Option<Level> {
    Some(match tag {
        "trace" => Level::Trace,
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warning" => Level::Warn,
        "error" => Level::Error,
        "critical" => Level::Critical,
        _ => return None,
    })
}

/// The filter's own log lines in a piece of Envoy's log: `script log: ` (Lua) and
/// `wasm log <plugin> <root_id>: ` (Wasm) messages, raw bytes kept.
pub fn filter_logs(log: &[u8]) -> Vec<LogLine> {
    let mut lines = Vec::new();
    for line in log.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let Some(tag) = text.split("][").nth(2) else {
            continue;
        };
        let Some(level) = level(tag) else { continue };
        let find = |needle: &[u8]| line.windows(needle.len()).position(|w| w == needle);
        let message = if let Some(at) = find(b"script log: ") {
            line.get(at + "script log: ".len()..).unwrap_or_default()
        } else if let Some(at) = find(b"wasm log ") {
            let rest = line.get(at..).unwrap_or_default();
            match rest.windows(2).position(|w| w == b": ") {
                Some(colon) => rest.get(colon + 2..).unwrap_or_default(),
                None => continue,
            }
        } else {
            continue;
        };
        lines.push(LogLine {
            level,
            message: message.to_vec(),
        });
    }
    lines
}

/// What one scenario did in Envoy: per exchange, the outcome (`None`: not sendable over this
/// protocol) and the wall-clock seconds it was in flight.
#[derive(Debug)]
pub struct Played {
    pub outcomes: Vec<Option<(Outcome, (u64, u64))>>,
    pub stats: std::collections::BTreeMap<String, u64>,
}

/// How far the clock Lua's `os.date` reads may lag the precise one. LuaJIT calls `time()`,
/// which glibc answers from the kernel's coarse clock, updated once per tick (at most 10 ms at
/// HZ=100); Envoy's Wasm clock and this runner read the precise clock. Seen in CI: a request sent
/// at 21:09:36.00x was stamped 21:09:35 by the Lua.
const COARSE_CLOCK_LAG: Duration = Duration::from_millis(20);

/// The Unix second `lag` ago.
fn unix_seconds(lag: Duration) -> u64 {
    SystemTime::now()
        .checked_sub(lag)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Plays `scenario` against a fresh Envoy (one worker) with the filter as `flavour`.
pub fn play(
    filter: &str,
    scenario: &Scenario,
    flavour: Flavour,
    protocol: Protocol,
) -> Result<Played, String> {
    let label = format!("play-{filter}-{flavour:?}-{protocol:?}").to_lowercase();
    // The Lua rendered with this scenario's config: a directory of this process's own, as test
    // binaries may play the same filter side by side with other configs.
    let dir = envoy::try_scratch_dir(&format!("{label}-lua")).map_err(|e| e.to_string())?;
    let entry = match (&scenario.module, flavour) {
        // The filter by its root_id in another shipped module (the bundle).
        (Some(module), Flavour::Wasm) => envoy::wasm_filter_at(
            filter,
            &paths::try_wasm_module(module)?,
            scenario.config.as_ref().map(Value::to_string).as_deref(),
        ),
        _ => filter_entry(filter, scenario.config.as_ref(), flavour, &dir)?,
    };
    play_entries(
        &label,
        vec![entry],
        &scenario.exchanges,
        &scenario.route_metadata,
        protocol,
    )
}

/// Plays `exchanges` against a fresh Envoy (one worker) with the HTTP filters `filters` in
/// order (any Lua or Wasm filter entries), its route carrying `route_metadata`. An exchange
/// Envoy cannot be sent (no `:path`; for HTTP/2, a request the client cannot represent) gives
/// `None`.
pub fn play_entries(
    label: &str,
    filters: Vec<Value>,
    exchanges: &[ExchangeSpec],
    route_metadata: &RouteMetadata,
    protocol: Protocol,
) -> Result<Played, String> {
    let upstream = Upstream::try_start().map_err(|e| format!("the recording upstream: {e}"))?;
    let envoy = Envoy::try_start_with(label, &envoy::Launch::default(), |port, admin| {
        envoy::with_route_metadata(
            envoy::bootstrap(port, admin, upstream.port, &filters),
            route_metadata,
        )
    })
    .map_err(|f| f.to_string())?;
    let mut outcomes = Vec::new();
    for spec in exchanges {
        std::thread::sleep(Duration::from_millis(spec.advance_ms));
        upstream.set_reply(Reply {
            status: spec.upstream.status,
            headers: spec
                .upstream
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.bytes()))
                .collect(),
            body: UPSTREAM_BODY.to_vec(),
            delay: Duration::from_millis(spec.upstream.delay_ms),
        });
        for _ in 0..spec.repeat {
            // A path Envoy refuses goes over HTTP/1.1 only: an HTTP/2 client library would
            // normalise or refuse it before Envoy saw it.
            let request = client_request(spec).filter(|r| match protocol {
                Protocol::Http1 => true,
                Protocol::Http2 => !answered_by_envoy(&r.path) && h2client::representable(r),
            });
            let Some(request) = request else {
                outcomes.push(None);
                continue;
            };
            let seen = upstream.received().len();
            let log_before = envoy.log_bytes().len();
            let before = unix_seconds(COARSE_CLOCK_LAG);
            let sent = match protocol {
                Protocol::Http1 => request.send(envoy.port),
                Protocol::Http2 => h2client::send(&request, envoy.port),
            };
            let response = match sent {
                Ok(response) => response,
                // No answer within the client's read timeout (a script that never returns
                // holds its worker): an outcome of its own, which differs from any answer.
                Err(e) if is_timeout(&e) => {
                    outcomes.push(Some((
                        no_response(&e),
                        (before, unix_seconds(Duration::ZERO)),
                    )));
                    continue;
                }
                Err(e) => return Err(format!("request failed: {e}\n{}", envoy.log_tail())),
            };
            let after = unix_seconds(Duration::ZERO);
            let upstream_request = upstream.received().get(seen).map(|r| {
                let mut headers: Vec<Header> = vec![
                    (":path".into(), r.path.clone()),
                    (":method".into(), r.method.clone().into_bytes()),
                ];
                // HTTP/1.1 carries :authority as `host` (itself left out of comparisons).
                headers.extend(
                    r.headers
                        .iter()
                        .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
                        .map(|(_, value)| (":authority".to_string(), value.clone())),
                );
                headers.extend(r.headers.iter().cloned());
                headers
            });
            let log = envoy.log_bytes();
            let outcome = Outcome {
                response: Response {
                    status: response.status,
                    headers: response.headers,
                    // The upstream's body as it sent it is "the upstream's" (`None`), as
                    // in-process; one a filter replaced is the body the client got.
                    body: match upstream_request.is_some()
                        && (response.body == UPSTREAM_BODY
                            || (response.body.is_empty()
                                && !has_body(response.status, Some(request.method.as_bytes()))))
                    {
                        true => None,
                        false => Some(response.body),
                    },
                },
                upstream_request,
                logs: filter_logs(log.get(log_before..).unwrap_or_default()),
            };
            outcomes.push(Some((outcome, (before, after))));
        }
    }
    Ok(Played {
        outcomes,
        stats: envoy.stats(),
    })
}

/// Whether a request's error is the client's read timeout.
fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The outcome of a request Envoy never answered: status 0, and why, in the body.
fn no_response(error: &std::io::Error) -> Outcome {
    Outcome {
        upstream_request: None,
        response: Response {
            status: 0,
            headers: Vec::new(),
            body: Some(format!("no response within the client's timeout ({error})").into_bytes()),
        },
        logs: Vec::new(),
    }
}

/// The pseudo-headers compared at the upstream, in this order: the request line and its host.
pub const REQUEST_LINE: [&str; 3] = [":method", ":path", ":authority"];

/// Headers Envoy adds on its own, left out of comparisons.
pub const ENVOY_REQUEST_HEADERS: [&str; 5] = [
    "host",
    "x-forwarded-proto",
    "x-request-id",
    "x-envoy-expected-rq-timeout-ms",
    "content-length",
];
pub const ENVOY_RESPONSE_HEADERS: [&str; 6] = [
    "date",
    "server",
    "x-envoy-upstream-service-time",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// How clock-dependent and random values are compared: request headers that carry the time the
/// request was in flight, each with its strftime format; and whether fresh UUIDs
/// (`%UNIQUE_ID%`) are masked, as the in-process harness masks them
/// (`moonshift_harness::exchange::mask_unique_ids`).
#[derive(Debug, Clone, Default)]
pub struct ClockRule {
    pub timestamps: Vec<(String, Format)>,
    pub unique_ids: bool,
}

impl ClockRule {
    pub fn for_scenario(filter: &str, scenario: &Scenario) -> Self {
        Self::for_config(filter, scenario.config.as_ref())
    }

    /// The timestamps a plugin with `root_id` and `config` writes: the headers its filter (or
    /// each pipeline member) says it stamps (`moonshift_bundle::clock_headers`), and any
    /// operation whose value is exactly `%START_TIME(format)%`.
    pub fn for_config(root_id: &str, config: Option<&Value>) -> Self {
        let empty = json!({});
        let config = config.unwrap_or(&empty);
        let mut rule = Self {
            unique_ids: renders_unique_ids(config.to_string().as_bytes()),
            ..Self::default()
        };
        let members: Vec<(&str, &Value)> = match root_id {
            "pipeline" => config
                .get("filters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    Some((
                        m.get("filter")?.as_str()?,
                        m.get("config").unwrap_or(&empty),
                    ))
                })
                .collect(),
            _ => vec![(root_id, config)],
        };
        for (filter, config) in members {
            let bytes = config.to_string();
            rule.timestamps.extend(moonshift_bundle::clock_headers(
                filter,
                Some(bytes.as_bytes()),
            ));
            let operations = config.get("operations").and_then(Value::as_array);
            for op in operations.into_iter().flatten() {
                let (Some(name), Some(value)) = (
                    op.get("name").and_then(Value::as_str),
                    op.get("value").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if let Some(format) = value
                    .strip_prefix("%START_TIME(")
                    .and_then(|v| v.strip_suffix(")%"))
                {
                    rule.add(name, format);
                }
            }
        }
        rule
    }

    fn add(&mut self, header: &str, format: &str) {
        if let Ok(format) = Format::parse(format) {
            self.timestamps.push((header.to_ascii_lowercase(), format));
        }
    }
}

/// `outcome` as compared: Envoy's own headers and pseudo-headers out, the response body only for
/// local replies, a timestamp rendered at any second in `window` replaced by `<now>`, and for
/// HTTP/2 the headers grouped by name (the order an HTTP/2 client observes).
pub fn canonical(
    outcome: &Outcome,
    rule: &ClockRule,
    window: (u64, u64),
    protocol: Protocol,
) -> Outcome {
    let mut out = match rule.unique_ids {
        true => mask_unique_ids(outcome),
        false => outcome.clone(),
    };
    if let Some(headers) = out.upstream_request.as_mut() {
        headers
            .retain(|(k, _)| !k.starts_with(':') && !ENVOY_REQUEST_HEADERS.contains(&k.as_str()));
        for (name, format) in &rule.timestamps {
            for (k, v) in headers.iter_mut() {
                if k == name
                    && (window.0..=window.1)
                        .any(|t| format.render(t as i64).as_bytes() == v.as_slice())
                {
                    *v = b"<now>".to_vec();
                }
            }
        }
    }
    out.response
        .headers
        .retain(|(k, _)| !ENVOY_RESPONSE_HEADERS.contains(&k.as_str()));
    if protocol == Protocol::Http2 {
        group_by_name(&mut out.response.headers);
        if let Some(headers) = out.upstream_request.as_mut() {
            group_by_name(headers);
        }
    }
    out
}

/// [`canonical`], with the request line the upstream got (`:method`, `:path`, and its `host`
/// as `:authority`, first, in that order): what a rewrite of `:path` or `:authority`, or a Lua
/// `replace("host", ...)`, changes. For two outcomes played in Envoy, whose upstream reports
/// the request line the same way; an in-process host reports only what the filter saw (a
/// scenario's raw request may have no `:method`), so it is compared without it.
pub fn canonical_in_envoy(
    outcome: &Outcome,
    rule: &ClockRule,
    window: (u64, u64),
    protocol: Protocol,
) -> Outcome {
    let mut out = canonical(outcome, rule, window, protocol);
    if let (Some(headers), Some(raw)) = (
        out.upstream_request.as_mut(),
        outcome.upstream_request.as_ref(),
    ) {
        let line: Vec<Header> = REQUEST_LINE
            .iter()
            .flat_map(|name| raw.iter().filter(move |(k, _)| k == name).cloned())
            .collect();
        headers.splice(0..0, line);
    }
    out
}

/// Reorders headers so a name's values follow its first one: the order an HTTP/2 client (the
/// `http` crate's `HeaderMap`) sends and observes.
fn group_by_name(headers: &mut Vec<Header>) {
    let mut names: Vec<String> = Vec::new();
    for (k, _) in headers.iter() {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    let grouped = names
        .iter()
        .flat_map(|n| headers.iter().filter(move |(k, _)| k == n).cloned())
        .collect();
    *headers = grouped;
}

pub use moonshift_harness::exchange::reply_headers_by_name as lua_reply_unordered;

/// Lets two outcomes' `x-ratelimit-reset` differ by one second (real clocks move between them).
pub fn reconcile_reset(a: &Outcome, b: &mut Outcome) {
    let value = |o: &Outcome| -> Option<i64> {
        let (_, v) = o
            .response
            .headers
            .iter()
            .find(|(k, _)| k == "x-ratelimit-reset")?;
        show_bytes(v).parse().ok()
    };
    if let (Some(x), Some(y)) = (value(a), value(b)) {
        if (x - y).abs() <= 1 {
            for (k, v) in b.response.headers.iter_mut() {
                if k == "x-ratelimit-reset" {
                    *v = x.to_string().into_bytes();
                }
            }
        }
    }
}
