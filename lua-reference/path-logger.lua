-- path-logger: the Lua that Moonshift's `path-logger` filter replaces.
--
-- From the Istio extension guide's Lua EnvoyFilter:
--   local path = request_handle:headers():get(":path")
--   request_handle:logInfo("Request path: " .. path)
--
-- `config` holds the defaults, which are exactly those two lines. `message` is a template in
-- Envoy's access-log spelling (`%REQ(header)%` and the other commands of
-- docs/templates-and-conditions.md), split by the engine below. The test runners render other
-- configurations by replacing this one table; nothing else in the file changes. A
-- `response = { level = ..., message = ... }` entry logs a line on the response as well.
-- `when = { ... }` (and `response.when`) holds conditions, all of which must hold for the line
-- to be logged, as a script's `if` around its log call does. An empty `message` beside a
-- `response` line logs no request line.
local config = {
  level = "info",
  message = "Request path: %REQ(:path)%",
}

local log_methods = {
  trace = "logTrace",
  debug = "logDebug",
  info = "logInfo",
  warn = "logWarn",
  error = "logErr",
  critical = "logCritical",
}
local log_method = log_methods[config.level]

-- moonshift engine begin: lua-reference/engine/engine.lua, copied into each reference that uses
-- it by `make lua-engine` (a test keeps the copies equal). It mirrors shared/src/template.rs
-- (templates), shared/src/condition.rs (conditions) and shared/src/operations.rs (header
-- operations), step for step, so that the Lua and the Wasm read and change a stream alike.
-- The configuration is trusted here: the Wasm validates it (`moonshift validate`).

-- Where a :match pattern starting at `from` ends: the first `stop` ("," for a :gsub pattern,
-- ")" otherwise) outside its own captures, sets and "%" escapes; a ")" that closes no capture
-- ends the search either way (shared/src/template/transform.rs, pattern_end_at).
local function pattern_end(text, from, stop)
  stop = stop or ")"
  local depth, at = 0, from
  while at <= #text do
    local c = string.sub(text, at, at)
    if c == "%" then
      at = at + 2
    elseif c == "[" then
      at = at + 1
      if string.sub(text, at, at) == "^" then at = at + 1 end
      if string.sub(text, at, at) == "]" then at = at + 1 end
      while true do
        local d = string.sub(text, at, at)
        if d == "" then return nil end
        if d == "]" then break end
        if d == "%" then at = at + 2 else at = at + 1 end
      end
      at = at + 1
    elseif c == "(" then
      depth, at = depth + 1, at + 1
    elseif c == stop and depth == 0 then
      return at
    elseif c == ")" then
      if depth == 0 then return nil end
      depth, at = depth - 1, at + 1
    else
      at = at + 1
    end
  end
  return nil
end

-- The transform at `from` (after its ":"): the index after it, and the transform.
local function transform_at(text, from)
  local digits = string.match(text, "^%d+", from)
  if digits ~= nil then return from + #digits, { keep = tonumber(digits) } end
  local word = string.sub(text, from, from + 4)
  if word == "lower" or word == "upper" then return from + 5, { case = word } end
  if string.sub(text, from, from + 8) == "base64url" then return from + 9, { decode = "base64url" } end
  if string.sub(text, from, from + 10) == "jwt_payload" then return from + 11, { decode = "jwt_payload" } end
  if string.sub(text, from, from + 4) == "json(" then
    local close = string.find(text, ")", from + 5, true)
    if close == nil then return nil end
    local path = {}
    for key in string.gmatch(string.sub(text, from + 5, close - 1), "[^.]+") do path[#path + 1] = key end
    return close + 1, { decode = "json", path = path }
  end
  local args = string.match(text, "^sub%(([%d, %-]+)%)", from)
  if args ~= nil then
    local i, j = string.match(args, "^%s*(%-?%d+)%s*,%s*(%-?%d+)%s*$")
    if i == nil then i, j = string.match(args, "^%s*(%-?%d+)%s*$"), -1 end
    return from + 5 + #args, { sub_i = tonumber(i), sub_j = tonumber(j) }
  end
  if string.sub(text, from, from + 5) == "match(" then
    local close = pattern_end(text, from + 6)
    if close ~= nil then return close + 1, { pattern = string.sub(text, from + 6, close - 1) } end
  end
  if string.sub(text, from, from + 4) == "gsub(" then
    local comma = pattern_end(text, from + 5, ",")
    if comma == nil then return nil end
    -- The replacement ends at the first ")" not escaped by "%".
    local at = comma + 1
    while at <= #text do
      local c = string.sub(text, at, at)
      if c == ")" then
        return at + 1, { gsub = string.sub(text, from + 5, comma - 1),
                         replacement = string.sub(text, comma + 1, at - 1) }
      end
      if c == "%" then at = at + 2 else at = at + 1 end
    end
  end
  return nil
end

-- A ":" chain of transforms at `from`: the transforms and the index of its closing "%".
local function chain_at(text, from)
  local transforms, at = {}, from
  while string.sub(text, at, at) == ":" do
    local after, transform = transform_at(text, at + 1)
    if after == nil then return nil end
    transforms[#transforms + 1] = transform
    if string.sub(text, after, after) == "%" then return transforms, after end
    at = after
  end
  return nil
end

-- Where an argument opened before `from` closes: the first ")" followed by "%" or by a chain of
-- transforms and "%". Returns the ")"'s index, the index after the command, and the transforms.
local function close_argument(text, from)
  local at = from
  while true do
    local paren = string.find(text, ")", at, true)
    if paren == nil then return nil end
    local after = string.sub(text, paren + 1, paren + 1)
    if after == "%" then return paren, paren + 2, nil end
    if after == ":" then
      local transforms, percent = chain_at(text, paren + 1)
      if transforms ~= nil then return paren, percent + 1, transforms end
    end
    at = paren + 1
  end
end

-- A template's parts: literal strings and { command = NAME, argument = ARG, transforms = {...} }
-- tables.
local function parse_template(text)
  local parts, pos, literal_from = {}, 1, 1
  while true do
    local at = string.find(text, "%", pos, true)
    if at == nil then break end
    local _, name_end = string.find(text, "^[A-Z_]+", at + 1)
    local part, next_pos
    if name_end ~= nil then
      local after = string.sub(text, name_end + 1, name_end + 1)
      if after == "%" then
        part, next_pos = { command = string.sub(text, at + 1, name_end) }, name_end + 2
      elseif after == "(" then
        local paren, after_command, transforms = close_argument(text, name_end + 2)
        if paren ~= nil then
          part = { command = string.sub(text, at + 1, name_end), argument = string.sub(text, name_end + 2, paren - 1), transforms = transforms }
          next_pos = after_command
        end
      end
    end
    if part ~= nil then
      if at > literal_from then table.insert(parts, string.sub(text, literal_from, at - 1)) end
      table.insert(parts, part)
      pos, literal_from = next_pos, next_pos
    else
      pos = at + 1
    end
  end
  if literal_from <= #text then table.insert(parts, string.sub(text, literal_from)) end
  return parts
end

local function without_port(address)
  if string.sub(address, 1, 1) == "[" then
    local close = string.find(address, "]", 2, true)
    if close == nil then return address end
    return string.sub(address, 2, close - 1)
  end
  local first = string.find(address, ":", 1, true)
  if first ~= nil and string.find(address, ":", first + 1, true) == nil then
    return string.sub(address, 1, first - 1)
  end
  return address
end

local function query_param(path, name)
  local start = string.find(path, "?", 1, true)
  if start == nil then return nil end
  for pair in string.gmatch(string.sub(path, start + 1) .. "&", "([^&]*)&") do
    local eq = string.find(pair, "=", 1, true)
    if eq ~= nil then
      if string.sub(pair, 1, eq - 1) == name then return string.sub(pair, eq + 1) end
    elseif pair == name then
      return ""
    end
  end
  return nil
end

local function cookie(header, name)
  for pair in string.gmatch(header .. ";", "([^;]*);") do
    local trimmed = string.gsub(pair, "^[ \t]*", "")
    local eq = string.find(trimmed, "=", 1, true)
    if eq ~= nil and string.sub(trimmed, 1, eq - 1) == name then return string.sub(trimmed, eq + 1) end
  end
  return nil
end

-- %UNIQUE_ID%: a version 4 UUID, lowercase, as scripts write one with math.random. LuaJIT's
-- generator is not cryptographic and starts from the same state in every VM, so it is seeded
-- from the clock on first use, as scripts do: VMs seeded in the same second (Envoy's workers,
-- started together) draw the same IDs. The Wasm reads the host's random source instead.
local seeded = false
local function unique_id()
  if not seeded then
    math.randomseed(os.time())
    seeded = true
  end
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    if c == "x" then return string.format("%x", math.random(0, 15)) end
    return string.format("%x", math.random(8, 11))
  end))
end

-- What a command reads; nil when its source is missing. `headers` is the phase's map.
local function read_raw(part, handle, headers)
  local command, argument = part.command, part.argument
  if command == "REQ" or command == "RESP" then
    -- %REQ(a?b)%: b when a is missing (the Wasm refuses a third name, so one `?` at most).
    local first, second = string.match(argument, "^([^?]*)%?(.*)$")
    if first ~= nil then return headers:get(first) or headers:get(second) end
    return headers:get(argument)
  elseif command == "RESPONSE_CODE" then
    return headers:get(":status")
  elseif command == "START_TIME" then
    return os.date("!" .. argument)
  elseif command == "DOWNSTREAM_REMOTE_ADDRESS" then
    return handle:streamInfo():downstreamRemoteAddress()
  elseif command == "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" then
    return without_port(handle:streamInfo():downstreamRemoteAddress())
  elseif command == "DOWNSTREAM_PEER_URI_SAN" then
    local ssl = handle:streamInfo():downstreamSslConnection()
    if ssl == nil then return nil end
    -- The first URI SAN: what proxy-wasm's connection.uri_san_peer_certificate gives.
    return ssl:uriSanPeerCertificate()[1]
  elseif command == "QUERY_PARAM" then
    local path = headers:get(":path")
    return path and query_param(path, argument)
  elseif command == "COOKIE" then
    local header = headers:get("cookie")
    return header and cookie(header, argument)
  elseif command == "UNIQUE_ID" then
    return unique_id()
  elseif command == "METADATA" then
    -- Route metadata under this Lua filter's own name (the namespace in ROUTE:namespace:key is
    -- for the Wasm: give it the name the Lua filter has). A string renders, and a number as
    -- Lua writes it (tostring: %.14g); a bool or a table is missing.
    local value = handle:metadata():get(string.match(argument, "^ROUTE:[^:]+:(.+)$"))
    if type(value) == "string" then return value end
    if type(value) == "number" then return tostring(value) end
  end
  return nil
end

-- The decoding transforms (shared/src/template/decode.rs, step for step): base64url, a JWT's
-- payload, a field of a JSON object. Any input gives a value or nil.
local sextets = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for i = 1, 64 do sextets[string.byte(alphabet, i)] = i - 1 end
end

local function base64url(text)
  local padding = #string.match(text, "=*$")
  if padding > 2 then return nil end
  local body = string.sub(text, 1, #text - padding)
  if #body % 4 == 1 or (padding > 0 and (#body + padding) % 4 ~= 0) then return nil end
  local out = {}
  for at = 1, #body, 4 do
    local group = string.sub(body, at, at + 3)
    local bits = 0
    for i = 1, #group do
      local sextet = sextets[string.byte(group, i)]
      if sextet == nil then return nil end
      bits = bits * 64 + sextet
    end
    if #group == 4 then
      out[#out + 1] = string.char(math.floor(bits / 65536) % 256, math.floor(bits / 256) % 256, bits % 256)
    elseif #group == 3 then
      bits = math.floor(bits / 4)
      out[#out + 1] = string.char(math.floor(bits / 256) % 256, bits % 256)
    else
      out[#out + 1] = string.char(math.floor(bits / 16) % 256)
    end
  end
  return table.concat(out)
end

local function jwt_payload(value)
  local token = value
  if string.lower(string.sub(value, 1, 7)) == "bearer " then
    token = string.match(string.sub(value, 8), "^ *(.*)$")
  end
  local _, payload = string.match(token, "^([^.]*)%.([^.]*)%.[^.]*$")
  if payload == nil or payload == "" then return nil end
  return base64url(payload)
end

local function utf8_char(code)
  if code < 0x80 then return string.char(code) end
  if code < 0x800 then return string.char(0xC0 + math.floor(code / 64), 0x80 + code % 64) end
  if code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 4096), 0x80 + math.floor(code / 64) % 64, 0x80 + code % 64)
  end
  return string.char(0xF0 + math.floor(code / 262144), 0x80 + math.floor(code / 4096) % 64,
    0x80 + math.floor(code / 64) % 64, 0x80 + code % 64)
end

local json_escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- The value at `path` of the JSON document `text`, rendered: a string, an integer of at most
-- 14 digits as written, true/false, a list of those strings and integers joined with ","; nil
-- for anything else, for a document that is not valid JSON (nesting past 32 included), and for
-- a missing field. Of keys given twice the last counts. One pass: validating functions return
-- false for invalid JSON, else true and what the value renders to.
local function json_field(text, path)
  local at, found, keys = 1, nil, #path
  local value, scalar_or_list
  local function peek() return string.sub(text, at, at) end
  local function space() at = string.find(text, "[^ \t\n\r]", at) or #text + 1 end
  local function eat(c)
    space()
    if peek() == c then at = at + 1 return true end
    return false
  end
  local function hex4()
    local digits = string.match(text, "^%x%x%x%x", at)
    if digits == nil then return nil end
    at = at + 4
    return tonumber(digits, 16)
  end
  local function jstring()
    at = at + 1
    local out = {}
    while true do
      local c = peek()
      if c == "" then return nil end
      at = at + 1
      if c == '"' then return table.concat(out) end
      if c == "\\" then
        local e = peek()
        at = at + 1
        if e == "u" then
          local code = hex4()
          if code == nil or (code >= 0xDC00 and code <= 0xDFFF) then return nil end
          if code >= 0xD800 and code <= 0xDBFF then
            if string.sub(text, at, at + 1) ~= "\\u" then return nil end
            at = at + 2
            local low = hex4()
            if low == nil or low < 0xDC00 or low > 0xDFFF then return nil end
            code = 0x10000 + (code - 0xD800) * 1024 + (low - 0xDC00)
          end
          out[#out + 1] = utf8_char(code)
        elseif json_escapes[e] ~= nil then
          out[#out + 1] = json_escapes[e]
        else
          return nil
        end
      elseif string.byte(c) < 0x20 then
        return nil
      else
        out[#out + 1] = c
      end
    end
  end
  local function digits()
    local run = string.match(text, "^%d*", at)
    at = at + #run
    return run
  end
  local function number()
    local start = at
    if peek() == "-" then at = at + 1 end
    local whole = digits()
    if #whole == 0 or (#whole > 1 and string.sub(whole, 1, 1) == "0") then return false end
    local integer = true
    if peek() == "." then
      at, integer = at + 1, false
      if #digits() == 0 then return false end
    end
    if peek() == "e" or peek() == "E" then
      at, integer = at + 1, false
      if peek() == "+" or peek() == "-" then at = at + 1 end
      if #digits() == 0 then return false end
    end
    if integer and #whole <= 14 then return true, string.sub(text, start, at - 1) end
    return true, nil
  end
  local function word(w, rendered)
    if string.sub(text, at, at + #w - 1) ~= w then return false end
    at = at + #w
    return true, rendered
  end
  local function scalar()
    local c = peek()
    if c == '"' then
      local s = jstring()
      if s == nil then return false end
      return true, s
    end
    if c == "t" then return word("true", "true") end
    if c == "f" then return word("false", "false") end
    if c == "n" then return word("null", nil) end
    if c == "-" or string.find(c, "^%d") then return number() end
    return false
  end
  local function object(depth, k)
    if depth >= 32 then return false end
    at = at + 1
    if eat("}") then return true end
    while true do
      space()
      if peek() ~= '"' then return false end
      local key = jstring()
      if key == nil or not eat(":") then return false end
      local next_k = nil
      if k ~= nil and path[k + 1] == key then next_k = k + 1 end
      if not value(depth + 1, next_k) then return false end
      if eat("}") then return true end
      if not eat(",") then return false end
    end
  end
  local function list(depth)
    if depth >= 32 then return false end
    at = at + 1
    local joined = {}
    if eat("]") then return true, "" end
    while true do
      space()
      local c, ok, item = peek(), nil, nil
      if c == "[" or c == "{" then
        ok = scalar_or_list(depth + 1)
      elseif c == "t" or c == "f" then
        ok = scalar()
      else
        ok, item = scalar()
      end
      if not ok then return false end
      if item == nil then joined = nil elseif joined ~= nil then joined[#joined + 1] = item end
      if eat("]") then
        if joined == nil then return true, nil end
        return true, table.concat(joined, ",")
      end
      if not eat(",") then return false end
    end
  end
  scalar_or_list = function(depth)
    local c = peek()
    if c == "[" then return list(depth) end
    if c == "{" then
      if not object(depth, nil) then return false end
      return true, nil
    end
    return scalar()
  end
  value = function(depth, k)
    space()
    if k == keys then
      local ok, rendered = scalar_or_list(depth)
      if not ok then return false end
      found = rendered
      return true
    elseif k ~= nil then
      -- A later key of the same name replaces what an earlier one led to.
      found = nil
      if peek() == "{" then return object(depth, k) end
    end
    return (scalar_or_list(depth))
  end
  if not value(0, 0) then return nil end
  space()
  if at ~= #text + 1 then return nil end
  return found
end

local decoders = { base64url = base64url, jwt_payload = jwt_payload }

-- What a command renders to, through its transforms in order (string.sub, string.lower,
-- string.upper, string.match's first result); nil when its source is missing or a pattern does
-- not match.
local function read_source(part, handle, headers)
  local value = read_raw(part, handle, headers)
  local decoded = false
  for _, t in ipairs(part.transforms or {}) do
    if value == nil then return nil end
    if t.decode == "json" then
      value, decoded = json_field(value, t.path), true
    elseif t.decode ~= nil then
      value, decoded = decoders[t.decode](value), true
    elseif t.keep ~= nil then
      value = string.sub(value, 1, t.keep)
    elseif t.case == "lower" then
      value = string.lower(value)
    elseif t.case == "upper" then
      value = string.upper(value)
    elseif t.sub_i ~= nil then
      value = string.sub(value, t.sub_i, t.sub_j)
    elseif t.gsub ~= nil then
      value = (string.gsub(value, t.gsub, t.replacement))
      -- A substitution past 64 KiB is missing (shared/src/lua_pattern/gsub.rs, MAX_RENDERED).
      if #value > 65536 then return nil end
    else
      value = (string.match(value, t.pattern))
    end
  end
  -- A decoded value holding a control byte (but tab) is missing: no line break into a header.
  if decoded and value ~= nil and string.find(value, "[%z\1-\8\10-\31\127]") then return nil end
  return value
end

-- `missing` stands for a missing command; with `missing` nil, the rendering is nil when any
-- command is missing (an operation's `missing: skip`).
local function render(parts, handle, headers, missing)
  local out = {}
  for _, part in ipairs(parts) do
    if type(part) == "string" then
      out[#out + 1] = part
    else
      local value = read_source(part, handle, headers)
      if value == nil then
        if missing == nil then return nil end
        value = missing
      end
      out[#out + 1] = value
    end
  end
  return table.concat(out)
end

local function string_matches(test, value)
  if value == nil then return false end
  if test.exact ~= nil then return value == test.exact end
  if test.prefix ~= nil then return string.sub(value, 1, #test.prefix) == test.prefix end
  if test.suffix ~= nil then return test.suffix == "" or string.sub(value, -#test.suffix) == test.suffix end
  if test.contains ~= nil then return string.find(value, test.contains, 1, true) ~= nil end
  if test.lua_pattern ~= nil then return string.find(value, test.lua_pattern) ~= nil end
  error("a regex condition has no Lua equivalent (Envoy's Lua has no regex library): write lua_pattern")
end

-- The request's :path or :method: from `request` (what envoy_on_request kept, for conditions
-- checked on the response) when given, else from the headers.
-- The path without its query and fragment: what a path test sees (RBAC's url_path).
local function url_path(path)
  if path == nil then return nil end
  local cut = string.find(path, "[?#]")
  if cut == nil then return path end
  return string.sub(path, 1, cut - 1)
end

local function request_line(request, headers, key, name)
  if request ~= nil then return request[key] end
  return headers:get(name)
end

-- `handle` reads the route's metadata, under this Lua filter's own name (the condition's
-- namespace is the name the Wasm reads it under).
local function holds(condition, headers, request, handle)
  if condition.header ~= nil then
    local value = headers:get(condition.header.name)
    if condition.header.present ~= nil then return (value ~= nil) == condition.header.present end
    return string_matches(condition.header, value)
  elseif condition.metadata ~= nil then
    local value = handle:metadata():get(condition.metadata.key)
    if condition.metadata.present ~= nil then
      return (value ~= nil and value ~= false) == condition.metadata.present
    end
    if type(value) ~= "string" then return false end
    return string_matches(condition.metadata, value)
  elseif condition.path ~= nil then
    return string_matches(condition.path, url_path(request_line(request, headers, "path", ":path")))
  elseif condition.method ~= nil then
    local method = request_line(request, headers, "method", ":method")
    for _, want in ipairs(condition.method) do
      if want == method then return true end
    end
    return false
  elseif condition.status ~= nil then
    local status = tonumber(headers:get(":status"))
    for _, want in ipairs(condition.status) do
      if want == status then return true end
    end
    return false
  elseif condition["not"] ~= nil then
    return not holds(condition["not"], headers, request, handle)
  end
  return false
end

local function all_hold(when, headers, request, handle)
  for _, condition in ipairs(when or {}) do
    if not holds(condition, headers, request, handle) then return false end
  end
  return true
end

-- Whether a condition of `operations` reads the request's :path or :method.
local function reads_request_line(operations)
  local function reads(condition)
    if condition.path ~= nil or condition.method ~= nil then return true end
    return condition["not"] ~= nil and reads(condition["not"])
  end
  for _, op in ipairs(operations) do
    for _, condition in ipairs(op.when or {}) do
      if reads(condition) then return true end
    end
  end
  return false
end

-- The cookie header without the cookie `name`, as scripts cut it (shared/src/operations/cookie.rs):
-- pieces between ";", leading spaces trimmed, the named one dropped, joined with "; ".
local function without_cookie(header, name)
  local kept = ""
  for piece in string.gmatch(header, "([^;]+)") do
    piece = string.gsub(piece, "^ +", "")
    if string.match(piece, "^([^=]+)") ~= name then
      if #kept > 0 then kept = kept .. "; " .. piece else kept = piece end
    end
  end
  return kept
end

-- Header operations, in order: Lua's add, replace and remove, and those built on them.
local function prepare_operations(operations)
  for _, op in ipairs(operations) do
    -- replace_body has no name.
    op.name = op.name or ""
    if string.sub(op.name, 1, 1) == "%" then
      -- %METADATA(ROUTE:ns:key)%: the name comes from the route, on each request.
      op.name_parts = parse_template(op.name)
    elseif op.action ~= "remove_cookie" then
      -- A cookie's name keeps its case; a header's is lowercase.
      op.name = string.lower(op.name)
    end
    op.parts = parse_template(op.value or "")
  end
  return operations
end

local framing = {
  ["content-length"] = true, ["transfer-encoding"] = true, ["connection"] = true,
  ["upgrade"] = true, ["te"] = true, ["trailer"] = true, ["keep-alive"] = true,
  ["proxy-connection"] = true, ["host"] = true,
}

-- The name an operation writes now: its own, or the route's (lowercased); nil when the route
-- gives none, an empty one, or one no filter writes (not a token, over 256 bytes, framing),
-- which `filter` logs at debug as the Wasm does.
local function name_now(op, handle, headers, filter)
  if op.name_parts == nil then return op.name end
  local name = render(op.name_parts, handle, headers, "")
  if name == "" then return nil end
  name = string.lower(name)
  if #name > 256 or string.find(name, "^[%w!#$%%&'*+%-.^_`|~]+$") == nil or framing[name] then
    handle:logDebug(filter .. ": a header name from the route metadata is not one a filter writes: nothing done")
    return nil
  end
  return name
end

-- An operation's value: a missing command renders empty, or, with `missing: skip`, the value
-- is nil and nothing is written.
local function operation_value(op, handle, headers)
  if op.missing == "skip" then return render(op.parts, handle, headers, nil) end
  return render(op.parts, handle, headers, "")
end

local function apply_operations(operations, handle, headers, request, filter)
  for _, op in ipairs(operations) do
    local name = all_hold(op.when, headers, request, handle) and name_now(op, handle, headers, filter)
    if name then
      if op.action == "remove" then
        headers:remove(name)
      elseif op.action == "remove_prefix" then
        local names = {}
        for name, _ in pairs(headers) do
          if string.sub(name, 1, #op.name) == op.name then table.insert(names, name) end
        end
        for _, name in ipairs(names) do headers:remove(name) end
      elseif op.action == "replace_body" then
        -- As a script does: the whole body, then setBytes (which writes content-length). No
        -- body (the headers ended the stream): body() is nil, nothing is written.
        local body = handle:body()
        -- body() yields until the body is in; Envoy then refuses the header map taken
        -- before ("object used outside of proper scope"): take it again.
        headers = handle:headers()
        if body ~= nil then
          local value = operation_value(op, handle, headers)
          if value ~= nil then body:setBytes(value) end
        end
      elseif op.action == "remove_cookie" then
        local header = headers:get("cookie")
        if header ~= nil then headers:replace("cookie", without_cookie(header, op.name)) end
      elseif op.action ~= "set_if_absent" or headers:get(name) == nil then
        local value = operation_value(op, handle, headers)
        if value == nil then
          -- missing: skip writes nothing, silently (the script's `if v then ... end`).
        elseif op.action == "set" then
          headers:replace(name, value)
        else
          headers:add(name, value)
        end
      end
    end
  end
end
-- moonshift engine end

-- The template, split once per Lua state by the engine above.
local parts = parse_template(config.message)

-- The response's line, when configured: a response-phase template whose %RESPONSE_DURATION%
-- counts from the request's headers (kept in the stream's dynamic metadata).
local response_parts = config.response and parse_template(config.response.message)
local response_method = config.response and log_methods[config.response.level or "info"]
local timed = false
for _, part in ipairs(response_parts or {}) do
  if type(part) == "table" and part.command == "RESPONSE_DURATION" then timed = true end
end
local NAMESPACE = "moonshift.path-logger"

function envoy_on_request(request_handle)
  if timed then
    request_handle:streamInfo():dynamicMetadata():set(NAMESPACE, "started_ms", request_handle:timestamp())
  end
  if config.message == "" then return end
  local headers = request_handle:headers()
  if not all_hold(config.when, headers, nil, request_handle) then return end
  local message = ""
  for _, part in ipairs(parts) do
    if type(part) == "table" then
      -- Like the guide's `"Request path: " .. path`: a missing source raises here.
      message = message .. read_source(part, request_handle, headers)
    else
      message = message .. part
    end
  end
  request_handle[log_method](request_handle, message)
end

if response_parts then
  function envoy_on_response(response_handle)
    local headers = response_handle:headers()
    if not all_hold(config.response.when, headers, nil, response_handle) then return end
    local out = {}
    for _, part in ipairs(response_parts) do
      if type(part) == "table" and part.command == "RESPONSE_DURATION" then
        local kept = response_handle:streamInfo():dynamicMetadata():get(NAMESPACE)
        local started = kept and kept.started_ms
        out[#out + 1] = started and string.format("%d", response_handle:timestamp() - started) or "-"
      else
        -- A missing source renders as "-", as in the Wasm (this line is not the seed's).
        out[#out + 1] = render({ part }, response_handle, headers, "-")
      end
    end
    response_handle[response_method](response_handle, table.concat(out))
  end
end
