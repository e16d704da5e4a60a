-- local-ratelimit: the Lua that Moonshift's `local-ratelimit` filter replaces.
--
-- The Istio extension guide limits with Envoy's native local_ratelimit filter (100 tokens,
-- 100 per 60 s, enabled and enforced for 100% of requests). Teams that could not express their
-- rule natively wrote it in Lua; this is that Lua, doing Envoy's own token-bucket arithmetic
-- (source/common/common/token_bucket_impl.cc) on `handle:timestamp()`.
--
-- Like every Lua filter, its state is a global of one worker's Lua state: with N workers there
-- are N buckets. The Wasm filter's `scope = "worker"` does the same; its default, `process`,
-- shares one bucket across workers as native Envoy does.
--
-- `config` holds the defaults, in the same shape as the Wasm filter's JSON configuration (see
-- filters/local-ratelimit/README.md), so a configuration renders as this table field for field.
-- The test runners render other configurations by replacing this one table; nothing else in the
-- file changes. `scope` is absent: a Lua filter's state is always per worker.
local config = {
  stat_prefix = "http_local_rate_limiter",
  token_bucket = { max_tokens = 100, tokens_per_fill = 100, fill_interval = "60s" },
  status = { code = 429 },
  body = "local_rate_limited",
  response_headers_to_add = {},
  request_headers_to_add_when_not_enforced = {},
  enable_x_ratelimit_headers = "OFF",
  filter_enabled = { default_value = { numerator = 100, denominator = "HUNDRED" } },
  filter_enforced = { default_value = { numerator = 100, denominator = "HUNDRED" } },
  client_key = nil,            -- { request_header = "x-api-key" } or { remote_address = {} }
  max_client_keys = 10000,
}

-- "60s", "1.5s", "0.05s" or "50ms", in seconds.
local function seconds(duration)
  local ms = string.match(duration, "^(%d+)ms$")
  if ms then return tonumber(ms) / 1000 end
  return tonumber(string.match(duration, "^([%d.]+)s$"))
end

local denominators = { HUNDRED = 100, TEN_THOUSAND = 10000, MILLION = 1000000 }

local function percent(fraction)
  local value = fraction.default_value
  return value.numerator * 100 / denominators[value.denominator or "HUNDRED"]
end

local max_tokens = config.token_bucket.max_tokens
local fill_rate = config.token_bucket.tokens_per_fill / seconds(config.token_bucket.fill_interval)
local enabled_percent = percent(config.filter_enabled)
local enforced_percent = percent(config.filter_enforced)
local x_ratelimit_headers = config.enable_x_ratelimit_headers == "DRAFT_VERSION_03"

-- Per-worker state: the default bucket, and the client buckets in sets. A bucket is
-- { at = ms of its last admission, tokens = tokens left after it }: native Envoy's single
-- cursor `now - tokens / rate` needs its monotonic clock's small numbers, and on the wall
-- clock's ~1.8e9 seconds a double cannot hold it exactly (a fresh 1-token bucket would hold
-- 0.99999 tokens). A missing bucket is full.
-- default_bucket is a global too: nil (a full bucket) until the first admission.
client_sets = client_sets or {}

local function tokens(bucket, now_ms)
  if bucket == nil then return max_tokens end
  return math.min(bucket.tokens + (now_ms - bucket.at) / 1000 * fill_rate, max_tokens)
end

-- At most max_client_keys client buckets, in sets of up to 4: a client's set is the 32-bit
-- FNV-1a of its key modulo the number of sets. A client not in its set takes an empty place,
-- else the place of the bucket with the most tokens (one that has refilled is the same as no
-- bucket; otherwise its client loses the least by starting again full). A flood of new keys
-- can make the table forget active clients, which gives them full buckets, and never makes two
-- clients share one. The Wasm filter keeps the same sets (filters/local-ratelimit/src/clients.rs).
local bit = require("bit")
local ways = math.min(4, config.max_client_keys)
local set_count = math.ceil(config.max_client_keys / ways)

-- h * 16777619 mod 2^32 as (h << 24) + h * 403: exact in a double before bit.tobit wraps it.
local function fnv1a32(key)
  local h = bit.tobit(0x811c9dc5)
  for i = 1, #key do
    h = bit.bxor(h, string.byte(key, i))
    h = bit.tobit(bit.lshift(h, 24) + h * 403)
  end
  return h % 4294967296
end

local function set_of(client)
  local index = fnv1a32(client) % set_count
  local set = client_sets[index]
  if set == nil then
    set = {}
    client_sets[index] = set
  end
  return set
end

-- The client's bucket in its set, or nil (a full bucket).
local function client_bucket(client)
  for _, way in ipairs(set_of(client)) do
    if way.client == client then return way.bucket end
  end
  return nil
end

-- Where the client's bucket goes in its set at now_ms: its own place, or a new one.
local function place(client, now_ms)
  local set = set_of(client)
  for i, way in ipairs(set) do
    if way.client == client then return set, i end
  end
  if #set < ways then return set, #set + 1 end
  local fullest, most = 1, -math.huge
  for i, way in ipairs(set) do
    local t = tokens(way.bucket, now_ms)
    if t > most then fullest, most = i, t end
  end
  set[fullest] = { client = client }
  return set, fullest
end

local function sampled(percent)
  return percent >= 100 or (percent > 0 and math.random() * 100 < percent)
end

local function client_of(handle)
  local key = config.client_key
  if key == nil then return nil end
  if key.request_header then
    return handle:headers():get(key.request_header)
  elseif key.remote_address then
    local address = handle:streamInfo():downstreamRemoteAddress()
    local v6 = string.match(address, "^%[(.*)%]:%d+$")
    if v6 then return v6 end
    local ip = string.match(address, "^([^:]*):%d+$")
    return ip or address
  end
  return nil
end

function envoy_on_request(handle)
  if not sampled(enabled_percent) then return end
  local client = client_of(handle)
  if x_ratelimit_headers then
    -- envoy_on_response needs to know which bucket this request consulted.
    local key = "default"
    if client ~= nil then key = "client/" .. client end
    handle:streamInfo():dynamicMetadata():set("moonshift.local_ratelimit", "bucket", key)
  end
  local now_ms = handle:timestamp()
  local bucket, set, index = default_bucket, nil, nil
  if client ~= nil then
    set, index = place(client, now_ms)
    bucket = set[index] and set[index].bucket
  end
  local available = tokens(bucket, now_ms)
  if available >= 1 then
    local admitted = { at = now_ms, tokens = available - 1 }
    if set == nil then
      default_bucket = admitted
    else
      set[index] = { client = client, bucket = admitted }
    end
    return
  end
  if not sampled(enforced_percent) then
    for _, option in ipairs(config.request_headers_to_add_when_not_enforced) do
      handle:headers():add(option.header.key, option.header.value)
    end
    return
  end
  local reply = { [":status"] = tostring(config.status.code) }
  for _, option in ipairs(config.response_headers_to_add) do
    reply[string.lower(option.header.key)] = option.header.value
  end
  handle:respond(reply, config.body)
end

function envoy_on_response(handle)
  if not x_ratelimit_headers then return end
  local metadata = handle:streamInfo():dynamicMetadata():get("moonshift.local_ratelimit")
  local key = metadata and metadata["bucket"]
  if key == nil then return end
  local bucket = default_bucket
  if key ~= "default" then bucket = client_bucket(string.sub(key, 8)) end
  local left = tokens(bucket, handle:timestamp())
  local reset = 0
  if left < 1 then reset = math.ceil((1 - left) / fill_rate) end
  local headers = handle:headers()
  headers:add("x-ratelimit-limit", tostring(max_tokens))
  headers:add("x-ratelimit-remaining", string.format("%d", math.floor(math.max(left, 0))))
  headers:add("x-ratelimit-reset", string.format("%d", reset))
end
