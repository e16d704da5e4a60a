-- model: https://adhdecode-articles-1.pages.dev/articles/envoy/envoy-lua-filter/
-- what: The article's first script (custom_header.lua, used as the filter's default_source_code): logs that it is adding a header and appends x-custom-envoy-header: processed-by-lua to every request.
function envoy_on_request(req)
  req:logInfo("Adding custom header to request.")
  -- add(), not replace(): a client-sent copy survives alongside this one
  req:headers():add("x-custom-envoy-header", "processed-by-lua")
end
