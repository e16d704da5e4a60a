//! The corpus (cli/tests/corpus/: 49 Lua filters modelled on public scripts) and the hold-out
//! set (cli/tests/holdout/: 27 more, collected after, never used to develop `migrate`):
//! `migrate` on every file, against the verdict recorded in the folder's expected.json
//! (converted; refused, or an input it cannot read, with the reason's key phrase). A converted
//! script is compared on the requests migrate derives and on the 50 fixed requests of
//! cli/tests/corpus/requests.jsonl, in-process and in two real Envoys; none may differ.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::Value;
use support::{moonshift, out_dir, root};

#[test]
fn every_corpus_script_gets_its_recorded_verdict() {
    check("corpus");
}

#[test]
fn every_hold_out_script_gets_its_recorded_verdict() {
    check("holdout");
}

/// `migrate` on every script of cli/tests/`folder`, against its expected.json.
fn check(folder: &str) {
    let corpus = root().join("cli/tests").join(folder);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("expected.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua") || n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<Vec<_>>(),
        "expected.json lists every file of {folder}"
    );
    let requests = root().join("cli/tests/corpus/requests.jsonl");
    let mut failures = Vec::new();
    let mut converted = 0;
    for file in &files {
        let want = &expected[file];
        let converts = want["verdict"] == "converted";
        let out = out_dir(&format!("{folder}/{file}"));
        let path = corpus.join(file);
        let mut args = vec![
            "migrate",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
            "--requests",
            requests.to_str().unwrap(),
        ];
        if converts {
            args.push("--envoy");
        }
        let (code, output) = moonshift(&args);
        let Some(result) = output
            .lines()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
        else {
            failures.push(format!("{file}: no JSON result (exit {code}): {output}"));
            continue;
        };
        if result["verdict"] != want["verdict"] {
            failures.push(format!(
                "{file}: verdict {} (want {}): {}",
                result["verdict"], want["verdict"], result["unconverted"]
            ));
            continue;
        }
        if converts {
            converted += 1;
            let (same, total) = (&result["same"], &result["requests"]);
            if code != 0 || same != total || total.as_u64().unwrap_or(0) < 100 {
                failures.push(format!("{file}: exit {code}, {same} of {total} the same"));
            }
            assert!(out.join("wasmplugin.yaml").exists(), "{file}");
        } else if want["verdict"] == "error" {
            let reason = want["reason"].as_str().unwrap();
            let error = result["error"].as_str().unwrap_or_default();
            if code == 0 || !error.contains(reason) {
                failures.push(format!("{file}: exit {code}, {reason:?} not in {error:?}"));
            }
        } else {
            let reason = want["reason"].as_str().unwrap();
            let whys: Vec<&str> = result["unconverted"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|u| u["why"].as_str())
                .collect();
            if code != 1 || !whys.iter().any(|w| w.contains(reason)) {
                failures.push(format!("{file}: exit {code}, {reason:?} not in {whys:?}"));
            }
            assert!(!out.join("pipeline-config.json").exists(), "{file}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!(
        "{folder}: {converted} converted, {} not",
        files.len() - converted
    );
}
