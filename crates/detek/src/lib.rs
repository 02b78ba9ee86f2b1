//! The logic of the `detek` binary as a library: the clap CLI, target resolution, the
//! catalogue composed from every crate, the config file, and the commands. `main.rs` only
//! calls [`main`]; the fuzz crate and tests use the parts directly.

pub mod catalogue;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cost;
pub mod fleet;
pub mod metrics;
pub mod nodes;
pub mod policy;
mod progress;
pub mod serve;
pub mod why;

use clap::Parser;
use std::process::ExitCode;

/// Parse the command line, run the command, and turn errors into one line on stderr and
/// exit code 2.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            // The message can carry file names and contents: no control characters.
            let message = format!("{err:#}");
            // Line by line, so a multi-line snippet (config parse errors) keeps its lines.
            let lines: Vec<String> = message
                .lines()
                .map(|l| detek_render::sanitize_terminal(l).into_owned())
                .collect();
            eprintln!("detek: error: {}", lines.join("\n"));
            ExitCode::from(2)
        }
    }
}
