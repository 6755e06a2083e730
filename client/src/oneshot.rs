//! One request and exit: `client HOST PORT PATH`, like curl.

use crate::cli::Args;
use crate::error::{exit, Error};
use crate::printer::{create_file, Parts, Printer};
use crate::request::{self, Server};
use crate::transport::Transport;
use std::process::ExitCode;

/// Fetches `path` once, shows it, and returns the exit code for its status: 1 if the
/// response had something wrong with it (truncated body, body on HEAD or 304).
pub fn run(args: &Args, path: &str, printer: &mut Printer) -> Result<ExitCode, Error> {
    let server = Server::new(&args.host, args.port);
    let method = if args.head { "HEAD" } else { "GET" };
    let head = request::head(method, &request::target(path), &server);
    if args.verbose {
        printer.request(&head)?;
    }
    let file = match &args.output {
        Some(path) => Some((create_file(path)?, path.clone())),
        None => None,
    };
    let parts = Parts {
        head: !args.body_only,
        body: !args.headers_only,
    };
    let mut transport = Transport::new(server, args.timeout());
    let mut view = printer.view(parts, file);
    let exchange = transport.request(method, &head, &mut view)?;
    view.finish(&exchange.head)?;
    printer.footer(&exchange)?;
    for warning in &exchange.warnings {
        printer.warning(&warning.to_string());
    }
    if !exchange.warnings.is_empty() {
        return Ok(ExitCode::from(exit::FAILURE));
    }
    Ok(ExitCode::from(exit::for_status(exchange.head.status)))
}
