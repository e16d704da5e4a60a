-- model: allegro/envoy-control:envoy-control-core/src/main/resources/lua/egress_service_tag_preference.lua
-- what: Adds a default service-tag-preference header when absent and, without an explicit service tag, turns the "a|b|c" preference into an envoy.lb fallback_list in dynamic metadata for subset load balancing.
-- The %...% placeholders of the original are substituted by envoy-control when it renders the
-- script from its properties; rendered here with illustrative values (env var, fallback
-- preference "global", metadata key "tag", headers x-service-tag / x-service-tag-preference).

local default_preference = os.getenv("DEFAULT_SERVICE_TAG_PREFERENCE") or "global"

local any_fallback_marker = "global"
local fallback_to_any = false
if any_fallback_marker ~= "" then
  if any_fallback_marker == default_preference then
    fallback_to_any = true
  end
end

function preference_to_fallback_list(preference)
  local list = {}
  local n = 1
  for tag in string.gmatch(preference, "[^|]+") do
    list[n] = {["tag"] = tag}
    n = n + 1
  end
  if fallback_to_any then
    -- an empty selector means "any host"
    list[n] = {}
  end
  return list
end

-- computed once per worker at load time
local default_fallback_list = preference_to_fallback_list(default_preference)

function envoy_on_request(handle)
  local preference = handle:headers():getAtIndex("x-service-tag-preference", 0)
  if not preference then
    handle:headers():add("x-service-tag-preference", default_preference)
  end

  local tag = handle:headers():get("x-service-tag")
  if not tag or tag == "" then
    local fallbacks = default_fallback_list
    if preference then
      fallbacks = preference_to_fallback_list(preference)
    end

    if next(fallbacks) ~= nil then
      local dyn = handle:streamInfo():dynamicMetadata()
      dyn:set("envoy.lb", "fallback_list", fallbacks)
    end
  end
end


function envoy_on_response(handle)
end
