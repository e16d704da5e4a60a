#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The checkout: the harness's one definition of it.
pub fn root() -> PathBuf {
    moonshift_harness::artifacts::workspace_root()
}

/// Runs `moonshift` with `args`: (exit code, stdout).
pub fn moonshift(args: &[&str]) -> (i32, String) {
    run(Path::new(env!("CARGO_BIN_EXE_moonshift")), args)
}

/// Runs the `moonshift` users run, `make build`'s `target/tools/moonshift` (the `tools`
/// profile), with `args`. A process killed by a signal gives -1.
pub fn shipped_moonshift(args: &[&str]) -> (i32, String) {
    let binary = root().join("target/tools/moonshift");
    assert!(
        binary.exists(),
        "{} is missing: run `make build` (`make test` builds first)",
        binary.display()
    );
    run(&binary, args)
}

fn run(binary: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(binary)
        .args(args)
        .current_dir(root())
        .output()
        .expect("moonshift runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}{stderr}"),
    )
}

/// A fresh output folder under target/.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = root().join("target/cli-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Writes `text` to `dir/name`; the path, as an argument.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    std::fs::create_dir_all(dir).expect("create the folder");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

/// Every compared request behaved the same: "N of N requests behave the same", no DIFFERS.
pub fn assert_all_same(output: &str) {
    let line = output
        .lines()
        .find(|l| l.ends_with("requests behave the same"))
        .unwrap_or_else(|| panic!("no verdict line in {output}"));
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.first(), words.get(2), "{output}");
    assert!(!output.contains("DIFFERS"), "{output}");
}

/// The pipeline configuration `migrate` wrote into `out`.
pub fn config(out: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(out.join("pipeline-config.json")).expect("pipeline-config.json");
    serde_json::from_str(&text).expect("JSON")
}

/// `migrate` wrote one deployable set into `out`: one manifest (as `--kind` asked), valid
/// against Istio's CRD schemas, and the `rollout.sh` that applies it, a shell script `sh -n`
/// reads.
pub fn manifests_validate(out: &Path) {
    let written: Vec<&str> = [
        "wasmplugin.yaml",
        "trafficextension.yaml",
        "trafficextension-lua.yaml",
    ]
    .into_iter()
    .filter(|name| out.join(name).exists())
    .collect();
    assert_eq!(
        written.len(),
        1,
        "one manifest in {}: {written:?}",
        out.display()
    );
    for name in written {
        for (doc, errors) in moonshift_tests::crd::validate_file(&out.join(name)).expect("readable")
        {
            assert!(errors.is_empty(), "{name} document {doc}: {errors:?}");
        }
        let rollout = std::fs::read_to_string(out.join("rollout.sh")).expect("rollout.sh");
        assert!(
            rollout.contains(&format!("kubectl apply -f {name}")),
            "{rollout}"
        );
    }
    let syntax = Command::new("sh")
        .arg("-n")
        .arg(out.join("rollout.sh"))
        .status()
        .expect("sh runs");
    assert!(
        syntax.success(),
        "rollout.sh is not a shell script sh reads"
    );
}

/// `moonshift compare` of a script whose `envoy_on_request` never returns against path-logger,
/// on one request, with `extra` arguments (`--envoy`): (exit code, output).
pub fn compare_a_script_that_never_returns(name: &str, extra: &[&str]) -> (i32, String) {
    let dir = out_dir(name);
    let lua = write(
        &dir,
        "loop.lua",
        "function envoy_on_request(h)\n  while true do end\nend\n",
    );
    let requests = write(&dir, "r.jsonl", "{\"path\": \"/\"}\n");
    let wasm = root().join("target/filters/path-logger.wasm");
    let wasm = wasm.to_string_lossy();
    let mut args = vec![
        "compare",
        "--lua",
        &lua,
        "--wasm",
        &wasm,
        "--requests",
        &requests,
    ];
    args.extend_from_slice(extra);
    moonshift(&args)
}
