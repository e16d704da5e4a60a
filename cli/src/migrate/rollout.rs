//! `rollout.sh`: the steps from the EnvoyFilter to the plugin, as a script a team runs. It
//! applies the one manifest `migrate` wrote, waits until the selected proxies log that the
//! plugin took its configuration (each module logs `configuration accepted` once a worker, or
//! `invalid configuration`), checks one request when `CHECK_URL` is given, and only then deletes
//! the EnvoyFilter. On any failure it deletes the plugin again and leaves the EnvoyFilter.

use crate::manifests::Target;
use serde_json::Value;

/// `kubectl logs -l` for the proxies `target` selects: its labels, a Gateway's pods, or every
/// injected pod of the namespace.
fn selector(target: &Target) -> String {
    if let Some(labels) = target.labels.as_ref().and_then(Value::as_object) {
        let pairs: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        if !pairs.is_empty() {
            return pairs.join(",");
        }
    }
    let gateway = target
        .target_refs
        .as_ref()
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| r["kind"] == "Gateway"))
        .and_then(|r| r["name"].as_str());
    match gateway {
        Some(name) => format!("gateway.networking.k8s.io/gateway-name={name}"),
        None => "service.istio.io/canonical-name".into(),
    }
}

/// Single-quoted for sh.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The script for `manifest` (the file beside it), replacing the EnvoyFilter `envoy_filter`
/// (`None`: the input was no EnvoyFilter, nothing is deleted).
pub fn script(target: &Target, manifest: &str, envoy_filter: Option<&str>) -> String {
    let namespace = quoted(&target.namespace);
    let labels = quoted(&selector(target));
    let delete = match envoy_filter {
        Some(name) => format!(
            "kubectl -n \"$NS\" delete envoyfilter {}\necho \"done: the plugin runs, the EnvoyFilter is deleted\"",
            quoted(name)
        ),
        None => "echo \"done: the plugin runs (the input was no EnvoyFilter: nothing to delete)\"".into(),
    };
    format!(
        r#"#!/bin/sh
# Written by `moonshift migrate`: from the Lua EnvoyFilter to the plugin in {manifest}.
# Applies the plugin, waits until the proxies it selects log that it took its configuration,
# checks one request through it when CHECK_URL is set (CHECK_URL=https://... sh rollout.sh),
# and only then deletes the EnvoyFilter. Until then both run (a header may be added twice);
# on any failure the plugin is deleted again and the EnvoyFilter stays.
set -eu
cd "$(dirname "$0")"
NS={namespace}
PROXIES={labels}
TIMEOUT="${{TIMEOUT:-120}}"

rollback() {{
  echo "moonshift rollout: $1; deleting the plugin, the EnvoyFilter stays" >&2
  kubectl delete -f {manifest} --ignore-not-found
  exit 1
}}

kubectl apply -f {manifest}
echo "waiting up to ${{TIMEOUT}}s for the proxies ($PROXIES in $NS) to load the plugin..."
waited=0
while :; do
  logs="$(kubectl -n "$NS" logs -l "$PROXIES" -c istio-proxy --since=10m --tail=-1 2>/dev/null || true)"
  if printf '%s\n' "$logs" | grep -q 'invalid configuration'; then
    rollback "a proxy refused the configuration: $(printf '%s\n' "$logs" | grep 'invalid configuration' | tail -1)"
  fi
  if printf '%s\n' "$logs" | grep -q 'configuration accepted'; then
    break
  fi
  [ "$waited" -lt "$TIMEOUT" ] || rollback "no proxy logged 'configuration accepted' within ${{TIMEOUT}}s (is the image pushed and pullable?)"
  sleep 5
  waited=$((waited + 5))
done
if [ -n "${{CHECK_URL:-}}" ]; then
  status="$(curl -s -o /dev/null -w '%{{http_code}}' "$CHECK_URL" || echo 000)"
  case "$status" in
    2??|3??) echo "checked: $CHECK_URL answered $status" ;;
    *) rollback "$CHECK_URL answered $status" ;;
  esac
fi
{delete}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(labels: Option<Value>, refs: Option<Value>) -> Target {
        Target {
            name: "custom-filter".into(),
            namespace: "istio-system".into(),
            labels,
            target_refs: refs,
            mode: None,
        }
    }

    #[test]
    fn selects_the_proxies_the_manifest_selects() {
        let cases = [
            (
                target(Some(json!({"istio": "ingressgateway", "app": "gw"})), None),
                "istio=ingressgateway,app=gw",
            ),
            (
                target(None, Some(json!([{"kind": "Gateway", "name": "edge"}]))),
                "gateway.networking.k8s.io/gateway-name=edge",
            ),
            (target(None, None), "service.istio.io/canonical-name"),
        ];
        for (t, want) in cases {
            assert_eq!(selector(&t), want);
        }
    }

    #[test]
    fn deletes_the_envoy_filter_last_and_only_on_success() {
        let text = script(
            &target(Some(json!({"app": "it's"})), None),
            "wasmplugin.yaml",
            Some("custom-filter"),
        );
        let apply = text
            .find("kubectl apply -f wasmplugin.yaml")
            .unwrap_or(usize::MAX);
        let accepted = text
            .find("grep -q 'configuration accepted'")
            .unwrap_or(usize::MAX);
        let delete = text.find("delete envoyfilter 'custom-filter'").unwrap_or(0);
        assert!(apply < accepted && accepted < delete, "{text}");
        assert!(text.contains(r"PROXIES='app=it'\''s'"), "{text}");
        let none = script(&target(None, None), "trafficextension.yaml", None);
        assert!(!none.contains("delete envoyfilter"), "{none}");
    }
}
