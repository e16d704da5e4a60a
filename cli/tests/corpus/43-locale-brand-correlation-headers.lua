-- model: johnzheng1975/tutorial-istio-envoy-lua-filters:example-6-istio/envoy-filter.yaml
-- what: Gateway script (an EnvoyFilter's inlineCode) that fills missing locale / brand / systemid / correlationid headers from the query string or the JSON request body, generating a GEN-<uuid> correlation id for write requests without one.
-- JSON and uuid helpers are loaded from files baked into the proxy image, once per worker.
JSON = (loadfile "/var/lib/lua/JSON.lua")()
uuid = (loadfile "/var/lib/lua/uuid.lua")()

function envoy_on_request(handle)
  handle:logInfo("******* enter envoy_on_request")
  -- helpers are (re)defined as globals on every request, as in the original
  function unescape(s)
    s = s:gsub('+', ' ')
        :gsub('%%(%x%x)', function(hex)
                            return string.char(tonumber(hex, 16))
                          end)
    return s
  end
  function query_table(s)
    local out = {}
    for k, v in s:gmatch('([^&=?]-)=([^&=?]+)') do
      out[ k ] = unescape(v)
    end
    return out
  end
  local hdrs = handle:headers()
  local p = hdrs:get(":path")
  local verb = hdrs:get(":method")
  local query = query_table(p)
  local ctype = hdrs:get("content-type")
  local locale = hdrs:get("locale")
  local brand = hdrs:get("brand")
  local systemid = hdrs:get("systemid")
  local correlationid = hdrs:get("correlationid")
  local decoded = {locale="mylvalue"}
  local fallback = {locale="mylvalue"}
  if ctype == "application/json" then
    handle:logInfo("******* The body is application json")
    local buf = handle:body()
    local size = buf:length()
    local bytes = buf:getBytes(0, size)
    local text = tostring(bytes)
    decoded = JSON:decode(text)
    handle:logInfo(fallback.locale)
  end
  if locale == nil then
    if query["locale"] ~= nil then
      handle:headers():replace("locale", query["locale"])
    else
      -- note: the original reads the debug table here, not the decoded body
      if fallback.locale ~= nil then
        handle:logInfo("*******  lua_value.locale ~= nil")
        handle:headers():replace("locale", fallback.locale)
      end
    end
  end
  if brand == nil then
    if query["brand"] ~= nil then
      handle:headers():replace("brand", query["brand"])
    else
      if decoded.brand ~= nil then
        handle:headers():replace("brand", decoded.brand)
      end
    end
  end
  if systemid == nil then
    if query["systemid"] ~= nil then
      handle:headers():replace("systemid", query["systemid"])
    else
      if decoded.systemid ~= nil then
        handle:headers():replace("systemid", decoded.systemid)
      end
    end
  end
  if correlationid == nil then
    if verb == "GET" or verb == "DELETE" then
      if query["correlationid"] ~= nil then
        handle:headers():replace("correlationid", query["correlationid"])
      end
    else
      if decoded.correlationid ~= nil then
        handle:headers():replace("correlationid", decoded.correlationid)
      else
        -- mint one
        handle:headers():replace("correlationid", "GEN-" .. uuid())
      end
    end
  end
end
