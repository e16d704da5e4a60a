-- model: pomerium/pomerium:config/envoyconfig/luascripts/local-reply-type.lua
-- what: Parses the Accept header (weights and order), picks html / plain / json for Pomerium's local replies and stores the choice in the envoy.filters.http.lua dynamic metadata.
-- Returns the media types of an Accept header, best first (by q, then by position).
function sort_accept(value)
  if value == nil then
    return {}
  end

  local entries = {}
  local from = 1
  local pos = 1
  while true do
    local comma = string.find(value, ",", from)
    local part
    if comma == nil then
      part = string.sub(value, from)
    else
      part = string.sub(value, from, comma - 1)
    end

    local media = part
    local weight = 1.0
    local semi = string.find(part, ';')
    if semi ~= nil then
      media = string.sub(part, 1, semi - 1)
      -- q_at / q_text are globals in the original
      q_at = string.find(part, "q=", semi + 1)
      if q_at ~= nil then
        q_text = string.sub(part, q_at + 2)
        weight = tonumber(q_text)
      end
    end

    table.insert(entries, { type = media, q = weight, position = pos })
    pos = pos + 1

    if comma == nil then
      break
    else
      from = comma + 1
    end
  end
  table.sort(entries, function(x, y)
    if x.q == y.q then
      return x.position < y.position
    end
    return x.q > y.q
  end)
  return entries
end

function envoy_on_request(handle)
  local hdrs = handle:headers()
  local dyn = handle:streamInfo():dynamicMetadata()

  local ranked = sort_accept(hdrs:get("accept"))
  for _, e in pairs(ranked) do
    if e.type == "text/html" or e.type == "text/*" then
      dyn:set("envoy.filters.http.lua", "pomerium_local_reply_type", "html")
      return
    elseif e.type == "text/plain" then
      dyn:set("envoy.filters.http.lua", "pomerium_local_reply_type", "plain")
      return
    elseif e.type == "application/json" or e.type == "application/*" then
      dyn:set("envoy.filters.http.lua", "pomerium_local_reply_type", "json")
      return
    end
  end
  -- nothing recognised: default to an HTML page
  dyn:set("envoy.filters.http.lua", "pomerium_local_reply_type", "html")
end

function envoy_on_response(handle)
  -- not used
end
