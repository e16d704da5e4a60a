-- model: pomerium/pomerium:config/envoyconfig/luascripts/trace-context.lua
-- what: Copies pomerium_traceparent / pomerium_tracestate query parameters into x-pomerium-* headers, and records the external parent span id from a well-formed traceparent when no x-pomerium-traceparent exists.
function envoy_on_request(handle)
  local hdrs = handle:headers()
  local p = hdrs:get(":path")

  -- fragments are left alone
  if p:find("#") ~= nil then
    return
  end

  -- copy ?name=value (only when preceded by '?' or '&') into a request header
  local function query_to_header(param, header)
    local s, e = p:find(param .. "=")
    if s ~= nil and (p:sub(s - 1, s - 1) == "&" or p:sub(s - 1, s - 1) == "?") then
      local stop = p:find("&", e + 1)
      if stop ~= nil then
        stop = stop - 1
      else
        stop = #p
      end
      local v = p:sub(e + 1, stop)
      if v ~= nil then
        hdrs:replace(header, v)
        return true
      end
    end
    return false
  end

  if query_to_header("pomerium_traceparent", "x-pomerium-traceparent") then
    query_to_header("pomerium_tracestate", "x-pomerium-tracestate")
  end

  -- a W3C traceparent is exactly 55 characters; characters 37..52 are the parent span id
  local tp = hdrs:get("traceparent")
  local pomerium_tp = hdrs:get("x-pomerium-traceparent")
  if tp ~= nil and #tp == 55 then
    if pomerium_tp == nil then
      hdrs:replace("x-pomerium-external-parent-span", tp:sub(37, 52))
    end
  end
end

function envoy_on_response(handle)
end
