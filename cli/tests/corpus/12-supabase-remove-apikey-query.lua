-- model: supabase/postgres:ansible/files/envoy_config/remove_apikey_query_parameter.lua
-- what: Strips the apikey query parameter from :path before the request reaches PostgREST (which would read it as a filter condition).
function envoy_on_request(handle)
  local p = handle:headers():get(":path")

  -- drop "apikey=..." (keeping the separator that preceded it), then any dangling '&'
  handle
    :headers()
    :replace(":path", p:gsub("([&?])apikey=[^&]+&?", "%1"):gsub("&$", ""))
end
