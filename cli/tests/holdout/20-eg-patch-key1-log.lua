-- model: https://github.com/envoyproxy/gateway/pull/6311
-- what: The EnvoyPatchPolicy example from Envoy Gateway's "enable udpa.TypedStruct" PR (Lua wrapped in a TypedStruct, added as the listener's first HTTP filter): reads request header key1 and logs it at warn level.
-- The concatenation raises when key1 is absent, as in the PR; `val` is a global there too.
function envoy_on_request(h)
  val = h:headers():get("key1")
  h:logWarn("get result: " .. val)
end
