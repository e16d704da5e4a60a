-- model: allegro/envoy-control:envoy-control-core/src/main/resources/lua/ingress_current_zone_header.lua
-- what: On responses, adds a header whose name and value (the current zone) come from the route's filter metadata; does nothing when no header name is configured.
function envoy_on_request(handle)
end

function envoy_on_response(handle)
  local header_name = handle:metadata():get("traffic_splitting_zone_header_name") or ""
  local zone = handle:metadata():get("current_zone") or ""
  if header_name == "" then
    return
  end
  handle:headers():add(header_name, zone)
end
