-- model: envoyproxy/envoy:docs/root/configuration/http/http_filters/lua_filter.rst
-- what: The documentation's httpCall example: POSTs to lua_cluster (sending two set-cookie values) and then answers the client directly with 403 "nope", echoing the call's foo response header.
function envoy_on_request(req)
  -- side call; the script is suspended until it completes
  local call_headers, call_body = req:httpCall(
  "lua_cluster",
  {
    [":method"] = "POST",
    [":path"] = "/",
    [":authority"] = "lua_cluster",
    ["set-cookie"] = { "lang=lua; Path=/", "type=binding; Path=/" }
  },
  "hello world",
  5000)

  -- local reply; no further filters run
  req:respond(
    {[":status"] = "403",
     ["upstream_foo"] = call_headers["foo"]},
    "nope")
end
