-- model: pomerium/pomerium:config/envoyconfig/luascripts/set-client-certificate-metadata.lua
-- what: Records whether the downstream presented a client certificate, and its URL-encoded PEM chain, in the com.pomerium.client-certificate-info dynamic metadata for the authorization filter.
function envoy_on_request(handle)
  local dyn = handle:streamInfo():dynamicMetadata()
  local tls = handle:streamInfo():downstreamSslConnection()
  dyn:set("com.pomerium.client-certificate-info", "presented",
          tls:peerCertificatePresented())
  dyn:set("com.pomerium.client-certificate-info", "chain",
          tls:urlEncodedPemEncodedPeerCertificateChain())
end

function envoy_on_response(handle) end
