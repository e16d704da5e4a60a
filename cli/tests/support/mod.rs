#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `moonshift` with `args`: (exit code, stdout).
pub fn moonshift(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_moonshift"))
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
