-- model: rwlove/home-ops:kubernetes/components/theme-park/envoyextensionpolicy.yaml
-- what: Home-lab Envoy Gateway EnvoyExtensionPolicy (inline Lua) that drops accept-encoding on HTML requests, then, for uncompressed text/html responses, injects a theme-park stylesheet <link> before </head> and fixes content-length.
-- Flux post-build substitutions rendered with plain values: THEME_PARK_SUBDOMAIN -> theme-park,
-- SECRET_DOMAIN -> example.com, THEME_PARK_APP / APP -> sonarr, THEME_PARK_THEME -> nord.
function envoy_on_request(rq)
  local accept = rq:headers():get("accept") or ""
  if string.find(string.lower(accept), "text/html") then
    -- make the upstream answer uncompressed so the body can be edited
    rq:headers():remove("accept-encoding")
  end
end

function envoy_on_response(rs)
  local ctype = rs:headers():get("content-type") or ""
  if string.find(string.lower(ctype), "text/html") and not rs:headers():get("content-encoding") then
    local buf = rs:body()
    if buf and buf:length() > 0 then
      local sheet = "https://theme-park.example.com/css/base/sonarr/nord.css"
      local tag = '<link rel="stylesheet" type="text/css" href="' .. sheet .. '"></head>'
      -- gsub's two results both reach setBytes, as in the model
      buf:setBytes(string.gsub(buf:getBytes(0, buf:length()), "</[Hh][Ee][Aa][Dd]>", tag))
      rs:headers():replace("content-length", tostring(buf:length()))
    end
  end
end
