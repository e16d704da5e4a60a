local REALM = "orders"
local function deny(handle, why)
  handle:respond({[":status"] = "401", ["www-authenticate"] = "Bearer realm=\"" .. REALM .. "\""}, why)
end

function envoy_on_request(handle)
  local h = handle:headers()
  local method = h:get(":method")
  if method == "OPTIONS" then
    return
  end
  if h:get("x-request-id") == nil then
    h:add("x-request-id", "generated")
  end
  local drop = {}
  for name, _ in pairs(h) do
    if name:sub(1, 11) == "x-internal-" then
      table.insert(drop, name)
    end
  end
  for _, name in ipairs(drop) do
    h:remove(name)
  end
  local path = h:get(":path")
  if path:sub(1, 5) == "/old/" then
    handle:respond({[":status"] = "404"}, "gone")
  end
  if method == "GET" or method == "DELETE" then
    h:replace("x-safe", "maybe")
  end
  if path:find("#") ~= nil then
    h:add("x-fragment", "yes")
  end
  if h:get("authorization") == nil then
    deny(handle, "no token")
  end
  h:add("x-authed", "1")
end
