//! One OCI image per filter, end to end: built by the Rust builder and by `buildah bud` on the
//! Dockerfile, pushed to a real registry, fetched and checked the way Istio does, then run in a
//! real Envoy from the fetched bytes.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_oci::{deploy, image, registry};
use moonshift_tests::envoy::{self, Envoy};
use moonshift_tests::http::Request;
use moonshift_tests::paths::{self, FILTERS};
use moonshift_tests::registry::Registry;
use moonshift_tests::upstream::Upstream;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = "0.1.0";

fn meta(filter: &str) -> image::Meta {
    image::Meta {
        filter: filter.into(),
        version: VERSION.into(),
        source: "https://github.com/moonshift/moonshift".into(),
        description: format!("Moonshift {filter}: a proxy-wasm filter replacing a Lua EnvoyFilter"),
    }
}

fn module(filter: &str) -> Vec<u8> {
    std::fs::read(paths::wasm_module(filter)).unwrap()
}

fn tool(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{name} is missing: run `make setup` (installs Debian's {name})"
    );
    path
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn skopeo_push(layout: &Path, registry: &Registry, repository: &str) {
    run(Command::new(tool("skopeo"))
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ])
        .arg(format!("oci:{}:{VERSION}", layout.display()))
        .arg(format!(
            "docker://{}/{repository}:{VERSION}",
            registry.address
        )));
}

/// Runs `module_path` in Envoy and returns what one request showed.
fn serve_once(filter: &str, module_path: &Path) -> (u16, Vec<String>, usize) {
    let upstream = Upstream::start();
    let envoy = Envoy::start(
        &format!("image-{filter}"),
        &[envoy::wasm_filter_at(
            filter,
            module_path,
            Some(&envoy::deployed_config(filter)),
        )],
        upstream.port,
        1,
    );
    // The key api-key-auth's deployed config (the seed's) allows; other filters ignore it.
    let response = envoy.send(&Request::get("/from-the-registry").header("x-api-key", "key-123"));
    let stamped = upstream
        .received()
        .first()
        .map_or(0, |r| r.values("x-request-timestamp").len());
    (response.status, response.values("x-lua-processed"), stamped)
}

/// The plugin.wasm fetched from a registry is the built module, byte for byte, and Envoy runs it
/// (written to `path`) with the filter's effect.
fn check_fetched(filter: &str, fetched: &[u8], path: &Path) {
    assert_eq!(
        fetched,
        module(filter).as_slice(),
        "{filter}: the fetched plugin.wasm is the built module"
    );
    std::fs::write(path, fetched).unwrap();
    check_effect(filter, serve_once(filter, path));
}

fn check_effect(filter: &str, (status, processed, stamped): (u16, Vec<String>, usize)) {
    assert_eq!(status, 200, "{filter}");
    match filter {
        "response-decorator" => assert_eq!(processed, ["true"]),
        "timestamp-header" => assert_eq!(stamped, 1),
        _ => {}
    }
}

#[test]
fn rust_builder_is_reproducible() {
    let root = envoy::scratch_dir("images-test");
    for filter in FILTERS.iter().copied() {
        let a = image::build(&module(filter), &meta(filter)).unwrap();
        let b = image::build(&module(filter), &meta(filter)).unwrap();
        assert_eq!(a, b, "{filter}");
        let (da, db) = (
            root.join(format!("{filter}-a")),
            root.join(format!("{filter}-b")),
        );
        image::write_layout(&a, &da, VERSION).unwrap();
        image::write_layout(&b, &db, VERSION).unwrap();
        for file in ["index.json", "oci-layout"] {
            assert_eq!(
                std::fs::read(da.join(file)).unwrap(),
                std::fs::read(db.join(file)).unwrap(),
                "{filter} {file}"
            );
        }
        let mut blobs: Vec<_> = std::fs::read_dir(da.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        blobs.sort();
        assert_eq!(blobs.len(), 3);
        for blob in blobs {
            let path = Path::new("blobs/sha256").join(&blob);
            assert_eq!(
                std::fs::read(da.join(&path)).unwrap(),
                std::fs::read(db.join(&path)).unwrap(),
                "{filter} {path:?}"
            );
        }
    }
}

#[test]
fn every_filter_image_pushed_fetched_as_istio_does_and_run_in_envoy() {
    let registry = Registry::start("images");
    let scratch = envoy::scratch_dir("images-test");
    for filter in FILTERS.iter().copied() {
        // The Rust builder, pushed with skopeo.
        let built = image::build(&module(filter), &meta(filter)).unwrap();
        let layout = scratch.join(format!("{filter}-layout"));
        image::write_layout(&built, &layout, VERSION).unwrap();
        let repository = format!("moonshift/{filter}");
        skopeo_push(&layout, &registry, &repository);
        let fetched = registry::fetch_and_verify(
            &registry.address,
            &repository,
            VERSION,
            Some(&built.digest()),
        )
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
        println!(
            "{filter}: {} ({} bytes compressed layer)",
            built.digest(),
            built.layer.len()
        );
        check_fetched(
            filter,
            &fetched,
            &scratch.join(format!("{filter}-fetched.wasm")),
        );
    }
}

#[test]
fn every_dockerfile_image_built_by_buildah_pushed_fetched_and_run_in_envoy() {
    let registry = Registry::start("buildah");
    let root = paths::workspace_root();
    let storage = root.join("target/buildah");
    let scratch = envoy::scratch_dir("images-test");
    for filter in FILTERS.iter().copied() {
        let _ = paths::wasm_module(filter); // fails on a missing or stale module
        let tag = format!("localhost/moonshift/{filter}:{VERSION}");
        let buildah = |args: &[&str]| {
            let mut command = Command::new(tool("buildah"));
            command
                .args(["--storage-driver", "vfs", "--root"])
                .arg(storage.join("root"))
                .arg("--runroot")
                .arg(storage.join("run"))
                .args(args)
                .current_dir(&root);
            run(&mut command)
        };
        buildah(&[
            "bud",
            "--quiet",
            "--isolation",
            "chroot",
            "--build-arg",
            &format!("FILTER={filter}"),
            "-f",
            "Dockerfile",
            "-t",
            &tag,
            ".",
        ]);
        let digest_file = scratch.join(format!("{filter}-buildah.digest"));
        buildah(&[
            "push",
            "--quiet",
            "--tls-verify=false",
            "--digestfile",
            digest_file.to_str().unwrap(),
            &tag,
            &format!(
                "docker://{}/moonshift/{filter}-buildah:{VERSION}",
                registry.address
            ),
        ]);
        let digest = std::fs::read_to_string(&digest_file).unwrap();
        let fetched = registry::fetch_and_verify(
            &registry.address,
            &format!("moonshift/{filter}-buildah"),
            VERSION,
            Some(digest.trim()),
        )
        .unwrap_or_else(|e| panic!("{filter} (buildah): {e}"));
        check_fetched(
            filter,
            &fetched,
            &scratch.join(format!("{filter}-buildah.wasm")),
        );
    }
}

#[test]
fn malformed_images_in_a_registry_are_refused_with_a_clear_message() {
    let registry = Registry::start("refusals");
    let scratch = envoy::scratch_dir("images-test");
    let wasm = module("path-logger");
    let tar = image::tar_with("plugin.wasm", &wasm).unwrap();
    let diff = moonshift_oci::digest(&tar);
    let cases = [
        (
            "uncompressed",
            image::build_from_layer(
                tar.clone(),
                "application/vnd.oci.image.layer.v1.tar",
                &diff,
                &meta("path-logger"),
            )
            .unwrap(),
            None,
            "unsupported last layer media type \"application/vnd.oci.image.layer.v1.tar\"",
        ),
        (
            "no-plugin",
            image::build_from_layer(
                image::gzip(&image::tar_with("filter.wasm", &wasm).unwrap()).unwrap(),
                image::LAYER_GZIP,
                &diff,
                &meta("path-logger"),
            )
            .unwrap(),
            None,
            "the last layer holds no plugin.wasm",
        ),
        (
            "no-magic",
            image::build(b"not wasm", &meta("path-logger")).unwrap(),
            None,
            "plugin.wasm is not a WebAssembly module",
        ),
        (
            "wrong-digest",
            image::build(&wasm, &meta("path-logger")).unwrap(),
            Some("sha256:".to_string() + &"ab".repeat(32)),
            "manifest digest mismatch",
        ),
    ];
    for (name, bad, expected, message) in cases {
        let layout = scratch.join(format!("bad-{name}"));
        image::write_layout(&bad, &layout, VERSION).unwrap();
        skopeo_push(&layout, &registry, &format!("moonshift/bad-{name}"));
        let refused = registry::fetch_and_verify(
            &registry.address,
            &format!("moonshift/bad-{name}"),
            VERSION,
            expected.as_deref(),
        )
        .expect_err(name);
        assert!(refused.0.starts_with(message), "{name}: {refused}");
    }
}

#[test]
fn deploy_manifests_are_current_and_their_config_is_accepted() {
    let root = paths::workspace_root();
    for d in moonshift_oci::facts::all(&root).unwrap() {
        let built = image::build(&module(&d.filter), &meta(&d.filter)).unwrap();
        let lua = std::fs::read_to_string(paths::lua_reference(&d.filter)).unwrap();
        let image_ref = format!("ghcr.io/moonshift/{}:{VERSION}", d.filter);
        for (name, text) in deploy::manifests(&d, &image_ref, &built.digest(), &lua) {
            let path = root.join("deploy").join(&d.filter).join(&name);
            let committed = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} missing: run `make deploy`", path.display()));
            assert_eq!(
                committed,
                text,
                "{} is stale: run `make deploy`",
                path.display()
            );
        }
        // The pluginConfig the manifests carry configures the filter (Istio hands it over as
        // JSON); for a filter with credentials it is a placeholder its module refuses, so the
        // manifest cannot go live before the user's keys are put in (issue 21.5).
        let upstream = Upstream::start();
        let config = d.deploy_config.to_string();
        let started = Envoy::try_start(
            &format!("deploy-{}", d.filter),
            &[envoy::wasm_filter(&d.filter, Some(&config))],
            upstream.port,
            1,
        );
        match (&d.credentials, started) {
            (None, Ok(envoy)) => {
                assert_eq!(envoy.send(&Request::get("/")).status, 200, "{}", d.filter)
            }
            (Some(_), Err(failure)) => assert!(
                failure.log.contains("invalid configuration"),
                "{}: {}",
                d.filter,
                failure.log
            ),
            (None, Err(failure)) => panic!("{}: {}", d.filter, failure.log),
            (Some(_), Ok(_)) => panic!("{}: the placeholder configuration went live", d.filter),
        }
        // Istio's TrafficExtension phase enum is UNSPECIFIED|AUTHN|AUTHZ|STATS.
        let te = std::fs::read_to_string(
            root.join("deploy")
                .join(&d.filter)
                .join("trafficextension.yaml"),
        )
        .unwrap();
        let phase = te
            .lines()
            .find_map(|l| l.strip_prefix("  phase: "))
            .unwrap_or_default();
        assert!(
            ["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"].contains(&phase),
            "{}: TrafficExtension phase {phase}",
            d.filter
        );
    }
}
