-- model: GoogleCloudPlatform/community:tutorials/claims-routing-istio/manifests/istio/route/jwtparse.lua
-- what: Ingress-gateway script (required from the EnvoyFilter's inlineCode) that base64url-decodes the Bearer JWT payload (or an x-jwt-payload header), reads the custom "version" claim and sets x-app-version for VirtualService routing.
-- Third-party modules shipped into the gateway image (basexx, json.lua), as in the original.
local b64 = require("basexx")
local json = require("json")

local VERSION_HEADER = "x-app-version"
local PAYLOAD_HEADER = "x-jwt-payload"

function envoy_on_request(handle)
  handle:logDebug("JWT parse filter")
  -- never trust a client-supplied routing header
  handle:headers():remove(VERSION_HEADER)
  local authz = handle:headers():get("authorization")
  if not authz then
    handle:logDebug("No Authorization header in request.")
  end
  local encoded = handle:headers():get(PAYLOAD_HEADER)
  if authz then
    -- middle segment of "Bearer header.payload.signature"
    encoded = string.match(authz, "Bearer .+%.(.+)%..*")
  end
  if not encoded then
    handle:logWarn("No valid Bearer JWT in the Authorization header, " ..
      "and no JWT payload in the X-Jwt-Payload header.")
    return
  end
  local decoded = b64.from_url64(encoded)
  if not decoded then
    handle:logErr("Could not base64url decode payload from Bearer JWT.")
    return
  end
  local ok, version = pcall(
    function() return json.decode(decoded)["version"] end
  )
  if not ok then
    handle:logErr("Could not parse base64url decoded JWT payload as " ..
      "valid JSON: " .. decoded)
    return
  end
  if not version then
    handle:logWarn("No version claim in the JWT payload.")
    return
  end
  handle:logDebug("Adding header: " ..
    VERSION_HEADER .. "=" .. version)
  handle:headers():replace(VERSION_HEADER, version)
end
