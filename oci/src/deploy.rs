//! The manifests that deploy each filter, generated from one table: a `WasmPlugin` (with the
//! image's manifest digest as `sha256`), the Istio 1.30 `TrafficExtension` equivalent, and the
//! Lua `EnvoyFilter` it replaces (the Lua reference inlined), so a reader sees before and after.

use serde_json::{json, Value};

/// How one filter is deployed.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub filter: &'static str,
    /// Istio phase, and why.
    pub phase: &'static str,
    pub phase_why: &'static str,
    pub fail_strategy: &'static str,
    pub fail_why: &'static str,
    /// The filter's defaults, written out as `pluginConfig`.
    pub plugin_config: Value,
}

/// Every filter's deployment.
pub fn deployments() -> Vec<Deployment> {
    vec![
        Deployment {
            filter: "timestamp-header",
            phase: "UNSPECIFIED_PHASE",
            phase_why: "after Istio's filters, where the Lua (INSERT_BEFORE router) ran",
            fail_strategy: "FAIL_OPEN",
            fail_why: "a missing timestamp must not take the service down",
            plugin_config: json!({"header": "x-request-timestamp", "format": "%Y-%m-%dT%H:%M:%SZ", "on_existing": "append"}),
        },
        Deployment {
            filter: "path-logger",
            phase: "UNSPECIFIED_PHASE",
            phase_why: "after Istio's filters, where the Lua (INSERT_BEFORE router) ran",
            fail_strategy: "FAIL_OPEN",
            fail_why: "logging must not take the service down",
            plugin_config: json!({"level": "info", "message": "Request path: %REQ(:path)%"}),
        },
        Deployment {
            filter: "local-ratelimit",
            phase: "AUTHZ",
            phase_why: "limit before authorization and the upstream do any work",
            fail_strategy: "FAIL_OPEN",
            fail_why: "if the module cannot load, serve unlimited rather than deny everything (FAIL_CLOSE when being over the limit is worse than an outage)",
            plugin_config: json!({
                "stat_prefix": "http_local_rate_limiter",
                "token_bucket": {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"},
                "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            }),
        },
        Deployment {
            filter: "response-decorator",
            phase: "UNSPECIFIED_PHASE",
            phase_why: "after Istio's filters, where the Lua (INSERT_BEFORE router) ran",
            fail_strategy: "FAIL_OPEN",
            fail_why: "a missing decoration must not take the service down",
            plugin_config: json!({"operations": [{"action": "add", "name": "x-lua-processed", "value": "true"}]}),
        },
    ]
}

/// `value` as YAML at `indent` spaces (strings in JSON quoting, which YAML reads as is).
fn yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        yaml(item, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        yaml(item, indent, out);
                    }
                    scalar => out.push_str(&format!("{pad}{key}: {}\n", inline(scalar))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut nested = String::new();
                yaml(item, indent + 2, &mut nested);
                let nested = match item {
                    Value::Object(_) | Value::Array(_) => nested,
                    scalar => format!("{}{}\n", " ".repeat(indent + 2), inline(scalar)),
                };
                out.push_str(&format!("{pad}- {}", nested.trim_start()));
            }
        }
        scalar => out.push_str(&format!("{pad}{}\n", inline(scalar))),
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The three manifests of `d`: (file name, text). `image` is `registry/repo/filter:version`
/// without the scheme, `digest` the manifest digest (`sha256:...`), `lua` the Lua reference.
pub fn manifests(d: &Deployment, image: &str, digest: &str, lua: &str) -> Vec<(String, String)> {
    let sha = digest.trim_start_matches("sha256:");
    let mut config = String::new();
    yaml(&d.plugin_config, 4, &mut config);
    let header = "# Generated by `make deploy` from oci/src/deploy.rs; do not edit.\n";
    let wasm_plugin = format!(
        "{header}apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: {filter}
  namespace: default
spec:
  selector:
    matchLabels:
      app: frontend
  url: oci://{image}
  # The image's manifest digest (for oci:// URLs Istio checks the manifest, not the .wasm).
  sha256: {sha}
  imagePullPolicy: IfNotPresent
  # {phase_why}
  phase: {phase}
  # {fail_why}
  failStrategy: {fail}
  pluginConfig:
{config}  match:
  - mode: SERVER
",
        filter = d.filter,
        phase = d.phase,
        phase_why = d.phase_why,
        fail = d.fail_strategy,
        fail_why = d.fail_why,
    );
    let mut config6 = String::new();
    yaml(&d.plugin_config, 6, &mut config6);
    let traffic_extension = format!(
        "{header}# Istio 1.30+: TrafficExtension supersedes WasmPlugin.
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata:
  name: {filter}
  namespace: default
spec:
  selector:
    matchLabels:
      app: frontend
  # {phase_why}
  phase: {phase}
  wasm:
    url: oci://{image}
    sha256: {sha}
    imagePullPolicy: IfNotPresent
    # {fail_why}
    failStrategy: {fail}
    pluginConfig:
{config6}",
        filter = d.filter,
        phase = d.phase,
        phase_why = d.phase_why,
        fail = d.fail_strategy,
        fail_why = d.fail_why,
    );
    let envoy_filter = format!(
        "{header}# Before: the Lua this filter replaces, as an EnvoyFilter (the Istio guide's pattern).
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: {filter}-lua
  namespace: default
spec:
  workloadSelector:
    labels:
      app: frontend
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inline_code: |
{lua}
",
        filter = d.filter,
        lua = block(lua, 12),
    );
    vec![
        ("wasmplugin.yaml".into(), wasm_plugin),
        ("trafficextension.yaml".into(), traffic_extension),
        ("envoyfilter-lua.yaml".into(), envoy_filter),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_of_nested_values() {
        let mut out = String::new();
        yaml(
            &json!({"a": 1, "b": {"c": "x: y"}, "ops": [{"action": "add", "value": "true"}], "empty": []}),
            0,
            &mut out,
        );
        assert_eq!(
            out,
            "a: 1\nb:\n  c: \"x: y\"\nops:\n- action: \"add\"\n  value: \"true\"\nempty: []\n"
        );
    }
}
