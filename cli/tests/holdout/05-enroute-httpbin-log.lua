-- model: saarasio/enroute:artifacts/gatewayhost/httpbin/httpbin.filter.yaml
-- what: The luatestfilter HttpFilter attached to EnRoute's httpbin GatewayHost example: writes an info log line for every request and every response, touching nothing else.
-- Taken from the HttpFilter document's httpFilterConfig.config string.
function envoy_on_request(stream)
   stream:logInfo("Hello World request httpbin");
end

function envoy_on_response(stream)
   stream:logInfo("Hello World response httpbin");
end
