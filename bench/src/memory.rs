//! `--memory [--workers N]`: Envoy's resident memory with each configuration of the cases, the
//! cost a mesh pays per sidecar. Each variant gets a fresh Envoy with N workers (default 2) in
//! front of a direct response, serves 400 or more requests over 8 connections (so every worker
//! has run the filter), and its RSS is read from `/proc/<pid>/status`. Runs repeat to within
//! about 1 MiB a configuration.

use crate::{bootstrap, rss_mib, Backend, Case, Variant};
use moonshift_envoy::envoy::{self, Envoy, Launch};
use std::fmt::Write as _;
use std::time::Duration;

pub const BEGIN: &str = "<!-- memory: begin -->";
pub const END: &str = "<!-- memory: end -->";

/// The targets (issue 25), in MiB added over no filter with 2 workers: the bundle's pipeline
/// (the seed's, as `migrate` makes it) at most 18, any single filter's module at most 16.
const BUNDLE_TARGET: f64 = 18.0;
const FILTER_TARGET: f64 = 16.0;

/// What one Envoy holds, in MiB: resident (`VmRSS`); of that, what its heap (tcmalloc) has
/// allocated and holds free; the rest is outside the heap (code, V8's own mappings, the VMs'
/// linear memories).
#[derive(Clone, Copy)]
struct Held {
    rss: f64,
    allocated: f64,
    free: f64,
}

const MIB: f64 = 1024.0 * 1024.0;

/// One Envoy with `variant`'s filters, after the load.
fn held_with(
    case: &Case,
    variant: &Variant,
    workers: u32,
    upstream_port: u16,
) -> Result<Held, String> {
    let launch = Launch {
        concurrency: workers,
        cpu_list: None,
        log_level: "warning",
    };
    let envoy = Envoy::try_start_with("bench-memory", &launch, |port, admin| {
        bootstrap(variant, Backend::Direct, port, admin, upstream_port)
    })
    .map_err(|f| {
        format!(
            "{} / {}: Envoy did not start: {}",
            case.name, variant.label, f.log
        )
    })?;
    let (ok, other) = crate::load::closed_loop(envoy.port, 8, Duration::from_millis(600));
    if ok < 400 || other > 0 {
        return Err(format!(
            "{} / {}: {ok} requests got 200 and {other} did not; 400 must pass",
            case.name, variant.label
        ));
    }
    // Let the workers settle what the requests allocated.
    std::thread::sleep(Duration::from_millis(300));
    let heap = envoy.heap_figures();
    let figure = |name: &str| heap.get(name).copied().unwrap_or(0) as f64 / MIB;
    Ok(Held {
        rss: rss_mib(envoy.pid()),
        allocated: figure("allocated"),
        free: figure("pageheap_free") + figure("total_thread_cache"),
    })
}

pub fn run(cases: &[Case], only_case: Option<&str>, upstream_port: u16) {
    let workers: u32 = crate::arg_value("--workers")
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let started = std::time::Instant::now();
    let mut table = String::from(
        "| case | variant | RSS MiB | added over no filter | of which heap allocated | heap held free |\n|---|---|---:|---:|---:|---:|\n",
    );
    let mut judged = Vec::new();
    // What V8 costs before any module code, and with 256 KiB of plain code: the floors a
    // target not met is held against (when those cases ran).
    let mut floor: Option<f64> = None;
    let mut plain_code: Option<f64> = None;
    for case in cases {
        let mut none: Option<Held> = None;
        for variant in &case.variants {
            let held =
                held_with(case, variant, workers, upstream_port).unwrap_or_else(|e| panic!("{e}"));
            let base = *none.get_or_insert(held);
            let added = held.rss - base.rss;
            let _ = writeln!(
                table,
                "| {} | {} | {:.1} | {added:+.1} | {:+.1} | {:+.1} |",
                case.name,
                variant.label,
                held.rss,
                held.allocated - base.allocated,
                held.free - base.free,
            );
            match variant.label {
                FLOOR => floor = Some(added),
                PLAIN_CODE => plain_code = Some(added),
                _ => {}
            }
            let filter = moonshift_envoy::paths::FILTERS.contains(&case.name.as_str());
            match (filter, variant.label.get(..2)) {
                (true, Some("D ")) => judged.push((
                    format!("{}: its module adds at most {FILTER_TARGET} MiB", case.name),
                    added,
                    FILTER_TARGET,
                )),
                (false, Some("E ")) if case.name == "the seed's script" => judged.push((
                    format!("the bundle (the seed's pipeline) adds at most {BUNDLE_TARGET} MiB"),
                    added,
                    BUNDLE_TARGET,
                )),
                _ => {}
            }
        }
    }
    let mut targets = String::from("| target | this run | |\n|---|---:|---|\n");
    for (what, added, target) in &judged {
        // Within a MiB of the floor, a target leaves no room for code (a run moves by 1 MiB).
        let verdict = match (added <= target, floor, plain_code) {
            (true, _, _) => "met".to_string(),
            (false, Some(floor), _) if floor >= target - 1.0 => format!(
                "**not met**: a module with no code adds {floor:+.1} MiB here, leaving {:.1} MiB for any code",
                (target - floor).max(0.0)
            ),
            (false, _, Some(plain)) if plain >= *target => format!(
                "**not met**: 256 KiB of plain generated code adds {plain:+.1} MiB here"
            ),
            _ => "**not met**".to_string(),
        };
        let _ = writeln!(targets, "| {what} | {added:+.1} MiB | {verdict} |");
    }
    let section = format!(
        "{BEGIN}\n## What a plugin costs in memory\n\nEnvoy {}'s resident memory (`VmRSS`) with {workers} workers, after at least 400 requests over 8 connections to a direct response, each configuration in a fresh Envoy (`moonshift-bench --memory`, {:.0} s; runs repeat to within about 1 MiB a configuration). The first row of each case is Envoy with no filter; \"a filter doing nothing\" and \"D Wasm, no callbacks\" show the floor a Wasm runtime costs before any module code (V8 itself).\n\n{table}\nTargets, with {workers} workers:\n\n{targets}{END}\n",
        crate::report::envoy_version(),
        started.elapsed().as_secs_f64(),
    );
    print!("{section}");
    crate::sections::write_section(
        "memory",
        BEGIN,
        END,
        &section,
        only_case.is_none() && workers == 2,
    );
}

/// The variants of [`module_bytes_case`] a memory target not met is held against: a module with
/// no code (V8 itself), and 256 KiB of plain code.
const FLOOR: &str = "D Wasm, no callbacks (the floor)";
const PLAIN_CODE: &str = "I + 256 KiB of code, called once a VM";

/// What a module's bytes cost, by kind: the no-callbacks floor module, and the same with about
/// 256 KiB of code never called, the same code called once by `proxy_on_configure` (on every
/// VM), the same code in 4,096 small functions, and 128 KiB of data in an active segment.
/// Generated text, assembled by `wasm-as`. The code loads and stores linear memory at addresses
/// it computes, so that V8's optimizing compiler (Envoy runs V8 with `--no-liftoff`: every
/// function is compiled optimized when the module loads) cannot fold it away.
pub fn module_bytes_case() -> Case {
    let variants = [
        (FLOOR, Bytes::None),
        (
            "H + 256 KiB of code, never called",
            Bytes::Code { called: false },
        ),
        (PLAIN_CODE, Bytes::Code { called: true }),
        ("K + the same code, run on every request", Bytes::Hot),
        (
            "L + the same code in 4,096 small functions, called once a VM",
            Bytes::Small,
        ),
        ("J + 128 KiB of data", Bytes::Data),
    ];
    let mut list = vec![Variant {
        label: "A none",
        filters: vec![],
        patch: None,
    }];
    list.extend(variants.into_iter().map(|(label, bytes)| Variant {
        label,
        filters: vec![envoy::wasm_filter_at("floor", &generated(bytes), None)],
        patch: None,
    }));
    Case {
        name: "a module's bytes (generated)".into(),
        variants: list,
        direct_only: true,
    }
}

#[derive(Clone, Copy)]
enum Bytes {
    None,
    Code {
        called: bool,
    },
    /// The code, called by `proxy_on_request_headers`.
    Hot,
    /// The code's statements in many small functions, called once a VM.
    Small,
    Data,
}

/// One statement of generated code (about 27 bytes): load a word at an address made from the
/// argument, add `n`, keep the sum as the argument and store it back. Nothing a compiler can
/// fold: every load may see what a store wrote.
fn statement(n: usize) -> String {
    format!(
        " (i32.store (i32.and (local.get 0) (i32.const 131068)) (local.tee 0 (i32.add (i32.load (i32.and (local.get 0) (i32.const 131064))) (i32.const {n}))))"
    )
}

/// The floor module (bench/floor/no-callbacks.wat) with `bytes` added, assembled.
fn generated(bytes: Bytes) -> std::path::PathBuf {
    // 256 x 38 statements, or 4,096 x 2 and a call each: about 256 KiB of code either way.
    let (functions, statements) = match bytes {
        Bytes::Small => (4096, 2),
        _ => (256, 38),
    };
    let mut configure = String::new();
    let mut callbacks = String::new();
    let mut extra = String::new();
    let mut pages = 2;
    match bytes {
        Bytes::None => {}
        Bytes::Code { .. } | Bytes::Hot | Bytes::Small => {
            for k in 0..functions {
                let _ = write!(extra, "  (func $f{k} (param i32) (result i32)");
                for j in 0..statements {
                    extra.push_str(&statement(k * statements + j + 1000));
                }
                extra.push_str(" (local.get 0))\n");
                let call = format!(" (drop (call $f{k} (i32.const {k})))");
                match bytes {
                    Bytes::Code { called: true } | Bytes::Small => configure.push_str(&call),
                    Bytes::Hot => callbacks.push_str(&call),
                    _ => {}
                }
            }
        }
        Bytes::Data => {
            pages = 4;
            extra.push_str("  (data (i32.const 4096) \"");
            for i in 0..128 * 1024 {
                let _ = write!(extra, "\\{:02x}", (i * 7) % 256);
            }
            extra.push_str("\")\n");
        }
    }
    // Per-stream callbacks only where the code runs per request: the others stay the floor
    // module (bench/floor/no-callbacks.wat), whose label they carry.
    if matches!(bytes, Bytes::Hot) {
        callbacks = format!(
            "  (func (export \"proxy_on_context_create\") (param i32 i32))\n  (func (export \"proxy_on_request_headers\") (param i32 i32 i32) (result i32){callbacks} (i32.const 0))\n  (func (export \"proxy_on_delete\") (param i32))\n"
        );
    }
    let name = match bytes {
        Bytes::None => "bytes-none",
        Bytes::Code { called: false } => "bytes-code-uncalled",
        Bytes::Code { called: true } => "bytes-code-called",
        Bytes::Hot => "bytes-code-hot",
        Bytes::Small => "bytes-code-small",
        Bytes::Data => "bytes-data",
    };
    let wat = format!(
        r#"(module
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32){configure} (i32.const 1))
{callbacks}{extra})
"#
    );
    let dir = moonshift_envoy::paths::workspace_root().join("target/bench/floor");
    let _ = std::fs::create_dir_all(&dir);
    let source = dir.join(format!("{name}.wat"));
    std::fs::write(&source, wat).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    crate::cases::assemble(&source, name)
}
