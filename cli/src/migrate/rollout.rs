//! `rollout.sh`: the steps from the EnvoyFilter to the plugin, as a script a team runs. It
//! applies the one manifest `migrate` wrote, waits until every selected proxy has loaded it,
//! checks one request when `CHECK_URL` is given, and only then deletes the EnvoyFilter. On any
//! failure it deletes the plugin again and leaves the EnvoyFilter.
//!
//! "Loaded" is read from each proxy's counters, not its log: Istio's proxies log at `warning`
//! by default, below the modules' `configuration accepted` line. Each module counts
//! `wasmcustom.moonshift.<filter>.config_accepted` (or `config_refused`) once a worker; Envoy
//! counts a rejected update in `*.update_rejected` (LDS) or `*.config_fail` (ECDS). A Lua
//! script counts nothing of its own: for `--kind lua` the script waits for the proxy's next
//! accepted update (`listener_manager.lds.update_success` or `*.config_reload`).

use crate::manifests::Target;
use serde_json::Value;

/// `kubectl get pods -l` for the proxies `target` selects: its labels, a Gateway's pods, or
/// every injected pod of the namespace.
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

/// What the plugin is: a Wasm filter that counts its own configurations (`plugin_name`, the
/// module's filter name: `pipeline`), or a Lua script (`None`).
pub type Counted<'a> = Option<&'a str>;

/// The awk regexes (over the names in a proxy's `/stats`) of the counters that rise when the
/// plugin loads, and when a proxy refuses it.
fn counters(plugin: Counted<'_>) -> (String, String) {
    let rejected = "[.]update_rejected$|[.]config_fail$";
    match plugin {
        Some(name) => {
            let prefix = format!("^wasmcustom[.]moonshift[.]{}[.]", name.replace('-', "_"));
            (
                format!("{prefix}config_accepted$"),
                format!("{prefix}config_refused$|{rejected}"),
            )
        }
        None => (
            "^listener_manager[.]lds[.]update_success$|[.]config_reload$".into(),
            rejected.into(),
        ),
    }
}

/// The script for `manifest` (the file beside it), replacing the EnvoyFilter `envoy_filter`
/// (`None`: the input was no EnvoyFilter, nothing is deleted).
pub fn script(
    target: &Target,
    manifest: &str,
    plugin: Counted<'_>,
    envoy_filter: Option<&str>,
) -> String {
    let namespace = quoted(&target.namespace);
    let labels = quoted(&selector(target));
    let (loaded, refused) = counters(plugin);
    let (loaded, refused) = (quoted(&loaded), quoted(&refused));
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
# Applies the plugin, waits until every proxy it selects has loaded it (read from each proxy's
# counters through `pilot-agent request GET stats`: Istio's proxies do not log at info),
# checks one request through it when CHECK_URL is set (CHECK_URL=https://... sh rollout.sh),
# and only then deletes the EnvoyFilter. Until then both run (a header may be added twice);
# on any failure the plugin is deleted again and the EnvoyFilter stays.
set -eu
cd "$(dirname "$0")"
NS={namespace}
PROXIES={labels}
TIMEOUT="${{TIMEOUT:-120}}"
INTERVAL="${{INTERVAL:-5}}"
# Counters (awk regexes over /stats names) that rise when a proxy loads the plugin, and when
# it refuses it or rejects the update.
LOADED={loaded}
REFUSED={refused}

rollback() {{
  echo "moonshift rollout: $1; deleting the plugin, the EnvoyFilter stays" >&2
  kubectl delete -f {manifest} --ignore-not-found
  exit 1
}}

# Proxy $1's loaded and refused sums, "L R", from one read of its /stats (0 0 when it cannot
# be read).
counts() {{
  kubectl -n "$NS" exec "$1" -c istio-proxy -- pilot-agent request GET stats </dev/null 2>/dev/null |
    awk -F': ' -v l="$LOADED" -v r="$REFUSED" '$2 ~ /^[0-9]+$/ {{ if ($1 ~ l) a += $2; if ($1 ~ r) b += $2 }} END {{ print a + 0, b + 0 }}'
}}

pods="$(kubectl -n "$NS" get pods -l "$PROXIES" --field-selector=status.phase=Running -o name)"
[ -n "$pods" ] || {{ echo "moonshift rollout: no running pod in $NS matches $PROXIES: nothing applied" >&2; exit 1; }}
before="$(mktemp)"
trap 'rm -f "$before"' EXIT
for pod in $pods; do
  echo "$pod $(counts "$pod")" >>"$before"
done

kubectl apply -f {manifest}
echo "waiting up to ${{TIMEOUT}}s for every proxy ($PROXIES in $NS) to load the plugin..."
waited=0
while :; do
  pending=""
  while read -r pod loaded refused; do
    now="$(counts "$pod")"
    [ "${{now#* }}" -le "$refused" ] || rollback "${{pod#pod/}} refused the plugin or rejected the update (its log says why: kubectl -n $NS logs ${{pod#pod/}} -c istio-proxy)"
    [ "${{now% *}}" -gt "$loaded" ] || pending="$pending ${{pod#pod/}}"
  done <"$before"
  [ -n "$pending" ] || break
  [ "$waited" -lt "$TIMEOUT" ] || rollback "not loaded within ${{TIMEOUT}}s by:$pending (is the image pushed and pullable?)"
  sleep "$INTERVAL"
  waited=$((waited + INTERVAL))
done
echo "loaded by every proxy:" $pods
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
            Some("pipeline"),
            Some("custom-filter"),
        );
        let apply = text
            .find("kubectl apply -f wasmplugin.yaml")
            .unwrap_or(usize::MAX);
        let accepted = text.find("-gt \"$loaded\"").unwrap_or(usize::MAX);
        let delete = text.find("delete envoyfilter 'custom-filter'").unwrap_or(0);
        assert!(apply < accepted && accepted < delete, "{text}");
        assert!(text.contains(r"PROXIES='app=it'\''s'"), "{text}");
        let none = script(
            &target(None, None),
            "trafficextension.yaml",
            Some("pipeline"),
            None,
        );
        assert!(!none.contains("delete envoyfilter"), "{none}");
    }
}
