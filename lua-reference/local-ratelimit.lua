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

-- Per-worker state: buckets by key, and how many client buckets exist. A bucket is
-- { at = ms of its last admission, tokens = tokens left after it }: native Envoy's single
-- cursor `now - tokens / rate` needs its monotonic clock's small numbers, and on the wall
-- clock's ~1.8e9 seconds a double cannot hold it exactly (a fresh 1-token bucket would hold
-- 0.99999 tokens). A missing bucket is full.
buckets = buckets or {}
client_count = client_count or 0

local function tokens(bucket, now_ms)
  if bucket == nil then return max_tokens end
  return math.min(bucket.tokens + (now_ms - bucket.at) / 1000 * fill_rate, max_tokens)
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

local function bucket_key(client)
  if client == nil then return "default" end
  local key = "client/" .. client
  if buckets[key] == nil then
    if client_count >= config.max_client_keys then return "default" end
    client_count = client_count + 1
  end
  return key
end

function envoy_on_request(handle)
  if not sampled(enabled_percent) then return end
  local key = bucket_key(client_of(handle))
  if x_ratelimit_headers then
    -- envoy_on_response needs to know which bucket this request consulted.
    handle:streamInfo():dynamicMetadata():set("moonshift.local_ratelimit", "bucket", key)
  end
  local now_ms = handle:timestamp()
  local available = tokens(buckets[key], now_ms)
  if available >= 1 then
    buckets[key] = { at = now_ms, tokens = available - 1 }
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
  local left = tokens(buckets[key], handle:timestamp())
  local reset = 0
  if left < 1 then reset = math.ceil((1 - left) / fill_rate) end
  local headers = handle:headers()
  headers:add("x-ratelimit-limit", tostring(max_tokens))
  headers:add("x-ratelimit-remaining", string.format("%d", math.floor(math.max(left, 0))))
  headers:add("x-ratelimit-reset", string.format("%d", reset))
end
