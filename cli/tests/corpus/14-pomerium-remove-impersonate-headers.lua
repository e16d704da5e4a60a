-- model: pomerium/pomerium:config/envoyconfig/luascripts/remove-impersonate-headers.lua
-- what: When the route's metadata asks for it, removes Kubernetes impersonation headers (impersonate-user, impersonate-group, impersonate-extra-*) collected in a first pass over all headers.
local function has_prefix(s, prefix)
  return s:sub(1, #prefix) == prefix
end

function envoy_on_request(handle)
  local hdrs = handle:headers()
  local route_meta = handle:metadata()

  local enabled = route_meta:get("remove_impersonate_headers")
  if enabled then
    -- headers cannot be removed while iterating, so collect first
    local doomed = {}
    for name, _ in pairs(hdrs) do
      if has_prefix(name, "impersonate-extra-") or name == "impersonate-group" or name == "impersonate-user" then
        table.insert(doomed, name)
      end
    end

    for _, name in pairs(doomed) do
      hdrs:remove(name)
    end
  end
end

function envoy_on_response(handle)
end
