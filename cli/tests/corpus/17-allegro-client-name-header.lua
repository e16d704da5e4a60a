-- model: allegro/envoy-control:envoy-control-core/src/main/resources/lua/ingress_client_name_header.lua
-- what: Strips a spoofable trusted-client-identity header (name from route metadata), then re-adds it from the mTLS peer certificate's URI SANs matched against a Lua pattern also taken from metadata.
function envoy_on_request(handle)
  local info = handle:streamInfo()
  local identity_header = handle:metadata():get("trusted_client_identity_header") or ""
  if identity_header == "" then
    return
  end

  if handle:headers():get(identity_header) ~= nil then
    handle:headers():remove(identity_header)
  end

  if handle:connection():ssl() and info:downstreamSslConnection() then
    local sans = handle:streamInfo():downstreamSslConnection():uriSanPeerCertificate()
    if sans ~= nil and next(sans) ~= nil then
      local pattern = handle:metadata():get("san_uri_lua_pattern")

      for _, uri in pairs(sans) do
        local client = string.match(uri, pattern)
        if client ~= nil and client ~= '' then
          handle:headers():add(identity_header, client)
        end
      end
    end
  end
end

function envoy_on_response(handle)
end
