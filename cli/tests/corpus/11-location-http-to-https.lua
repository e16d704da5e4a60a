-- model: https://github.com/envoyproxy/envoy/issues/17066
-- what: Response script (loaded with dofile from the filter's inline_code) that rewrites an http:// Location header to https:// when it mentions http.
function envoy_on_response(resp)
  local hdrs = resp:headers()
  local loc = hdrs:get('location')
  -- no nil guard in the original: a response without Location makes string.match raise
  if string.match(loc, "http") then
    rewritten = string.gsub(loc, "^http", "https")
    resp:headers():replace("location", rewritten)
  end
end
