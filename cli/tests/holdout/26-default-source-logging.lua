-- model: https://achuth.blog/posts/envoy-lua-filter-exploration
-- what: The post's first (inline, default_source_code) script: writes an info log line on the request path and another on the response path, changing nothing.
-- Called for each request.
function envoy_on_request(rq)
  rq:logInfo("Logging in the request path from default lua source.")
end
-- Called for each response.
function envoy_on_response(rs)
  rs:logInfo("Logging in the response path from default lua source.")
end
