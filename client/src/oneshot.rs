//! One request and exit: `client URL [ITEM...]` or `client HOST PORT PATH`, like curl
//! and HTTPie. Piped, stdout gets the body alone, byte for byte (`-i` adds the head).

use crate::cli::Args;
use crate::download::{Download, Target};
use crate::error::{exit, Error};
use crate::fetch::{Agent, Settings, Sink as _};
use crate::items::{expand_tilde, HeaderEdit, Items};
use crate::printer::Printer;
use crate::request::{Body, Data, Request, Shape};
use crate::target::{Location, UserInfo};
use crate::transport::Transport;
use crate::view::{Parts, Place, View};
use std::io::Read;
use std::process::ExitCode;

/// Largest body read from standard input for `-d @-` (it is sent with a
/// `Content-Length`, so it is read whole first); bigger data belongs in `@FILE`.
const MAX_STDIN_BODY: u64 = 256 * 1024 * 1024;

/// Sends the one request, shows or saves the response, and returns the exit code for
/// its status: 1 if the response had something wrong with it.
pub(crate) fn run(
    args: &Args,
    location: Location,
    user: UserInfo,
    words: &[String],
    printer: &mut Printer,
) -> Result<ExitCode, Error> {
    let items = Items::parse(words).map_err(Error::other)?;
    let mut headers = args.header_edits().map_err(Error::other)?;
    // `-o -` is standard output, as with curl: the body alone, as it came.
    let target = args
        .output
        .as_ref()
        .filter(|o| !is_stdout(o))
        .map(|o| Target::new(expand_tilde(&o.to_string_lossy()), args.resume));
    if let Some(target) = &target {
        headers.extend(
            target
                .range_fields()
                .into_iter()
                .map(|(n, v)| HeaderEdit::Set(n, v)),
        );
    }
    let shape = Shape {
        method: args
            .method
            .clone()
            .or_else(|| args.head.then(|| "HEAD".to_string())),
        headers,
        items,
        data: args.data.as_deref().map(data),
        form: args.form,
        authorization: args.authorization(&user)?,
    };
    let request = Request::build(location, &shape, read_stdin).map_err(Error::other)?;
    if args.offline {
        return offline(&request, printer);
    }
    let cancel = target
        .is_some()
        .then(crate::stream::install_ctrl_c)
        .flatten();
    let mut agent = Agent::new(Transport::new(args.options(cancel)));
    let settings = Settings {
        follow: args.follow,
        max_redirects: args.max_redirects,
        decode: !args.raw,
        verbose: args.verbose
            || args
                .print
                .as_deref()
                .is_some_and(|p| p.contains(['H', 'B'])),
    };
    let parts = parts(args, printer.terminal());
    let pretty = args.pretty(printer.terminal());
    let mut view = View::new(printer, parts, pretty, Place::OneShot);
    let (outcome, complete_already) = match target {
        Some(target) => {
            let mut download = Download::new(view, target);
            let outcome = agent.fetch(request, settings, &mut download)?;
            let complete = download.was_complete();
            download
                .printer()
                .outcome(&outcome.exchange, outcome.decoded_text())?;
            (outcome, complete)
        }
        None => {
            let outcome = agent.fetch(request, settings, &mut view)?;
            view.printer()
                .outcome(&outcome.exchange, outcome.decoded_text())?;
            (outcome, false)
        }
    };
    if complete_already {
        printer.info("the file is already complete; nothing to download")?;
        return Ok(ExitCode::from(exit::OK));
    }
    if !outcome.exchange.warnings.is_empty() {
        return Ok(ExitCode::from(exit::FAILURE));
    }
    Ok(ExitCode::from(exit::for_status(
        outcome.exchange.head.status,
    )))
}

/// What to show: `--print`, `--headers-only`/`--body-only`, `-I`, `-i`; by default head
/// and body on a terminal and the body alone when piped (HTTPie's rule).
fn parts(args: &Args, terminal: bool) -> Parts {
    if let Some(print) = &args.print {
        return Parts {
            head: print.contains('h'),
            body: print.contains('b'),
        };
    }
    if args.headers_only || args.head {
        return Parts {
            head: true,
            body: false,
        };
    }
    if args.body_only || args.output.as_deref().is_some_and(is_stdout) {
        return Parts {
            head: false,
            body: true,
        };
    }
    Parts {
        head: terminal || args.include,
        body: true,
    }
}

/// Whether `-o` names standard output (`-`).
fn is_stdout(output: &std::path::Path) -> bool {
    output.as_os_str() == "-"
}

/// `-d TEXT`, `-d @FILE`, `-d @-`.
fn data(text: &str) -> Data {
    match text.strip_prefix('@') {
        Some("-") => Data::Stdin,
        Some(path) => Data::File(expand_tilde(path)),
        None => Data::Text(text.to_string()),
    }
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the body from stdin: {e}"))?;
    if body.len() as u64 > MAX_STDIN_BODY {
        return Err(format!(
            "more than {} MiB on stdin; save it to a file and send it with -d @FILE",
            MAX_STDIN_BODY >> 20
        ));
    }
    Ok(body)
}

/// `--offline`: the exact request on stdout, nothing sent.
fn offline(request: &Request, printer: &mut Printer) -> Result<ExitCode, Error> {
    printer.raw(&request.head(None))?;
    match &request.body {
        Body::Empty => {}
        Body::Bytes(b) => printer.raw(b)?,
        Body::File { path, .. } => {
            let mut file = std::fs::File::open(path)
                .map_err(|e| Error::other(format!("cannot read '{}': {e}", path.display())))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => printer.raw(&buf[..n])?,
                    Err(e) => {
                        return Err(Error::other(format!(
                            "cannot read '{}': {e}",
                            path.display()
                        )))
                    }
                }
            }
        }
    }
    Ok(ExitCode::from(exit::OK))
}
