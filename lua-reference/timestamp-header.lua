-- timestamp-header: the Lua that Moonshift's `timestamp-header` filter replaces.
--
-- From the Istio extension guide's Lua EnvoyFilter:
--   request_handle:headers():add("x-request-timestamp", os.date("!%Y-%m-%dT%H:%M:%SZ"))
--
-- `config` holds the defaults, which are exactly that line. The test runners render other
-- configurations by replacing this one table; nothing else in the file changes.
local config = {
  header = "x-request-timestamp",
  format = "%Y-%m-%dT%H:%M:%SZ",
  on_existing = "append",
}

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local value = os.date("!" .. config.format)
  if config.on_existing == "replace" then
    headers:replace(config.header, value)
  elseif config.on_existing == "keep" then
    if headers:get(config.header) == nil then
      headers:add(config.header, value)
    end
  else
    headers:add(config.header, value)
  end
end
