-- model: saarasio/enroute:helm-chart/service-globalconfig/templates/httpfilter-lua.yaml
-- what: EnRoute gateway's global HttpFilter (type http_filter_lua) from its Helm chart: logs a hello line on each request and response and adds Lua-Filter-Says: Hello to every response.
-- The original is the httpFilterConfig.config string of an enroute.saaras.io/v1 HttpFilter,
-- emitted when .Values.filters.lua.enable is true. The trailing semicolons are in the model.
function envoy_on_request(h)
   h:logInfo("Hello World request");
end

function envoy_on_response(h)
   h:logInfo("Hello World response");
   h:headers():add("Lua-Filter-Says", "Hello")
end
