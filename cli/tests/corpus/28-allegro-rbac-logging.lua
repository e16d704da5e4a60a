-- model: allegro/envoy-control:envoy-control-core/src/main/resources/lua/ingress_rbac_logging.lua
-- what: Stashes path, method, XFF and the caller's identity (first non-empty header from a metadata list) in dynamic metadata, then logs a JSON-ish INCOMING_PERMISSIONS line for responses the RBAC shadow engine denied.
function envoy_on_request(handle)
  local p = handle:headers():get(":path")
  local verb = handle:headers():get(":method")
  local xff = handle:headers():get("x-forwarded-for")
  local dyn = handle:streamInfo():dynamicMetadata()
  local identity_headers = handle:metadata():get("client_identity_headers") or {}
  local caller = ""
  for _, name in ipairs(identity_headers) do
    caller = handle:headers():get(name) or ""
    if caller ~= "" then break end
  end
  dyn:set("envoy.filters.http.lua", "request.info.path", p)
  dyn:set("envoy.filters.http.lua", "request.info.method", verb)
  dyn:set("envoy.filters.http.lua", "request.info.xff_header", xff)
  dyn:set("envoy.filters.http.lua", "request.info.service_name", caller)
end

function envoy_on_response(handle)
  local rbac = handle:streamInfo():dynamicMetadata():get("envoy.filters.http.rbac")

  if rbac == nil or rbac["shadow_engine_result"] ~= "denied" then
    return
  end

  local saved = handle:streamInfo():dynamicMetadata():get("envoy.filters.http.lua") or {}
  local caller = saved["request.info.service_name"] or ""
  local p = saved["request.info.path"] or ""
  local scheme = handle:connection():ssl() == nil and "http" or "https"
  local verb = saved["request.info.method"] or ""
  local xff = saved["request.info.xff_header"] or ""
  -- the last hop in XFF is the address that reached us
  local client_ip = string.match(xff, '[^,]+$') or ""
  local status = handle:headers():get(":status") or "0"
  handle:logInfo("\nINCOMING_PERMISSIONS { \"method\": \"" .. verb .. "\", \"path\": \"" .. p ..
    "\", \"clientIp\": \"" .. client_ip .. "\", \"clientName\": \"" .. caller ..
    "\", \"protocol\": \"" .. scheme .. "\", \"statusCode\": " .. status .. " }")
end
