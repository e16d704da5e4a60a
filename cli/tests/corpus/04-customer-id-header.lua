-- model: https://openillumi.com/?p=103488
-- what: Ingress-gateway script (Istio EnvoyFilter answer re-published from a Q&A thread) that injects a fixed customer-id request header so VirtualService header matches can route on it.
function envoy_on_request(req)
  -- the routing rules downstream match on this header; external callers never send it
  req:headers():add("customer-id", "alice")
end
