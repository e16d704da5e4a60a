-- model: hashicorp/consul:test/integration/connect/envoy/case-lua/setup.sh
-- what: The Consul builtin/lua envoy-extension test script: reads the "consul" dynamic-metadata namespace Consul populates and copies service, namespace, datacenter and trust-domain into x-consul-* request headers.
function envoy_on_request(handle)
  -- globals, as in the Consul test script
  dm = handle:streamInfo():dynamicMetadata()
  consul = dm:get("consul")
  handle:headers():add("x-consul-service", consul["service"])
  handle:headers():add("x-consul-namespace", consul["namespace"])
  handle:headers():add("x-consul-datacenter", consul["datacenter"])
  handle:headers():add("x-consul-trust-domain", consul["trust-domain"])
end
