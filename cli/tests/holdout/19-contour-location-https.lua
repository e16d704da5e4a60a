-- model: https://github.com/projectcontour/contour/issues/3006
-- what: The first Lua script proposed in the Contour feature request: on responses, rewrites every http:// in the Location header to https://.
function envoy_on_response(r)
   local loc = r:headers():get("location")
   if loc ~= nil then
      -- global, as in the issue; gsub's pattern has no magic characters
      modified = string.gsub(loc, "http://", "https://")
      r:headers():replace("location", modified)
   end
end
