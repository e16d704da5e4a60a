-- The Istio extension guide's whole Lua script, verbatim (its EnvoyFilter's inline_code): it
-- logs the path, stamps a timestamp and adds a response header, which is three Moonshift
-- filters. One `pipeline` plugin replaces it (tests/scenarios/pipeline.json).
function envoy_on_request(request_handle)
  local path = request_handle:headers():get(":path")
  request_handle:logInfo("Request path: " .. path)

  -- Add timestamp header
  request_handle:headers():add(
    "x-request-timestamp",
    os.date("!%Y-%m-%dT%H:%M:%SZ")
  )
end

function envoy_on_response(response_handle)
  response_handle:headers():add("x-lua-processed", "true")
end
