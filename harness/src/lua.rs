//! Long because: Envoy's `handle` API is one surface (headers, respond, logs, metadata, the
//! iteration guard, the scope of objects across `body()`'s yield and the per-call instruction
//! bound share the worker's state); it was 482 lines before round 3. The body buffer is in
//! `lua/body.rs`; the header map is the next part to move out.
//!
//! An Envoy Lua filter host on LuaJIT (mlua), emulating the `handle` API Envoy gives scripts.
//!
//! One [`LuaWorker`] is one worker thread's Lua state: globals persist across its requests and
//! are never shared with another worker, as in Envoy. A script error is handled as Envoy handles
//! it: logged at `error`, header changes made before it kept, the request goes on, and
//! `envoy_on_response` still runs. `respond()` ends the script and sends a local reply, on which
//! the script's own `envoy_on_response` runs.

use crate::clock::Clock;
use crate::exchange::{
    joined, remove_header, replace_header, Exchange, Header, Level, LocalReply, LogLine, Outcome,
    RouteMetadata,
};
use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};
use std::cell::RefCell;
use std::rc::Rc;

mod args;
mod body;
pub mod chain;
pub use chain::LuaChain;

/// The marker `respond()` raises to end the script; not a script error.
const RESPONDED: &str = "moonshift-harness: respond() ends the script";

/// The most Lua VM instructions one call of a script may run (issue 21.12: a script that
/// loops forever must not hang a comparison). Envoy sets no such bound; past it the call ends
/// with an error, which a comparison reports as a difference.
pub const MAX_INSTRUCTIONS: u64 = 50_000_000;
/// The most wall time one call of a script may take.
pub const MAX_CALL_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Bounds what `lua` runs from now on, by instructions and wall time (the JIT is off, so that
/// the count hook sees every instruction). [`unbound`] lifts it.
fn bound(lua: &Lua) {
    let started = std::time::Instant::now();
    let ran = std::cell::Cell::new(0u64);
    let step = 10_000u32;
    let _ = lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(step),
        move |_, _| {
            ran.set(ran.get() + u64::from(step));
            if ran.get() > MAX_INSTRUCTIONS || started.elapsed() > MAX_CALL_TIME {
                return Err(mlua::Error::runtime(format!(
                    "moonshift-harness: the script ran more than {MAX_INSTRUCTIONS} Lua instructions or {} s on one call (a loop that does not end?)",
                    MAX_CALL_TIME.as_secs()
                )));
            }
            Ok(mlua::VmState::Continue)
        },
    );
}

fn unbound(lua: &Lua) {
    lua.remove_hook();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Request,
    Response,
}

#[derive(Debug)]
struct Stream {
    phase: Phase,
    request_headers: Vec<Header>,
    response_headers: Vec<Header>,
    local_reply: Option<LocalReply>,
    /// The response body while `envoy_on_response` runs (`handle:body()`).
    response_body: Option<Vec<u8>>,
    logs: Vec<LogLine>,
    remote_address: String,
    peer_uri_sans: Vec<String>,
    route_metadata: RouteMetadata,
    /// A `pairs()` over this phase's header map has not ended: Envoy raises on a change then
    /// ("header map cannot be modified while iterating"; observed in Envoy 1.40).
    iterating: bool,
    /// How often the script yielded (`body()`): objects taken before are out of scope.
    yields: u32,
}

/// The error Envoy's header map raises on a change during `pairs()`.
const ITERATING: &str = "header map cannot be modified while iterating";

/// The error for a change during `pairs()`, if one is going on.
fn modifiable(map: &HeaderMap) -> mlua::Result<()> {
    match map.stream.borrow().iterating {
        true => Err(mlua::Error::runtime(ITERATING)),
        false => Ok(()),
    }
}

/// The name Envoy's configuration gives the Lua filter here, as the real-Envoy runner and
/// `moonshift migrate` do: `metadata()` reads the route's metadata under it.
pub const FILTER_NAME: &str = "envoy.filters.http.lua";

type Shared = Rc<RefCell<Stream>>;

/// One stream in flight through one script: what its two phases share.
struct InFlight {
    stream: Shared,
    handle: Handle,
}

impl InFlight {
    /// The lines the script logged (and its errors), taken.
    fn take_logs(&self) -> Vec<LogLine> {
        std::mem::take(&mut self.stream.borrow_mut().logs)
    }
}

#[derive(Clone)]
struct Handle {
    stream: Shared,
    clock: Clock,
    metadata: DynamicTable,
}

struct HeaderMap {
    stream: Shared,
    phase: Phase,
    /// The stream's yields when this map was taken ([`Stream::yields`]).
    taken_at: u32,
}

/// The error Envoy's Lua raises on an object taken before the script yielded.
const OUT_OF_SCOPE: &str = "object used outside of proper scope";

/// Envoy marks the handle's objects dead when the script yields (`body()` waits for the body):
/// a header map taken before must be taken again.
fn in_scope(lua: &Lua, map: &HeaderMap) -> mlua::Result<()> {
    match map.stream.borrow().yields == map.taken_at {
        true => Ok(()),
        false => Err(args::raise(lua, OUT_OF_SCOPE)),
    }
}

impl HeaderMap {
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Header>) -> R) -> R {
        let mut stream = self.stream.borrow_mut();
        match self.phase {
            Phase::Request => f(&mut stream.request_headers),
            Phase::Response => f(&mut stream.response_headers),
        }
    }
}

fn text(value: &mlua::String) -> Vec<u8> {
    value.as_bytes().to_vec()
}

impl UserData for HeaderMap {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("get", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "get")?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            match this.with(|h| joined(h, &key)) {
                Some(value) => Ok(MultiValue::from_vec(vec![Value::String(
                    lua.create_string(value)?,
                )])),
                None => Ok(MultiValue::new()),
            }
        });
        methods.add_method("getAtIndex", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "getAtIndex")?;
            // Envoy keeps the number as a C `int`: 1.9 is index 1.
            let index = args::number(lua, &args, 1, "getAtIndex")?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            let value = this.with(|h| {
                let index = usize::try_from(index.trunc() as i64).ok()?;
                h.iter()
                    .filter(|(k, _)| *k == key)
                    .nth(index)
                    .map(|(_, v)| v.clone())
            });
            match value {
                Some(value) => Ok(MultiValue::from_vec(vec![Value::String(
                    lua.create_string(value)?,
                )])),
                None => Ok(MultiValue::new()),
            }
        });
        methods.add_method("getNumValues", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "getNumValues")?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            Ok(this.with(|h| h.iter().filter(|(k, _)| *k == key).count()))
        });
        methods.add_method("add", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "add")?;
            let value = args::string(lua, &args, 1, "add")?;
            modifiable(this)?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            this.with(|h| h.push((key, text(&value))));
            Ok(())
        });
        methods.add_method("replace", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "replace")?;
            let value = args::string(lua, &args, 1, "replace")?;
            modifiable(this)?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            this.with(|h| replace_header(h, &key, &text(&value)));
            Ok(())
        });
        methods.add_method("remove", |lua, this, args: MultiValue| {
            in_scope(lua, this)?;
            let key = args::string(lua, &args, 0, "remove")?;
            modifiable(this)?;
            let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
            this.with(|h| remove_header(h, &key));
            Ok(())
        });
        methods.add_meta_method("__pairs", |lua, this, ()| {
            in_scope(lua, this)?;
            let snapshot = this.with(|h| h.clone());
            let position = RefCell::new(0usize);
            this.stream.borrow_mut().iterating = true;
            let stream = Rc::clone(&this.stream);
            let next = lua.create_function(move |lua, _: MultiValue| {
                let mut position = position.borrow_mut();
                if *position >= snapshot.len() {
                    stream.borrow_mut().iterating = false;
                }
                match snapshot.get(*position) {
                    Some((k, v)) => {
                        *position += 1;
                        Ok(MultiValue::from_vec(vec![
                            Value::String(lua.create_string(k)?),
                            Value::String(lua.create_string(v)?),
                        ]))
                    }
                    None => Ok(MultiValue::new()),
                }
            })?;
            Ok(next)
        });
    }
}

struct StreamInfo {
    stream: Shared,
    metadata: DynamicTable,
}

struct SslConnection {
    uri_sans: Vec<String>,
}

impl UserData for SslConnection {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("uriSanPeerCertificate", |_, this, ()| {
            Ok(this.uri_sans.clone())
        });
        methods.add_method("peerCertificatePresented", |_, _, ()| Ok(true));
    }
}

struct DynamicMetadata {
    metadata: DynamicTable,
}

/// `handle:metadata()`: the route's metadata under the filter's name.
struct RouteMetadataView {
    stream: Shared,
}

/// A JSON value as Envoy's Lua gives a metadata value: strings, numbers and booleans as
/// themselves, objects and lists as tables, null as nil.
fn lua_value(lua: &Lua, json: &serde_json::Value) -> mlua::Result<Value> {
    use serde_json::Value as Json;
    Ok(match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let table = lua.create_table()?;
            for item in items {
                table.push(lua_value(lua, item)?)?;
            }
            Value::Table(table)
        }
        Json::Object(map) => {
            let table = lua.create_table()?;
            for (key, item) in map {
                table.set(key.as_str(), lua_value(lua, item)?)?;
            }
            Value::Table(table)
        }
    })
}

impl UserData for RouteMetadataView {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("get", |lua, this, key: String| {
            let stream = this.stream.borrow();
            match stream
                .route_metadata
                .get(FILTER_NAME)
                .and_then(|fields| fields.get(&key))
            {
                Some(json) => lua_value(lua, json),
                None => Ok(Value::Nil),
            }
        });
    }
}

impl UserData for StreamInfo {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("downstreamRemoteAddress", |_, this, ()| {
            Ok(this.stream.borrow().remote_address.clone())
        });
        // Envoy gives `nil` on a plaintext connection; this host has no TLS connection without
        // a client certificate, so no SANs means plaintext.
        methods.add_method("downstreamSslConnection", |_, this, ()| {
            let sans = this.stream.borrow().peer_uri_sans.clone();
            Ok((!sans.is_empty()).then_some(SslConnection { uri_sans: sans }))
        });
        methods.add_method("dynamicMetadata", |_, this, ()| {
            Ok(DynamicMetadata {
                metadata: this.metadata.clone(),
            })
        });
    }
}

/// A stream's dynamic metadata: a Lua table made on first use (so that making it can fail as
/// a script error, not as a panic).
type DynamicTable = Rc<RefCell<Option<Table>>>;

fn dynamic_table(lua: &Lua, cell: &DynamicTable) -> mlua::Result<Table> {
    if let Some(table) = cell.borrow().as_ref() {
        return Ok(table.clone());
    }
    let table = lua.create_table()?;
    *cell.borrow_mut() = Some(table.clone());
    Ok(table)
}

impl UserData for DynamicMetadata {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("get", |lua, this, namespace: String| {
            dynamic_table(lua, &this.metadata)?.get::<Value>(namespace)
        });
        methods.add_method(
            "set",
            |lua, this, (namespace, key, value): (String, String, Value)| {
                let metadata = dynamic_table(lua, &this.metadata)?;
                let table = match metadata.get::<Value>(namespace.as_str())? {
                    Value::Table(table) => table,
                    _ => {
                        let table = lua.create_table()?;
                        metadata.set(namespace, table.clone())?;
                        table
                    }
                };
                table.set(key, value)
            },
        );
    }
}

fn add_log_method<M: UserDataMethods<Handle>>(methods: &mut M, name: &str, level: Level) {
    let method = name.to_string();
    methods.add_method(name, move |lua, this, args: MultiValue| {
        let message = args::string(lua, &args, 0, &method)?;
        this.stream.borrow_mut().logs.push(LogLine {
            level,
            message: text(&message),
        });
        Ok(())
    });
}

impl UserData for Handle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("headers", |_, this, ()| {
            let (phase, taken_at) = {
                let s = this.stream.borrow();
                (s.phase, s.yields)
            };
            Ok(HeaderMap {
                stream: Rc::clone(&this.stream),
                phase,
                taken_at,
            })
        });
        for (name, level) in [
            ("logTrace", Level::Trace),
            ("logDebug", Level::Debug),
            ("logInfo", Level::Info),
            ("logWarn", Level::Warn),
            ("logErr", Level::Error),
            ("logCritical", Level::Critical),
        ] {
            add_log_method(methods, name, level);
        }
        methods.add_method("timestamp", |_, this, ()| Ok(this.clock.millis()));
        // `body(always_wrap_body)`: the argument is not read; requests carry no body here.
        methods.add_method("body", |_, this, _: MultiValue| {
            // The script yields until the body is in; without one, body() is nil at once.
            let body = body::Body::of(&this.stream);
            if body.is_some() {
                this.stream.borrow_mut().yields += 1;
            }
            Ok(body)
        });
        methods.add_method("metadata", |_, this, ()| {
            Ok(RouteMetadataView {
                stream: Rc::clone(&this.stream),
            })
        });
        methods.add_method("streamInfo", |_, this, ()| {
            Ok(StreamInfo {
                stream: Rc::clone(&this.stream),
                metadata: this.metadata.clone(),
            })
        });
        methods.add_method("respond", |lua, this, args: MultiValue| {
            // Envoy checks the table, then the body, then the status.
            let headers = args::table(lua, &args, 0, "respond")?;
            let body = args::optional_string(lua, &args, 1, "respond")?;
            if this.stream.borrow().phase != Phase::Request {
                return Err(mlua::Error::runtime(
                    "respond() is only valid on the request path",
                ));
            }
            let mut status = None;
            let mut list = Vec::new();
            for pair in headers.pairs::<mlua::String, Value>() {
                let (key, value) = pair?;
                let key = String::from_utf8_lossy(&text(&key)).to_ascii_lowercase();
                let values = match value {
                    Value::Table(t) => t
                        .sequence_values::<mlua::String>()
                        .map(|v| v.map(|s| text(&s)))
                        .collect::<mlua::Result<Vec<_>>>()?,
                    Value::String(s) => vec![text(&s)],
                    other => vec![other.to_string()?.into_bytes()],
                };
                if key == ":status" {
                    status = values
                        .first()
                        .and_then(|v| String::from_utf8_lossy(v).parse::<u16>().ok());
                } else {
                    list.extend(values.into_iter().map(|v| (key.clone(), v)));
                }
            }
            let status = status
                .filter(|s| (200..=599).contains(s))
                .ok_or_else(|| args::raise(lua, ":status must be between 200-599"))?;
            let body = body.map(|b| text(&b)).unwrap_or_default();
            this.stream.borrow_mut().local_reply = Some((status, list, body));
            Err::<(), _>(mlua::Error::runtime(RESPONDED))
        });
    }
}

/// One worker's Lua state with the script loaded.
pub struct LuaWorker {
    lua: Lua,
    clock: Clock,
}

impl std::fmt::Debug for LuaWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LuaWorker")
    }
}

/// The first line of a Lua error, as Envoy logs it (`[string "..."]:12: message`).
fn script_error(error: &mlua::Error) -> String {
    let text = match error {
        mlua::Error::CallbackError { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("runtime error: ")
        .unwrap_or(first)
        .to_string()
}

impl LuaWorker {
    /// Loads `source` into a fresh LuaJIT state whose `os.time` / `os.date` read `clock`.
    pub fn start(source: &str, clock: &Clock) -> Result<Self, String> {
        let lua = Lua::new();
        let now_clock = clock.clone();
        let now = lua
            .create_function(move |_, ()| Ok(now_clock.seconds()))
            .map_err(|e| e.to_string())?;
        lua.load(
            r#"
            local now = ...
            local real_date, real_time = os.date, os.time
            os.time = function(t) if t == nil then return now() end return real_time(t) end
            os.date = function(format, t) return real_date(format, t or now()) end
            math.randomseed(1)
            if jit then jit.off() end
            "#,
        )
        .set_name("=moonshift-harness clock")
        .call::<()>(now)
        .map_err(|e| e.to_string())?;
        bound(&lua);
        let loaded = lua.load(source).set_name(source).exec();
        unbound(&lua);
        loaded.map_err(|e| format!("script does not load: {}", script_error(&e)))?;
        Ok(Self {
            lua,
            clock: clock.clone(),
        })
    }

    fn run(&self, function: &str, handle: &Handle) -> Option<LogLine> {
        let Ok(Value::Function(f)) = self.lua.globals().get::<Value>(function) else {
            return None;
        };
        bound(&self.lua);
        let called = f.call::<()>(handle.clone());
        unbound(&self.lua);
        match called {
            Ok(()) => None,
            Err(error) => {
                let message = script_error(&error);
                if message.contains(RESPONDED) {
                    return None;
                }
                Some(LogLine {
                    level: Level::Error,
                    message: message.into_bytes(),
                })
            }
        }
    }

    /// Runs one request/response through `envoy_on_request` and `envoy_on_response`: a chain
    /// of one script.
    pub fn exchange(&mut self, exchange: &Exchange) -> Outcome {
        let clock = self.clock.clone();
        chain::play(std::slice::from_ref(self), &clock, exchange)
    }

    /// A stream arriving at this script with `request_headers` (as the filters before it left
    /// them).
    fn begin(&self, exchange: &Exchange, request_headers: Vec<Header>) -> InFlight {
        let stream = Rc::new(RefCell::new(Stream {
            phase: Phase::Request,
            request_headers,
            response_headers: Vec::new(),
            local_reply: None,
            response_body: None,
            remote_address: exchange.remote_address.clone(),
            peer_uri_sans: exchange.peer_uri_sans.clone(),
            route_metadata: exchange.route_metadata.clone(),
            logs: Vec::new(),
            iterating: false,
            yields: 0,
        }));
        let metadata = DynamicTable::default();
        let handle = Handle {
            stream: Rc::clone(&stream),
            clock: self.clock.clone(),
            metadata,
        };
        InFlight { stream, handle }
    }

    /// `envoy_on_request`: the request headers as the script left them, and its local reply.
    fn request_phase(&self, flight: &InFlight) -> (Vec<Header>, Option<LocalReply>) {
        if let Some(error) = self.run("envoy_on_request", &flight.handle) {
            flight.stream.borrow_mut().logs.push(error);
        }
        let mut s = flight.stream.borrow_mut();
        (s.request_headers.clone(), s.local_reply.take())
    }

    /// `envoy_on_response` on the response header map `map` (`:status` first); the map as the
    /// script left it.
    fn response_phase(
        &self,
        flight: &InFlight,
        map: Vec<Header>,
        body: &mut Option<Vec<u8>>,
    ) -> Vec<Header> {
        {
            let mut s = flight.stream.borrow_mut();
            s.phase = Phase::Response;
            s.response_headers = map;
            s.response_body = body.take();
            s.iterating = false;
        }
        if let Some(error) = self.run("envoy_on_response", &flight.handle) {
            flight.stream.borrow_mut().logs.push(error);
        }
        let mut s = flight.stream.borrow_mut();
        *body = s.response_body.take();
        std::mem::take(&mut s.response_headers)
    }
}
