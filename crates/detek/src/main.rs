//! The `detek` binary: a thin clap CLI over the engine, the collectors, the detector
//! catalogue and the renderers.

mod catalogue;
mod cli;
mod commands;
mod config;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            // The message can carry file names and contents: no control characters.
            let message = format!("{err:#}");
            eprintln!(
                "detek: error: {}",
                detek_render::sanitize_terminal(&message)
            );
            ExitCode::from(2)
        }
    }
}
