-- model: envoyproxy/gateway:site/content/en/latest/tasks/extensibility/lua.md
-- what: The Envoy Gateway EnvoyExtensionPolicy Lua task (inline and ConfigMap variants): adds x-lua-custom: FOO to every response of the targeted HTTPRoute.
function envoy_on_response(handle)
  local hdrs = handle:headers()
  hdrs:add("x-lua-custom", "FOO")
end
