//! What to use instead, for each construct the plugin cannot do: a Moonshift operation, or the
//! native Envoy or Istio feature that does it. One place, so that every refusal names one.

pub const KEEP_LUA: &str =
    "keep this logic in Lua (TrafficExtension `lua:`), or write a filter against moonshift-kit";

pub const GUARD: &str = "guard it with the header's presence (`if v then ... end`), or give a default (`v or \"\"`): both then skip or render it alike";

pub const METADATA_KEY: &str = "a literal key: metadata():get(\"team\")";

pub const METADATA_CONDITION: &str = "a `metadata` condition tests a value as it is (`if metadata:get(k) then`, `== \"v\"`); for other tests split the routes (a VirtualService `match` per case, each with its own `headers.request.set`), or test the path the route matches";

pub const METADATA_NIL: &str = "give a default (`metadata():get(\"k\") or \"\"`), which renders as the plugin's %METADATA(...)% does on a route without the key";

pub const CAPTURE: &str = "a value cut from another: the transforms `%REQ(x):match(pattern)%`, `:sub(i,j)`, `:lower`, `:upper` (docs/templates-and-conditions.md), one string function at a time, a capture under the script's own test that it matches; `gsub` and `gmatch` have none: Envoy's `header_to_metadata` or a VirtualService `headers` rule; for a JWT claim, `jwt_authn` `claim_to_headers`";

pub const GSUB: &str = "`:gsub(pattern,replacement)` takes a constant pattern and a replacement string; else, for :path, a route's `regex_rewrite`; for a Location rewrite, a VirtualService `redirect`";

pub const RESPONSE_LOG: &str = "an access-log formatter (`%RESPONSE_CODE%`, `%RESP(x)%`) in Envoy's or Istio's Telemetry access log; path-logger logs one response line a plugin";

pub const LOOP: &str = "a loop over headers that removes by name: collect the names in `pairs(headers)` and remove them after the loop (request-decorator's `remove_prefix`); other loops: keep Lua";

pub const STATE: &str = "state kept per worker between requests: Moonshift's local-ratelimit (shared data), or keep Lua";

/// What a handle method the plugin cannot express is, and the native filter that does it.
pub fn handle_call(method: &str) -> (String, &'static str) {
    let why = format!("handle:{method}()");
    let instead = match method {
        "body" | "bodyChunks" => "a new response body decided from the status and headers: response-decorator's `replace_body` (write it by hand, then `moonshift compare`); a body made from the old one, or a header from a body: Envoy's ext_proc, or keep Lua (docs/envoy.md §11)",
        "httpCall" => "an authorization call: Envoy's ext_authz; other side calls: ext_proc",
        "connection" => "TLS facts: Istio PeerAuthentication and AuthorizationPolicy `principals`, or %DOWNSTREAM_PEER_URI_SAN% in a template; JWT claims: jwt_authn `claim_to_headers`",
        "streamInfo" => "dynamic metadata: proxy-wasm writes filter state, not dynamic metadata (docs/migrating.md); JWT claims: jwt_authn `claim_to_headers`; headers into metadata: `header_to_metadata`",
        "trailers" => "trailers are out of scope",
        "timestamp" | "timestampString" => "%START_TIME(...)% in a template, or an access-log formatter",
        "importPublicKey" | "verifySignature" | "base64Escape" => "Envoy's jwt_authn filter verifies signatures natively",
        _ => KEEP_LUA,
    };
    (why, instead)
}

/// What a standard-library call the evaluation does not follow is, and what instead.
pub fn builtin(name: &str) -> &'static str {
    match name {
        "require" | "loadfile" | "dofile" | "loadstring" | "load" => {
            "an external Lua module: the plugin cannot load Lua; its logic as Moonshift operations, or keep Lua"
        }
        "os.getenv" | "io.open" => "configuration read at load time: write the value into the plugin's configuration",
        "os.time" | "os.clock" => "%START_TIME(...)% in a template",
        "string.gsub" | "gsub" => GSUB,
        "string.match" | "match" | "string.gmatch" | "gmatch" => CAPTURE,
        "tonumber" | "math.floor" | "math.random" | "math.randomseed" => {
            "arithmetic on request values: keep Lua, or a Moonshift filter (local-ratelimit for counting)"
        }
        "string.byte" | "string.char" | "string.rep" | "string.reverse" => KEEP_LUA,
        "table.sort" | "table.concat" => KEEP_LUA,
        "pcall" | "error" | "xpcall" => "error handling: the plugin cannot raise; keep Lua",
        _ => KEEP_LUA,
    }
}
