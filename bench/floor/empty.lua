-- A Lua filter that does nothing on the response: what the Lua filter costs before any work.
function envoy_on_response(response_handle)
end
