//! `rollout.sh`, run: the script `migrate` writes, against a real Envoy playing the proxy.
//!
//! No cluster is at hand, so `kubectl` is a stand-in first on `PATH` that does to this Envoy
//! what the cluster would: `get pods` names the one pod; `exec <pod> -- pilot-agent request
//! GET stats` reads Envoy's admin `/stats`, as pilot-agent does; `apply -f` pushes a listener
//! holding the plugin by LDS, as istiod would; `delete -f` pushes the listener without it. The
//! Envoy logs at `warning`, Istio's proxies' default, where no module's `configuration
//! accepted` line is written: the script must see the load in the counters.

// A test: what cannot be set up fails it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::upstream::Upstream;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The stand-in: every call is appended to `$STUB/calls`; `apply` and `delete -f` move the
/// prepared listener (`applied.json`, `plain.json`) onto the LDS path, unless `$STUB/no-apply`
/// exists (a plugin that never reaches the proxy: an image that cannot be pulled).
const KUBECTL: &str = r#"#!/bin/sh
echo "$*" >>"$STUB/calls"
while [ "$#" -gt 0 ]; do case "$1" in -n) shift 2 ;; *) break ;; esac; done
push() { cp "$STUB/$1" "$STUB/lds.staged.json" && mv "$STUB/lds.staged.json" "$STUB/lds.json"; }
case "$1" in
  get) echo "pod/proxy-0" ;;
  exec) for last; do :; done; exec curl -s "http://127.0.0.1:$ADMIN_PORT/$last" ;;
  apply) [ -e "$STUB/no-apply" ] || push applied.json ;;
  delete) case "$*" in *" -f "*) push plain.json ;; esac ;;
  *) echo "stand-in kubectl: $*" >&2; exit 2 ;;
esac
"#;

struct Proxy {
    envoy: Envoy,
    stub: PathBuf,
    _upstream: Upstream,
}

/// An Envoy at `warning` with 2 workers and a listener without the plugin, served by LDS;
/// `applied` is the filter `kubectl apply` puts in front of the router.
fn proxy(label: &str, applied: &Value) -> Proxy {
    let upstream = Upstream::start();
    let stub = envoy::scratch_dir(label);
    let port = envoy::free_port();
    let lds = stub.join("lds.json");
    let write = |name: &str, filters: &[Value]| {
        let text = serde_json::to_vec_pretty(&envoy::lds_resources(port, filters)).unwrap();
        std::fs::write(stub.join(name), text).unwrap();
    };
    write("plain.json", &[]);
    write("applied.json", std::slice::from_ref(applied));
    std::fs::copy(stub.join("plain.json"), &lds).unwrap();
    let kubectl = stub.join("bin/kubectl");
    std::fs::create_dir_all(kubectl.parent().unwrap()).unwrap();
    std::fs::write(&kubectl, KUBECTL).unwrap();
    let chmod = Command::new("chmod").arg("+x").arg(&kubectl).status();
    assert!(chmod.is_ok_and(|s| s.success()));
    let launch = Launch {
        concurrency: 2,
        log_level: "warning",
        ..Launch::default()
    };
    let mut envoy = Envoy::try_start_with(label, &launch, |_, admin| {
        envoy::bootstrap_with_lds(admin, upstream.port, &lds)
    })
    .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    envoy.port = port;
    let deadline = Instant::now() + Duration::from_secs(20);
    while envoy.counter("listener_manager.lds.update_success") < 1 {
        assert!(Instant::now() < deadline, "no listener: {}", envoy.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    Proxy {
        envoy,
        stub,
        _upstream: upstream,
    }
}

struct Run {
    code: i32,
    output: String,
    calls: Vec<String>,
}

/// Runs `folder/rollout.sh` with the stand-in first on PATH.
fn rollout(proxy: &Proxy, folder: &Path, env: &[(&str, &str)]) -> Run {
    let _ = std::fs::remove_file(proxy.stub.join("calls"));
    let path = format!(
        "{}:{}",
        proxy.stub.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("sh")
        .arg(folder.join("rollout.sh"))
        .env("PATH", path)
        .env("STUB", &proxy.stub)
        .env("ADMIN_PORT", proxy.envoy.admin_port.to_string())
        .env("INTERVAL", "1")
        .envs(env.iter().copied())
        .output()
        .expect("sh runs");
    let calls = std::fs::read_to_string(proxy.stub.join("calls")).unwrap_or_default();
    let counted: Vec<String> = proxy
        .envoy
        .stats()
        .into_iter()
        .filter(|(k, _)| k.contains("moonshift") || k.contains("lds.update"))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    Run {
        code: output.status.code().unwrap_or(-1),
        output: format!(
            "{}{}(the proxy's counters after: {counted:?})",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        calls: calls.lines().map(str::to_owned).collect(),
    }
}

/// `migrate` of the seed's EnvoyFilter into `name`, as `--kind kind`: the folder.
fn migrated(name: &str, kind: &str) -> PathBuf {
    let out = support::out_dir(name);
    let out_arg = out.to_string_lossy().into_owned();
    let (code, output) = support::moonshift(&[
        "migrate",
        "examples/istio/seed-envoyfilter.yaml",
        "--kind",
        kind,
        "--out",
        &out_arg,
    ]);
    assert_eq!(code, 0, "{output}");
    out
}

/// The pipeline plugin as `apply` gives it to the proxy: the bundle, root_id `pipeline`, with the
/// configuration `migrate` wrote (or `config`).
fn pipeline(folder: &Path, config: Option<&str>) -> Value {
    let written = std::fs::read_to_string(folder.join("pipeline-config.json")).unwrap();
    envoy::bundle_filter("pipeline", "rollout", Some(config.unwrap_or(&written)))
}

fn position(calls: &[String], needle: &str) -> Option<usize> {
    calls.iter().position(|c| c.contains(needle))
}

/// The run failed saying `why`, deleted the plugin again and left the EnvoyFilter.
fn assert_rolled_back(run: &Run, why: &str) {
    assert_eq!(run.code, 1, "{}\ncalls: {:?}", run.output, run.calls);
    assert!(run.output.contains(why), "{why:?} not in {}", run.output);
    let deleted = position(&run.calls, "delete -f wasmplugin.yaml");
    assert!(deleted.is_some(), "{:?}", run.calls);
    let kept = position(&run.calls, "delete envoyfilter");
    assert_eq!(kept, None, "{:?}", run.calls);
}

#[test]
fn rolls_out_when_every_worker_counted_the_plugin_and_the_check_passes() {
    let folder = migrated("rollout-loads", "wasmplugin");
    let proxy = proxy("rollout-loads", &pipeline(&folder, None));
    let check = format!("http://127.0.0.1:{}/", proxy.envoy.port);
    let run = rollout(&proxy, &folder, &[("TIMEOUT", "30"), ("CHECK_URL", &check)]);
    assert_eq!(run.code, 0, "{}\ncalls: {:?}", run.output, run.calls);
    assert!(
        run.output.contains("loaded by every proxy: pod/proxy-0"),
        "{}",
        run.output
    );
    assert!(run.output.contains("answered 200"), "{}", run.output);
    let apply = position(&run.calls, "apply -f wasmplugin.yaml").expect("applied");
    let before = position(&run.calls, "exec pod/proxy-0").expect("counted before");
    let delete = position(&run.calls, "delete envoyfilter 'custom-filter'")
        .or_else(|| position(&run.calls, "delete envoyfilter custom-filter"))
        .expect("the EnvoyFilter deleted");
    assert!(before < apply && apply < delete, "{:?}", run.calls);
    // One read of the pod's /stats gives both sums (loaded, refused): one pod, one exec.
    let reads_before = run.calls[..apply]
        .iter()
        .filter(|c| c.contains("exec pod/proxy-0"))
        .count();
    assert_eq!(reads_before, 1, "{:?}", run.calls);
    assert_eq!(position(&run.calls, "delete -f"), None, "{:?}", run.calls);
    // What the script waited for: one count a worker and the main thread, and no log line.
    assert!(
        proxy
            .envoy
            .counter("wasmcustom.moonshift.pipeline.config_accepted")
            >= 2
    );
    assert!(!proxy.envoy.log().contains("configuration accepted"));
}

#[test]
fn a_refused_configuration_deletes_the_plugin_and_keeps_the_envoy_filter() {
    let folder = migrated("rollout-refused", "wasmplugin");
    let refused = pipeline(&folder, Some(r#"{"steps": [], "no_such_field": 1}"#));
    let proxy = proxy("rollout-refused", &refused);
    let run = rollout(&proxy, &folder, &[("TIMEOUT", "30")]);
    assert_rolled_back(&run, "proxy-0 refused the plugin or rejected the update");
    // Envoy kept the listener it had, and its log says why.
    assert!(proxy.envoy.counter("listener_manager.lds.update_rejected") >= 1);
    assert!(
        proxy.envoy.log().contains("invalid configuration"),
        "{}",
        proxy.envoy.log()
    );
}

#[test]
fn a_plugin_that_never_loads_or_fails_its_check_is_rolled_back() {
    let folder = migrated("rollout-never", "wasmplugin");
    let proxy = proxy("rollout-never", &pipeline(&folder, None));
    std::fs::write(proxy.stub.join("no-apply"), "").unwrap();
    let run = rollout(&proxy, &folder, &[("TIMEOUT", "3")]);
    assert_rolled_back(&run, "not loaded within 3s by: proxy-0");

    std::fs::remove_file(proxy.stub.join("no-apply")).unwrap();
    let missing = format!("http://127.0.0.1:{}/no-such-page", proxy.envoy.admin_port);
    let run = rollout(
        &proxy,
        &folder,
        &[("TIMEOUT", "30"), ("CHECK_URL", &missing)],
    );
    assert_rolled_back(&run, "answered 404");
}

#[test]
fn the_lua_option_waits_for_the_accepted_update() {
    let folder = migrated("rollout-lua", "lua");
    let script = envoy::scratch_dir("rollout-lua-script").join("seed.lua");
    std::fs::write(
        &script,
        "function envoy_on_request(h)\n  h:headers():add(\"x-seed\", \"1\")\nend\n",
    )
    .unwrap();
    let proxy = proxy("rollout-lua", &envoy::lua_filter_at(&script));
    let run = rollout(&proxy, &folder, &[("TIMEOUT", "30")]);
    assert_eq!(run.code, 0, "{}\ncalls: {:?}", run.output, run.calls);
    assert!(
        position(&run.calls, "apply -f trafficextension-lua.yaml").is_some(),
        "{:?}",
        run.calls
    );
    assert!(
        position(&run.calls, "delete envoyfilter").is_some(),
        "{:?}",
        run.calls
    );
}
