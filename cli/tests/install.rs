//! The `moonshift` binary runs with no checkout: copied alone into an empty folder, run from
//! another one, with `HOME` and `TMPDIR` there too, it migrates (in-process and in Envoy),
//! compares, validates, prints schemas and completions and writes manifests from what it
//! carries, and `--version` names the sha256 of each module it carries.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::root;

struct Place {
    binary: PathBuf,
    work: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
}

impl Place {
    fn new() -> Place {
        let base = root().join("target/cli-tests/install");
        let _ = std::fs::remove_dir_all(&base);
        let place = Place {
            binary: base.join("bin/moonshift"),
            work: base.join("work"),
            home: base.join("home"),
            tmp: base.join("tmp"),
        };
        for dir in [&place.work, &place.home, &place.tmp] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::create_dir_all(base.join("bin")).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_moonshift"), &place.binary).unwrap();
        place
    }

    /// Runs the copy from the work folder: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(&self.binary)
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .env("ENVOY_BIN", moonshift_tests::paths::envoy_bin())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.work.join(name), text).unwrap();
    }
}

/// The folders under `dir`, recursively, whose name is `name`.
fn found(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        let path = e.path();
        path.is_dir() && (e.file_name() == name || found(&path, name))
    })
}

#[test]
fn runs_alone_from_anywhere() {
    let place = Place::new();

    let (code, out, err) = place.run(&["--version"]);
    assert_eq!(code, 0, "{err}");
    for module in ["moonshift-bundle", "pipeline", "request-decorator"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(module))
            .unwrap_or_else(|| panic!("--version names {module}: {out}"));
        let sha = line.split_whitespace().last().unwrap();
        let bytes = std::fs::read(root().join(format!("target/filters/{module}.wasm"))).unwrap();
        use sha2::Digest;
        let want: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha, want, "{module}: the embedded module is the built one");
    }

    // What it carries, unpacked under TMPDIR, not read from the checkout.
    let unpacked: Vec<PathBuf> = std::fs::read_dir(&place.tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".complete").is_file())
        .collect();
    assert_eq!(unpacked.len(), 1, "one unpacked folder: {unpacked:?}");
    assert!(unpacked[0].join("target/filters/pipeline.wasm").is_file());

    place.write(
        "script.lua",
        "function envoy_on_request(h)\n  local p = h:headers():get(\":path\")\n  h:headers():replace(\":path\", p:gsub(\"([&?])apikey=[^&]+&?\", \"%1\"))\nend\n",
    );
    let (code, out, err) = place.run(&["migrate", "script.lua", "--out", "out", "--envoy"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Verdict: converted"), "{out}");
    assert!(out.contains("(in Envoy)"), "{out}");
    assert!(place.work.join("out/wasmplugin.yaml").is_file());
    // Envoy's working folders went under the temporary folder.
    assert!(found(&place.tmp, "envoy-tests"), "Envoy ran under TMPDIR");

    place.write("requests.jsonl", "{\"path\": \"/a?apikey=k&b=1\"}\n");
    let (code, out, err) = place.run(&[
        "compare",
        "--lua",
        "script.lua",
        "--wasm",
        unpacked[0]
            .join("target/filters/pipeline.wasm")
            .to_str()
            .unwrap(),
        "--root-id",
        "pipeline",
        "--config",
        "out/pipeline-config.json",
        "--requests",
        "requests.jsonl",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    place.write(
        "config.json",
        "{\"operations\": [{\"action\": \"remove\", \"name\": \"x-a\"}]}",
    );
    let (code, out, err) = place.run(&["validate", "request-decorator", "config.json"]);
    assert_eq!(
        (code, out.trim()),
        (0, "request-decorator: the configuration is valid"),
        "{err}"
    );

    let (code, out, _) = place.run(&["schema", "path-logger"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"title\": \"path-logger\""), "{out}");

    // Completions, for each shell, naming the commands and their flags; bash's parses.
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = place.run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("migrate") && out.contains("image-prefix"),
            "{shell}: {out}"
        );
        if shell == "bash" {
            place.write("moonshift.bash", &out);
            let syntax = Command::new("bash")
                .args(["-n", "moonshift.bash"])
                .current_dir(&place.work)
                .status()
                .unwrap();
            assert!(syntax.success(), "bash reads the completions");
        }
    }

    let (code, out, err) = place.run(&["deploy", "timestamp-header", "--out", "deploy"]);
    assert_eq!(code, 0, "{out}{err}");
    let manifest = std::fs::read_to_string(place.work.join("deploy/wasmplugin.yaml")).unwrap();
    assert!(manifest.contains("  sha256: "), "{manifest}");
}
