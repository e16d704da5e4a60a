-- model: envoyproxy/envoy:docs/root/configuration/http/http_filters/lua_filter.rst
-- what: The Lua filter documentation's logging example: logs :authority, :method and :path of each request at info level and the response :status.
function envoy_on_request(req)
  -- log request information
  req:logInfo("Authority: " .. req:headers():get(":authority"))
  req:logInfo("Method: " .. req:headers():get(":method"))
  req:logInfo("Path: " .. req:headers():get(":path"))
end

function envoy_on_response(resp)
  -- and the status on the way back
  resp:logInfo("Status: " .. resp:headers():get(":status"))
end
