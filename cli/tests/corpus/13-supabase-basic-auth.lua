-- model: supabase/postgres:ansible/files/envoy_config/basic_auth.lua
-- what: Basic-auth gate: lets the request through when Authorization is "Basic <credentials>" with the credentials taken from route metadata, otherwise answers 401 with a WWW-Authenticate challenge.
function envoy_on_request(handle)
  local authz = handle:headers():get("authorization")

  -- scheme matched case-insensitively by hand; the expected token comes from the route's metadata
  if authz and authz:find("^[Bb][Aa][Ss][Ii][Cc] " .. handle:metadata():get("credentials")) then
    return
  end

  handle:respond({
    [":status"] = "401",
    ["WWW-Authenticate"] = "Basic realm=\"Unknown\""
  }, "Unauthorized")
end
