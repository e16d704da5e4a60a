-- model: https://github.com/hashicorp/consul/issues/21966
-- what: The inbound builtin/lua script from the issue's service-defaults envoyExtensions: logs a test line and adds x-consul-service: auth-service to every request reaching the service.
-- The issue's second (outbound) extension is cut off in the thread; only the inbound one is modelled.
function envoy_on_request(h)
  h:logInfo("simple log test")
  h:headers():add("x-consul-service", "auth-service")
end
