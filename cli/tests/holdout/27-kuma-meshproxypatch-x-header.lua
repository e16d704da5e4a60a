-- model: https://github.com/kumahq/kuma-website/pull/1204
-- what: The Lua example of Kuma's MeshProxyPatch docs (app/docs/dev/policies/meshproxypatch.md in the PR): an httpFilter modification adding a Lua filter before the router that sets x-header: test on requests.
-- The original is the inline_code of the envoy.filters.http.lua value in appendModifications.
function envoy_on_request(req)
  req:headers():add("x-header", "test")
end
