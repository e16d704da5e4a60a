-- model: https://github.com/rossoctl/cortex/issues/223
-- what: The AuthProxy inbound listener's direction-tagging Lua filter (the "before" config quoted in the issue about migrating off inline_code): marks every inbound request with x-authbridge-direction: inbound.
function envoy_on_request(req)
  req:headers():add("x-authbridge-direction", "inbound")
end
