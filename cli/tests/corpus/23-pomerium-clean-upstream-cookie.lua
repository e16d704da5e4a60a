-- model: pomerium/pomerium:config/envoyconfig/luascripts/clean-upstream.lua
-- what: When route metadata names Pomerium's session cookie, rebuilds the Cookie header without that cookie before the request goes upstream.
-- global helper, as in the original
function strip_cookie(unwanted, cookie_header)
  local kept = ""
  for piece in cookie_header:gmatch("([^;]+)") do
    piece = piece:gsub("^ +", "")
    local cname = piece:match("^([^=]+)")
    if cname ~= unwanted then
      if string.len(kept) > 0 then
        kept = kept .. "; " .. piece
      else
        kept = kept .. piece
      end
    end
  end
  return kept
end

function envoy_on_request(handle)
  local hdrs = handle:headers()
  local route_meta = handle:metadata()

  local cookie_name = route_meta:get("remove_pomerium_cookie")
  if cookie_name then
    local raw = hdrs:get("cookie")
    if raw ~= nil then
      local rest = strip_cookie(cookie_name, raw)
      hdrs:replace("cookie", rest)
    end
  end
end

function envoy_on_response(handle) end
