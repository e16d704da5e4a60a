//! `moonshift`: the way off a Lua EnvoyFilter, as one command.
//!
//! - `moonshift migrate FILE` converts the Lua of an Istio `EnvoyFilter` (or an Envoy config, or
//!   a `.lua` file) into one pipeline plugin's configuration, writes the manifests that deploy it
//!   and a report of what it could not convert, and compares the two on derived requests.
//! - `moonshift compare` plays requests through any Lua script and any proxy-wasm module and
//!   shows, per request, whether they behave the same.
//! - `moonshift deploy FILTER|pipeline` writes the manifests that deploy a filter or a pipeline
//!   where the user says, with the image's digest and a configuration checked first.
//! - `moonshift validate FILTER CONFIG` checks a configuration offline, with the messages the
//!   module logs in Envoy, from the same code.

// `value["key"] = ...` on JSON objects this code builds itself: serde_json inserts, it does not
// panic on an object. A host tool, not the request path (where the lint matters most).
#![allow(clippy::indexing_slicing)]

mod compare;
mod deploy;
mod embedded;
mod fail_strategy;
mod input;
use moonshift_oci::manifests;
mod migrate;
mod output;
mod validate;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "moonshift",
    version,
    about = "Migrate Lua EnvoyFilters to proxy-wasm filters, with evidence",
    after_help = "Exit status: 0 when the command's verdict is yes (converted or unverified, every request the same, the configuration valid); 1 when it is no (refused, a request differs, the configuration invalid); 2 when the command could not run (a usage error, a file that cannot be read, an Envoy that does not start). Results go to standard output, errors to standard error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert the Lua of an EnvoyFilter (YAML), an Envoy config, or a .lua file into one
    /// pipeline plugin, write its manifests and a report, and compare it with the Lua.
    Migrate(migrate::Args),
    /// Play requests through a Lua script and a proxy-wasm module, and compare every observable.
    Compare(compare::Args),
    /// Write the WasmPlugin and TrafficExtension that deploy a filter or a pipeline: namespace,
    /// selector or targetRefs, direction, image and digest, a configuration checked first.
    Deploy(deploy::Args),
    /// Check a filter's configuration (JSON or YAML) with the module's own messages.
    Validate {
        /// A filter name (`request-decorator`, ...) or `pipeline`.
        filter: String,
        /// The configuration file, JSON or YAML (`-`: standard input).
        config: PathBuf,
    },
    /// Print the JSON Schema of a filter's configuration (or the pipeline's), for editors and
    /// CI: the shape `validate` reads, derived from the same types.
    Schema {
        /// A filter name (`request-decorator`, ...) or `pipeline`.
        filter: String,
    },
    /// Print the shell completion script (`moonshift completions bash > /etc/bash_completion.d/moonshift`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `--version`: the version, and the sha256 of each module the binary carries.
fn version() -> String {
    let modules = embedded::modules();
    let mut text = String::from(env!("CARGO_PKG_VERSION"));
    match modules.is_empty() {
        true => text.push_str(&format!(
            "\nmodules: none embedded (built before `make build`): read from {}",
            moonshift_harness::artifacts::workspace_root()
                .join("target/filters")
                .display()
        )),
        false => {
            text.push_str("\nmodules (sha256):");
            for (name, sha) in modules {
                text.push_str(&format!("\n  {name:<20} {sha}"));
            }
        }
    }
    text
}

fn main() -> ExitCode {
    // The embedded modules, manifests and references, unpacked once: every command reads them.
    match embedded::unpacked() {
        Ok(Some(root)) => moonshift_harness::artifacts::set_workspace_root(root),
        Ok(None) => {}
        Err(error) => {
            eprintln!("moonshift: {error}");
            return ExitCode::from(2);
        }
    }
    let version: &'static str = Box::leak(version().into_boxed_str());
    let matches = Cli::command().version(version).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = match cli.command {
        Command::Migrate(args) => migrate::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Deploy(args) => deploy::run(&args),
        Command::Validate { filter, config } => validate::run(&filter, &config),
        Command::Schema { filter } => validate::schema(&filter),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "moonshift",
                &mut std::io::stdout(),
            );
            Ok(true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("moonshift: {error}");
            ExitCode::from(2)
        }
    }
}
