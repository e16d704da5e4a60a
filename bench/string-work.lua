-- The script the counted case "string work" runs (moonshift-bench --instructions): on every
-- request, a capture (:match), a substitution (:gsub) and a test of the route's metadata, the
-- string work scripts in cli/tests/corpus do. `moonshift migrate` converts it into
-- bench/string-work.json (held by cli/tests/migrate.rs).
function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local agent = headers:get("user-agent")
  if agent then
    local product = agent:match("^([%w%-]+)")
    if product then
      headers:replace("x-client-product", product)
    end
  end
  local path = headers:get(":path")
  if path then
    headers:replace("x-path-key", (path:gsub("[^%w]", "_")))
  end
  if request_handle:metadata():get("tier") == "gold" then
    headers:add("x-tier", "gold")
  end
end
