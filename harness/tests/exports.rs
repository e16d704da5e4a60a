//! Every shipped module imports only the proxy-wasm ABI (and WASI `random_get`), and exports
//! exactly what its crate declares in `[package.metadata.moonshift]
//! callbacks`, plus what every module has: Envoy enters the VM once per request for every
//! `proxy_on_*` a module exports, so an export the filter does not use is a cost for nothing.
//! `moonshift_kit::export_filter!` generates the exports; this test holds it to the declaration.

// A test: what cannot be set up fails it.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::artifacts::{wasm_module, workspace_root};
use std::collections::BTreeSet;

/// What every module exports: memory, the WASI reactor entry, the ABI marker, the allocator the
/// host fills buffers through, the two configuration callbacks, and `proxy_on_context_create`,
/// which names each stream's root context (kit/src/dispatch.rs: one VM entry a request, the
/// price of a configuration applying to its own plugin only); and `memcmp`, which the kit
/// defines for `core` (modules have no libc: kit/src/module.rs). A `#[no_mangle]` function is
/// exported by the linker whatever its visibility; Envoy never calls an export that is not a
/// proxy-wasm callback, so it costs nothing per request.
const ALWAYS: [&str; 8] = [
    "memory",
    "proxy_on_context_create",
    "_initialize",
    "proxy_abi_version_0_2_1",
    "proxy_on_memory_allocate",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "memcmp",
];

/// The exports the crate in `dir` declares.
fn declared_exports(dir: &str) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(workspace_root().join(dir).join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("callbacks = "))
        .unwrap_or_else(|| panic!("{dir}/Cargo.toml declares no callbacks"));
    let list: Vec<String> = serde_json::from_str(line.trim_start_matches("callbacks = ")).unwrap();
    list.into_iter()
        .chain(ALWAYS.iter().map(|s| s.to_string()))
        .collect()
}

/// A module's exports (`name`) and imports (`module::name`), read without compiling it.
fn module_interface(module: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let bytes = std::fs::read(wasm_module(module)).unwrap();
    let (mut exported, mut imported) = (BTreeSet::new(), BTreeSet::new());
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ExportSection(section) => {
                for export in section {
                    exported.insert(export.unwrap().name.to_string());
                }
            }
            wasmparser::Payload::ImportSection(section) => {
                for import in section {
                    let import = import.unwrap();
                    imported.insert(format!("{}::{}", import.module, import.name));
                }
            }
            _ => {}
        }
    }
    (exported, imported)
}

#[test]
fn each_module_exports_only_what_its_filter_uses() {
    let filters = moonshift_harness::artifacts::FILTERS.iter();
    let modules = filters.map(|f| (*f, format!("filters/{f}")));
    for (module, dir) in modules.chain([("moonshift-bundle", "bundle".to_string())]) {
        assert_eq!(
            module_interface(module).0,
            declared_exports(&dir),
            "{module}"
        );
    }
}

/// What a module may import: the proxy-wasm ABI's host functions, and of WASI only `random_get`
/// (the kit's one WASI call). Anything else, such as a C library function a module without `std`
/// did not define (`env::memcmp`), makes Envoy refuse to load the module.
#[test]
fn each_module_imports_only_the_host_abi() {
    let filters = moonshift_harness::artifacts::FILTERS.iter().copied();
    for module in filters.chain(["moonshift-bundle"]) {
        let foreign: Vec<String> = module_interface(module)
            .1
            .into_iter()
            .filter(|name| {
                !name.starts_with("env::proxy_") && name != "wasi_snapshot_preview1::random_get"
            })
            .collect();
        assert!(foreign.is_empty(), "{module} imports {foreign:?}");
    }
}
