-- response-decorator: the Lua that Moonshift's `response-decorator` filter replaces.
--
-- From the Istio extension guide's Lua EnvoyFilter:
--   function envoy_on_response(response_handle)
--     response_handle:headers():add("x-lua-processed", "true")
--   end
--
-- `config` holds the defaults, which are exactly that function. Each operation is applied in
-- order: "add" is headers():add, "set" is headers():replace, "remove" is headers():remove.
-- The test runners render other configurations by replacing this one table.
local config = {
  operations = {
    { action = "add", name = "x-lua-processed", value = "true" },
  },
}

function envoy_on_response(response_handle)
  local headers = response_handle:headers()
  for _, op in ipairs(config.operations) do
    if op.action == "add" then
      headers:add(op.name, op.value)
    elseif op.action == "set" then
      headers:replace(op.name, op.value)
    elseif op.action == "remove" then
      headers:remove(op.name)
    end
  end
end
