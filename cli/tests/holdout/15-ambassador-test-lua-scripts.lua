-- model: https://github.com/emissary-ingress/emissary/issues/1430
-- what: The Ambassador Module lua_scripts from the issue (set through a Service's getambassador.io/config annotation): adds TEST_LUA_SCRIPTS: Processed to every response.
function envoy_on_response(r)
  r:headers():add("TEST_LUA_SCRIPTS", "Processed")
end
