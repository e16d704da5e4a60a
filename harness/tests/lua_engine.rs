//! The Lua engine (templates, conditions, header operations) has one source,
//! `lua-reference/engine/engine.lua`; each Lua reference that uses it holds a copy, so that the
//! reference stays one file Envoy loads. This test keeps every copy equal to the source;
//! `make lua-engine` rewrites the copies.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::artifacts::workspace_root;

const BEGIN: &str = "-- moonshift engine begin";
const END: &str = "-- moonshift engine end\n";

/// `source` with its engine block replaced by `engine`; `None` when it has no block.
fn with_engine(source: &str, engine: &str) -> Option<String> {
    let start = source.find(BEGIN)?;
    let end = source[start..].find(END)? + start + END.len();
    Some(format!("{}{}{}", &source[..start], engine, &source[end..]))
}

#[test]
fn every_copy_of_the_lua_engine_is_the_engine() {
    let dir = workspace_root().join("lua-reference");
    let engine = std::fs::read_to_string(dir.join("engine/engine.lua")).unwrap();
    assert!(engine.starts_with(BEGIN) && engine.ends_with(END));
    let bless = std::env::var_os("MOONSHIFT_BLESS").is_some();
    let mut copies = 0;
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "lua") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let Some(updated) = with_engine(&source, &engine) else {
            continue;
        };
        copies += 1;
        if updated != source {
            if bless {
                std::fs::write(&path, updated).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(copies >= 2, "the engine is used by {copies} references");
    assert!(
        stale.is_empty(),
        "stale engine copies (run `make lua-engine`): {stale:?}"
    );
}
