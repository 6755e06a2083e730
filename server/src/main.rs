//! The `server` binary: parse flags, run, print one error line on failure.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = server::Config::parse();
    match server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: error: {e}");
            ExitCode::FAILURE
        }
    }
}
