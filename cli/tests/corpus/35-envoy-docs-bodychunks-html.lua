-- model: envoyproxy/envoy:docs/root/configuration/http/http_filters/lua_filter.rst
-- what: The documentation's streaming rewrite: sets content-type text/html, blanks every upstream response chunk as it passes, and writes a fixed "Not Found" HTML page into the last one.
function envoy_on_response(resp)

  resp:headers():replace("content-type", "text/html")

  local final
  for piece in resp:bodyChunks() do
    -- empty each chunk without buffering the stream
    piece:setBytes("")
    final = piece
  end

  final:setBytes("<html><b>Not Found<b></html>")
end
