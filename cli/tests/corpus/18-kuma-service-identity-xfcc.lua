-- model: kumahq/kuma:pkg/xds/envoy/listeners/v3/service_identity_injection_configurer.go
-- what: Kuma's inbound script: parses x-forwarded-client-cert, takes the SPIFFE URI and the service name after the mesh, and adds them as X-Kuma-Forwarded-Client-Cert / -Service headers.
-- (the original is a Go string constant handed to Envoy as inline_code; all its variables are globals)
function envoy_on_request(handle)
  cert_details = handle:headers():get("x-forwarded-client-cert")

  if cert_details == nil or cert_details == '' then
    return
  end

  spiffe_id = nil
  svc = nil

  -- XFCC elements are ';'-separated key=value pairs
  for element in string.gmatch(cert_details, "([^;]+)") do
    uri = element:match("URI=(%S+)")
    if uri ~= nil then
      spiffe_id = uri
      mesh_name = spiffe_id:match("spiffe://(%S+)/")
      svc = spiffe_id:match("spiffe://" .. mesh_name .. "/(%S+)")
    end
  end

  if spiffe_id ~= nil then
    handle:headers():add("X-Kuma-Forwarded-Client-Cert", spiffe_id)
  end

  if svc ~= nil then
    handle:headers():add("X-Kuma-Forwarded-Client-Service", svc)
  end

end

function envoy_on_response(handle)
end
