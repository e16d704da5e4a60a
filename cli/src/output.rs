//! Writing what a command produces into its `--out` folder: never through a symbolic link that
//! already stands where a file goes (a link planted in a shared folder would otherwise make the
//! command overwrite whatever it points at).

use std::path::Path;

/// Writes `text` to `path`, refusing when `path` is a symbolic link.
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{} is a symbolic link: refusing to write through it (remove it, or choose another --out)",
            path.display()
        ));
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbolic_link_is_never_written_through() {
        let dir = std::env::temp_dir().join(format!("moonshift-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap_or_default();
        let link = dir.join("wasmplugin.yaml");
        std::os::unix::fs::symlink(&victim, &link).unwrap_or_default();
        let refused = write(&link, "overwritten");
        assert!(refused.is_err_and(|e| e.contains("symbolic link")));
        assert_eq!(
            std::fs::read_to_string(&victim).ok().as_deref(),
            Some("keep")
        );
        let plain = dir.join("plain.yaml");
        assert_eq!(write(&plain, "x"), Ok(()));
        assert_eq!(write(&plain, "y"), Ok(()), "a plain file is replaced");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
