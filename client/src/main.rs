//! The `client` binary: parse the command line, run one request or the REPL, and turn
//! any failure into one `client: error: ...` line and an exit code.

// Nothing a server sends may panic the client: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cli;
mod command;
mod error;
mod links;
mod oneshot;
mod printer;
mod repl;
mod request;
mod transport;

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit 1 ("any other failure"); 2 means a timeout here, not clap's
    // usual usage-error code.
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(error::exit::FAILURE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let mut printer = printer::Printer::new(args.no_color);
    match run(&args, &mut printer) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&e);
            e.exit_code()
        }
    }
}

/// Runs what the command line asks for.
fn run(args: &cli::Args, printer: &mut printer::Printer) -> Result<ExitCode, error::Error> {
    match &args.path {
        Some(path) => oneshot::run(args, path, printer),
        None => repl::run(args, printer),
    }
}
