-- model: https://docs.revenium.io/user-guide/readme/envoy/envoy-proxy-configuration
-- what: Revenium's request.lua for API metering: for requests carrying x-revenium-product-key, records scheme, method, path and the client key in the "revenium" dynamic-metadata namespace for the response-side metering script.
function envoy_on_request(handle)
  local product_key = handle:headers():get("x-revenium-product-key")
  if (product_key ~= nil) then
    if handle:connection():ssl() == nil then
      handle:streamInfo():dynamicMetadata():set("revenium", "scheme", "http")
    else
      handle:streamInfo():dynamicMetadata():set("revenium", "scheme", "https")
    end
    local verb = handle:headers():get(":method")
    local p = handle:headers():get(":path")
    -- `address` is never assigned in the vendor's script: this stores an undefined global (nil)
    handle:streamInfo():dynamicMetadata():set("revenium", "address", address)
    handle:streamInfo():dynamicMetadata():set("revenium", "method", verb)
    handle:streamInfo():dynamicMetadata():set("revenium", "path", p)
    handle:streamInfo():dynamicMetadata():set("revenium", "api_client", product_key)
  end
end
