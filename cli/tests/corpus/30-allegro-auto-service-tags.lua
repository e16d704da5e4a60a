-- model: allegro/envoy-control:envoy-control-core/src/main/resources/lua/egress_auto_service_tags.lua
-- what: When route metadata enables it, answers 400 if the service tag already placed in envoy.lb dynamic metadata duplicates one of the route's automatic service-tag preferences (read from metadata as a list).
function envoy_on_request(handle)
  local reject_duplicates = handle:metadata():get("reject_request_service_tag_duplicate") or false

  if reject_duplicates then
    reject_duplicate_service_tag(handle)
  end
end

-- global helper defined after its caller, as in the original
function reject_duplicate_service_tag(handle)
  local auto_tags = handle:metadata():get("auto_service_tag_preference")
  if auto_tags == nil then
    return
  end
  local tag_key = handle:metadata():get("service_tag_metadata_key")
  if tag_key == nil then
    handle:logErr("'service_tag_metadata_key' is not present in metadata!")
    return
  end
  local requested = (handle:streamInfo():dynamicMetadata():get("envoy.lb") or {})[tag_key]
  if (requested == nil) then
    return
  end

  for i = 1, #auto_tags do
    if requested == auto_tags[i] then
      local msg = "Request service-tag '" .. requested .. "' duplicates auto service-tag preference. "
        .. "Remove service-tag parameter from the request"
      -- numeric status, as in the original
      handle:respond({[":status"] = 400}, msg)
    end
  end
end

function envoy_on_response(handle)
end
