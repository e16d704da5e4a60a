#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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
