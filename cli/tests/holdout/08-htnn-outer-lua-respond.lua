-- model: mosn/htnn:site/content/en/docs/reference/plugins/outer_lua.md
-- what: HTNN's outerLua plugin example (an HTTPFilterPolicy on an HTTPRoute): short-circuits every request with a local 200 reply whose body is "hello, world".
-- The original sits in filters.outerLua.config.sourceCode.inlineString.
function envoy_on_request(h)
  local body = "hello, world"
  local status = {[":status"] = "200"}
  h:respond(
    status,
    body
  )
end
