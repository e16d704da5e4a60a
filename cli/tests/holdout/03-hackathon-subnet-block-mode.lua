-- model: timmow/envoy-hackathon:lua/entrypoint.lua
-- what: Hackathon front proxy: answers 403 "access denied" when x-client-ip falls in 10.10.0.0/16 (CIDR trie from a required ip_utils module) and tags POST requests with x-mode: rw so a header_to_metadata filter can pick the read-write backend subset.
-- In the model, the filter's inline_code is only a shim (config/simple.yaml): it requires
-- './entrypoint' (installed under /usr/local/share/lua/5.1/) and copies the module's two
-- functions into the globals Envoy looks for. The module is inlined here, shim included;
-- ip_utils (a bit-ops CIDR trie built on LuaJIT's `bit`) stays an external require.
local cidr = require('./ip_utils')
local CidrSet = cidr.SubnetSet

-- built once per worker at load time
local denied = CidrSet()
denied:insert("10.10.0.0/16")

local function on_request(rh)
  rh:logInfo("LUA: envoy_on_request()")

  local addr = rh:headers():get("x-client-ip")
  if addr ~= nil then
    if denied:contains(addr) then
      rh:respond(
        {[":status"] = "403"},
        "access denied")
    end
  end

  -- writes go to the rw pool; nothing is set for other methods
  local verb = rh:headers():get(":method")
  if verb == 'POST' then
    rh:headers():add("x-mode", "rw")
  end
end

local function on_response(rh)
  -- the model keeps only a commented-out log call here
end

local entry = {
  envoy_on_request = on_request,
  envoy_on_response = on_response,
}

-- the inline shim from the Envoy config
envoy_on_request = entry.envoy_on_request
envoy_on_response = entry.envoy_on_response
