-- model: emissary-ingress/emissary:python/tests/kat/t_lua_scripts.py
-- what: The Ambassador Module `lua_scripts` test script: adds a Lua-Scripts-Enabled header (value from an env-substituted template) to every response.
-- The original is a Module's lua_scripts string; "$LUA_SCRIPTS_ENABLED" is substituted by
-- the test harness before Envoy sees it, so the header value is the literal "Processed".
-- The space between ':' and the method name is in the original too (legal Lua).
function envoy_on_response(response)
  response: headers():add("Lua-Scripts-Enabled", "Processed")
end
