-- model: envoyproxy/envoy:docs/root/configuration/http/http_filters/lua_filter.rst
-- what: The documentation's first script example: buffers the whole request and response bodies to add request_body_size / response_body_size headers, and removes a response header named foo.
-- Called on the request path.
function envoy_on_request(req)
  -- waits for the full request body
  req:headers():add("request_body_size", req:body():length())
end

-- Called on the response path.
function envoy_on_response(resp)
  -- waits for the full response body
  resp:headers():add("response_body_size", resp:body():length())
  resp:headers():remove("foo")
end
