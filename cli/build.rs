//! Embeds what `moonshift` reads at run time, so that the binary runs with no checkout: each
//! module `make build` wrote (`target/filters/*.wasm`), each filter's manifest (its facts),
//! the Lua references and Istio's CRD schemas. Built before the modules exist (a fresh clone's
//! `cargo clippy`), it embeds nothing, and the binary reads them from its checkout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let modules = root.join("target/filters");
    println!("cargo:rerun-if-changed={}", modules.display());
    println!("cargo:rerun-if-changed={}", root.join("filters").display());
    let mut filters: Vec<String> = std::fs::read_dir(root.join("filters"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    filters.sort();
    let mut wasm: Vec<String> = filters.clone();
    wasm.extend(["moonshift-bundle".to_string(), "pipeline".to_string()]);
    let complete = wasm
        .iter()
        .all(|f| modules.join(format!("{f}.wasm")).is_file());
    // Manifests and texts first, modules last: a module is never older than the manifest
    // beside it once unpacked (the harness refuses a module older than its sources).
    let mut files: Vec<PathBuf> = Vec::new();
    if complete {
        for f in &filters {
            files.push(root.join("filters").join(f).join("Cargo.toml"));
        }
        files.extend(files_in(&root.join("lua-reference"), "lua"));
        files.extend(files_in(&root.join("lua-reference/engine"), "lua"));
        files.extend(files_in(&root.join("tests/istio-crds"), "json"));
        for f in &wasm {
            files.push(modules.join(format!("{f}.wasm")));
        }
    }
    let mut out = String::from("/// What the binary carries: (path in the workspace, bytes), modules last.\npub const FILES: &[(&str, &[u8])] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let _ = writeln!(
            out,
            "    ({:?}, include_bytes!({:?})),",
            relative.display().to_string(),
            file.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
