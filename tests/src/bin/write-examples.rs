//! `make examples`: writes `examples/envoy/*.json` (see `moonshift_tests::examples`).

fn main() -> Result<(), String> {
    let root = moonshift_tests::paths::workspace_root();
    for (path, text) in moonshift_tests::examples::render_all() {
        let full = root.join(&path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&full, text).map_err(|e| format!("{}: {e}", full.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
