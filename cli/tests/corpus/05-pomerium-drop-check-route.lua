-- model: pomerium/pomerium:config/envoyconfig/luascripts/drop-check-route-requests.lua
-- what: Rejects with a 500 any request still carrying Pomerium's internal x-pomerium-check-route marker, logging an error.
function envoy_on_request(handle)
  local h = handle:headers()
  if h:get("x-pomerium-check-route") ~= nil then
    -- the marker must never reach an upstream
    handle:logErr("check-route request caught by filter")
    handle:respond({[":status"] = "500"}, "Internal Server Error")
  end
end
