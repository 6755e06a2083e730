//! The `client` binary: parse the command line, run one request or the REPL, and turn
//! any failure into one `client: error: ...` line and an exit code.

// Nothing a server sends may panic the client: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod auth;
mod cacert;
mod cli;
mod command;
mod complete;
mod conn;
mod cookies;
mod curl;
mod decode;
mod download;
mod error;
mod fetch;
mod items;
mod json;
mod oneshot;
mod printer;
mod redirect;
mod repl;
mod request;
mod response;
mod session;
mod stream;
mod target;
mod terminal;
mod tls;
mod tls_refusal;
mod transport;
mod usage;
mod view;
mod warning;
mod x509;

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
                ExitCode::from(cli::USAGE_EXIT)
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
    match args.plan().map_err(error::Error::other)? {
        cli::Plan::Once {
            location,
            user,
            items,
        } => oneshot::run(args, location, user, &items, printer),
        cli::Plan::Repl(origin) => repl::run(args, origin, printer),
    }
}
