-- model: renuka-fernando/demos:envoy-headers-body-transformation/lua-filter/mediation_service.lua
-- what: Buffers the request body, sends headers and base64 body as JSON to a mediation service via httpCall, and replaces the request body (and content-length) with the body the service returns.
-- json.lua and lbase64 are shipped next to the script and loaded with require, as in the original.
local json = require "lib.json"
local base64 = require 'lib.base64'


function envoy_on_request(handle)
    handle:logInfo("Hello Lua1")
    local hdrs = handle:headers()
    local header_copy = {}
    for name, value in pairs(hdrs) do
        handle:logInfo("Lua1 Request Headers: " .. name .. "->" .. value)
        header_copy[name] = value
    end
    local original_body = handle:body():getBytes(0, handle:body():length())

    handle:logInfo("Lua1 Request Body: " .. original_body)

    local envelope = {
        headers = header_copy,
        body = base64.encode(original_body)
    }

    -- synchronous call (last argument false), 100 s timeout
    local med_headers, med_body_text = handle:httpCall(
        "mediation_service",
        {
            [":method"] = "POST",
            [":path"] = "/handlerequest",
            [":authority"] = "mediation_service"
        },
        json.encode(envelope),
        100000,
        false
    )
    handle:logInfo("Lua1: Done Mediation HTTP Call")
    handle:logInfo("Lua1: Mediation body: " .. med_body_text)

    local reply = json.decode(med_body_text)
    local new_length = handle:body():setBytes(base64.decode(reply.body))
    handle:headers():replace("content-length", new_length)
end

function envoy_on_response(handle)
    -- response rewriting left commented out in the original
end
