//! The `detek` binary: a thin clap CLI over the engine, the collectors, the detector
//! catalogue and the renderers.

mod catalogue;
mod cli;
mod commands;
mod config;
mod progress;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("detek: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
