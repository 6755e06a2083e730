//! The `server` binary: load the settings, run (or print them, or hash a password),
//! print one error line on failure.

// Nothing a peer sends may panic the process: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

use server::config::Command;
use server::config_file::{self, LoadError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let loaded = match config_file::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        // clap prints its own report (with usage), and handles --help and --version.
        Err(LoadError::Args(e)) => e.exit(),
        Err(e) => return fail(e),
    };
    if loaded.config.command == Some(Command::HashPassword) {
        return match server::rules::hash_password::run() {
            Ok(hash) => {
                println!("{hash}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    if loaded.config.print_config {
        print!("{}", server::config_print::render(&loaded));
        return ExitCode::SUCCESS;
    }
    match server::run(loaded.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("server: error: {e}");
    ExitCode::FAILURE
}
