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
-- `config` holds the defaults. The test runners render other configurations by replacing this
-- one table; nothing else in the file changes.
local config = {
  max_tokens = 100,
  tokens_per_fill = 100,
  fill_interval_ms = 60000,
  status = 429,
  body = "local_rate_limited",
  response_headers_to_add = {},
  request_headers_to_add_when_not_enforced = {},
  x_ratelimit_headers = false,
  enabled_percent = 100,
  enforced_percent = 100,
  client_key_header = nil,      -- a request header name, or nil
  client_key_remote_address = false,
  max_client_keys = 10000,
}

local fill_rate = config.tokens_per_fill / (config.fill_interval_ms / 1000)

-- Per-worker state: bucket cursors (seconds) by key, and how many client buckets exist.
buckets = buckets or {}
client_count = client_count or 0

local function now_seconds(handle)
  return handle:timestamp() / 1000
end

local function tokens(cursor, now)
  return math.min((now - cursor) * fill_rate, config.max_tokens)
end

local function cursor_of(key, now)
  return buckets[key] or (now - config.max_tokens / fill_rate)
end

local function sampled(percent)
  return percent >= 100 or (percent > 0 and math.random() * 100 < percent)
end

local function client_of(handle)
  if config.client_key_header then
    return handle:headers():get(config.client_key_header)
  elseif config.client_key_remote_address then
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
  if not sampled(config.enabled_percent) then return end
  local key = bucket_key(client_of(handle))
  handle:streamInfo():dynamicMetadata():set("moonshift.local_ratelimit", "bucket", key)
  local now = now_seconds(handle)
  local available = tokens(cursor_of(key, now), now)
  if available >= 1 then
    buckets[key] = now - (available - 1) / fill_rate
    return
  end
  if not sampled(config.enforced_percent) then
    for _, h in ipairs(config.request_headers_to_add_when_not_enforced) do
      handle:headers():add(h[1], h[2])
    end
    return
  end
  local reply = { [":status"] = tostring(config.status) }
  for _, h in ipairs(config.response_headers_to_add) do
    reply[h[1]] = h[2]
  end
  handle:respond(reply, config.body)
end

function envoy_on_response(handle)
  if not config.x_ratelimit_headers then return end
  local metadata = handle:streamInfo():dynamicMetadata():get("moonshift.local_ratelimit")
  local key = metadata and metadata["bucket"]
  if key == nil then return end
  local now = now_seconds(handle)
  local left = tokens(cursor_of(key, now), now)
  local reset = 0
  if left < 1 then reset = math.ceil((1 - left) / fill_rate) end
  local headers = handle:headers()
  headers:add("x-ratelimit-limit", tostring(config.max_tokens))
  headers:add("x-ratelimit-remaining", string.format("%d", math.floor(math.max(left, 0))))
  headers:add("x-ratelimit-reset", string.format("%d", reset))
end
