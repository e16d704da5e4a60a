-- model: omio-labs/devroute:envoy-filter/filter.lua
-- what: Omio's devroute sidecar filter: when the x-devroute contract header names this service (quoted SERVICE_NAME, Lua-magic escaped), tags the request with x-devroute-matched, copies all headers, forwards method/headers/body to the in-cluster devrouter via httpCall and answers with devrouter's response.
-- SERVICE_NAME is a literal placeholder in the model too; Omio's mutating webhook rewrites it
-- per namespace before the EnvoyFilter is applied. Globals and helpers are global as in the model.
SERVICE_NAME = "devroute_placeholder_service_name"

-- whole buffered request body, or "" when there is none
function get_req_body(rh)
    local buf = rh:body()
    if buf ~= nil then
        return buf:getBytes(0, buf:length())
    end
    return ""
end

-- escape ( ) . % + - * ? [ ^ $ so the name can sit inside a pattern
function escape_lua_magic(s)
    local magic = "[%(%)%.%%%+%-%*%?%[%^%$]"
    local escaped = {
        ['('] = "%(",
        [')'] = "%)",
        ['.'] = "%.",
        ['%'] = "%%",
        ['+'] = "%+",
        ['-'] = "%-",
        ['*'] = "%*",
        ['?'] = "%?",
        ['['] = "%[",
        ['^'] = "%^",
        ['$'] = "%$"
    }
    return string.gsub(s, magic, escaped)
end

function envoy_on_request(rh)
    local contract = rh:headers():get("x-devroute")
    if contract == nil then
        return
    end

    -- the service must appear quoted (single or double) somewhere in the contract
    if string.match(contract, '.*["\']' .. escape_lua_magic(SERVICE_NAME) .. '["\'].*') == nil then
        return
    end

    -- lets devrouter choose among several services listed in one contract
    rh:headers():add("x-devroute-matched", SERVICE_NAME)

    local fwd = {}
    for name, value in pairs(rh:headers()) do
        fwd[name] = value
    end

    -- note: plain "authority", not ":authority", as in the model
    fwd["authority"] = "devrouter.devrouter.svc.cluster.local"
    local out_headers, out_body = rh:httpCall(
        "outbound|80||devrouter.devrouter.svc.cluster.local",
        fwd,
        get_req_body(rh),
        5000)
    rh:respond(out_headers, out_body)
end
