//! `moonshift-oci`: one OCI image per filter.
//!
//! ```text
//! moonshift-oci build  [--version V]                  target/filters/*.wasm -> target/images/<filter>/ (OCI layouts)
//! moonshift-oci push   --registry HOST:PORT [--insecure] [--version V]   with skopeo; prints each manifest digest
//! moonshift-oci verify --registry HOST:PORT [--version V]                fetch and check each image as Istio does
//! moonshift-oci deploy [--image-prefix REGISTRY/REPO] [--version V]      deploy/<filter>/*.yaml with the real digests
//! ```

use moonshift_oci::{deploy, facts, image, registry};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const DEFAULT_PREFIX: &str = "ghcr.io/moonshift";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn built(filter: &str, version: &str) -> Result<image::Image, String> {
    moonshift_oci::built(&root(), filter, version)
}

/// Every filter: the folders of `filters/`, each with the facts its Cargo.toml declares.
fn filters() -> Result<Vec<facts::Facts>, String> {
    facts::all(&root())
}

fn run(args: &[String]) -> Result<(), String> {
    // Every filter's image, and the bundle's (which also serves the pipeline, `pluginName:
    // pipeline`: what `moonshift migrate` deploys).
    let mut names: Vec<String> = filters()?.into_iter().map(|f| f.filter).collect();
    names.push(moonshift_oci::BUNDLE.into());
    let version =
        option(args, "--version").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    match args.first().map(String::as_str) {
        Some("build") => {
            println!("{:<20} {:<66} {:>12}", "image", "WasmPlugin spec.sha256 (the manifest digest)", "layer bytes");
            for filter in &names {
                let image = built(filter, &version)?;
                let dir = root().join("target/images").join(filter);
                image::write_layout(&image, &dir, &version).map_err(|e| e.to_string())?;
                let sha = image.digest();
                println!("{:<20} {:<66} {:>12}", filter, sha.trim_start_matches("sha256:"), image.layer.len());
            }
            Ok(())
        }
        Some("push") => {
            let registry = option(args, "--registry").ok_or("push needs --registry HOST:PORT")?;
            let insecure = args.iter().any(|a| a == "--insecure");
            for filter in &names {
                let image = built(filter, &version)?;
                let layout = root().join("target/images").join(filter);
                image::write_layout(&image, &layout, &version).map_err(|e| e.to_string())?;
                let status = Command::new("skopeo")
                    .args(["copy", "--quiet", "--preserve-digests"])
                    .arg(format!("--dest-tls-verify={}", !insecure))
                    .arg(format!("oci:{}:{version}", layout.display()))
                    .arg(format!("docker://{registry}/moonshift/{filter}:{version}"))
                    .status()
                    .map_err(|e| format!("skopeo: {e} (install Debian's skopeo: make setup)"))?;
                if !status.success() {
                    return Err(format!("skopeo copy of {filter} failed"));
                }
                println!("{registry}/moonshift/{filter}:{version} {}", image.digest());
            }
            Ok(())
        }
        Some("verify") => {
            let registry = option(args, "--registry").ok_or("verify needs --registry HOST:PORT")?;
            for filter in &names {
                let expected = built(filter, &version)?.digest();
                let module = registry::fetch_and_verify(&registry, &format!("moonshift/{filter}"), &version, Some(&expected))
                    .map_err(|e| format!("{filter}: {e}"))?;
                println!("{filter}: OK, {expected}, plugin.wasm {} bytes", module.len());
            }
            Ok(())
        }
        Some("deploy") => {
            let prefix = option(args, "--image-prefix").unwrap_or_else(|| DEFAULT_PREFIX.into());
            for d in filters()? {
                let image = built(&d.filter, &version)?;
                let lua_path = root().join("lua-reference").join(format!("{}.lua", d.filter));
                let lua = std::fs::read_to_string(&lua_path).map_err(|e| format!("{}: {e}", lua_path.display()))?;
                let dir = root().join("deploy").join(&d.filter);
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                for (name, text) in deploy::manifests(&d, &format!("{prefix}/{}:{version}", d.filter), &image.digest(), &lua) {
                    std::fs::write(dir.join(&name), text).map_err(|e| e.to_string())?;
                    println!("wrote deploy/{}/{name}", d.filter);
                }
            }
            Ok(())
        }
        _ => Err("usage: moonshift-oci build | push --registry HOST:PORT [--insecure] | verify --registry HOST:PORT | deploy [--image-prefix P]".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moonshift-oci: {e}");
            ExitCode::FAILURE
        }
    }
}
