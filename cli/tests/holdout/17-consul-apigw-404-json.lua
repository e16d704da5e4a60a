-- model: https://github.com/hashicorp/consul/pull/22321
-- what: Sample script from Consul's "LUA script Envoy extension support for API gateway" PR (builtin/lua on an api-gateway outbound listener): turns upstream 404s into 200 with a fixed JSON body and rewrites the cache/encoding/type headers.
function envoy_on_response(resp)
  if resp:headers():get(":status") == "404" then
      resp:headers():replace(":status", "200")
      local payload = '{"message":"Modified by Lua script","status":"success"}'
      resp:body():setBytes(payload)

      resp:headers():remove("x-envoy-upstream-service-time")
      resp:headers():remove("x-powered-by")
      resp:headers():replace("cache-control", "no-store")
      resp:headers():remove("content-length")
      resp:headers():replace("content-encoding", "identity")
      resp:headers():replace("content-type", "application/json")
  end
end
