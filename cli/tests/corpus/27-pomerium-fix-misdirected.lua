-- model: pomerium/pomerium:internal/controlplane/luascripts/fix-misdirected.lua
-- what: Saves the request :authority in dynamic metadata and, when the response is a 404 for a different authority than the listener's own, turns the status into 421 (coalesced HTTP/2 connection).
-- The original's expected authority is a Go fmt "%s" placeholder filled per listener; rendered here.
function envoy_on_request(handle)
  local hdrs = handle:headers()
  local dyn = handle:streamInfo():dynamicMetadata()

  local authority = hdrs:get(":authority")

  -- keep it for the response phase
  dyn:set("envoy.filters.http.lua", "request.authority", authority)
end

function envoy_on_response(handle)
  local hdrs = handle:headers()
  local dyn = handle:streamInfo():dynamicMetadata()

  local ours = dyn:get("envoy.filters.http.lua")
  if ours == nil then
    return
  end

  local authority = ours["request.authority"]
  local expected = "authenticate.example.com"

  -- a route miss on a foreign authority means the client reused a connection it should not have
  if hdrs:get(":status") == "404" and authority ~= expected then
    hdrs:replace(":status", "421")
  end
end
