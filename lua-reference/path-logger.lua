-- path-logger: the Lua that Moonshift's `path-logger` filter replaces.
--
-- From the Istio extension guide's Lua EnvoyFilter:
--   local path = request_handle:headers():get(":path")
--   request_handle:logInfo("Request path: " .. path)
--
-- `config` holds the defaults, which are exactly those two lines. `message` is literal text with
-- `%REQ(header)%` placeholders (Envoy's access-log spelling). The test runners render other
-- configurations by replacing this one table; nothing else in the file changes.
local config = {
  level = "info",
  message = "Request path: %REQ(:path)%",
}

local log_methods = {
  trace = "logTrace",
  debug = "logDebug",
  info = "logInfo",
  warn = "logWarn",
  error = "logErr",
  critical = "logCritical",
}
local log_method = log_methods[config.level]

-- The template, split once per Lua state: literal strings and { header = name } parts.
local parts = {}
do
  local pos = 1
  while true do
    local first, last, name = string.find(config.message, "%%REQ%((.-)%)%%", pos)
    if first == nil then break end
    if first > pos then table.insert(parts, string.sub(config.message, pos, first - 1)) end
    table.insert(parts, { header = string.lower(name) })
    pos = last + 1
  end
  if pos <= #config.message then table.insert(parts, string.sub(config.message, pos)) end
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local message = ""
  for _, part in ipairs(parts) do
    if type(part) == "table" then
      -- Like the guide's `"Request path: " .. path`: a missing header raises here.
      message = message .. headers:get(part.header)
    else
      message = message .. part
    end
  end
  request_handle[log_method](request_handle, message)
end
