-- model: pomerium/pomerium:config/envoyconfig/luascripts/rewrite-headers.lua
-- what: On responses, walks a list of {header, prefix, value} rules from route metadata and replaces the matching prefix of each named header (e.g. rewriting Location).
function swap_prefix(s, prefix, replacement)
  if s:sub(0, prefix:len()) == prefix then
    return replacement .. s:sub(prefix:len() + 1)
  end
  return s
end

function envoy_on_request(handle)
end

function envoy_on_response(handle)
  local hdrs = handle:headers()
  local route_meta = handle:metadata()

  -- metadata shape:
  --   [{ "header": "Location", "prefix": "http://localhost:8000/two/", "value": "http://frontend/one/" }]
  local rules = route_meta:get("rewrite_response_headers")
  if rules then
    for _, rule in pairs(rules) do
      local current = hdrs:get(rule.header)
      if current ~= nil then
        local updated = swap_prefix(current, rule.prefix, rule.value)
        hdrs:replace(rule.header, updated)
      end
    end
  end
end
