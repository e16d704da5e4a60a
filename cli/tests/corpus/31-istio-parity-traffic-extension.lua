-- model: https://istio.io/latest/docs/tasks/extensibility/lua-scripts/
-- what: Istio's TrafficExtension Lua task: reads a numeric x-number request header, stores "odd"/"even" in dynamic metadata, and adds it as an x-parity response header.
function envoy_on_request(req)
  local n = tonumber(req:headers():get("x-number"))
  if n == nil then return end
  local kind = n % 2 == 0 and "even" or "odd"
  req:streamInfo():dynamicMetadata():set(
    "envoy.filters.http.lua", "parity", kind)
end

function envoy_on_response(resp)
  local saved = resp:streamInfo():dynamicMetadata():get(
    "envoy.filters.http.lua")
  if saved == nil then return end
  resp:headers():add("x-parity", saved["parity"])
end
