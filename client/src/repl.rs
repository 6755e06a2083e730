//! The interactive session's loop: a rustyline prompt with history, completion and hints
//! on a terminal (Ctrl-C abandons a request in flight), or plain command lines from
//! piped stdin, run as a script: it stops at an unknown command and exits with the
//! status of its last request.

use crate::cli::Args;
use crate::complete::{KnownPaths, ReplHelper};
use crate::error::{exit, Error};
use crate::fetch::{Agent, Settings};
use crate::printer::Printer;
use crate::session::{Flow, Session, Style};
use crate::target::Origin;
use crate::terminal::is_clean;
use crate::transport::Transport;
use crate::view::Parts;
use rustyline::completion::FilenameCompleter;
use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use std::io::{self, BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

/// Longest command line read from piped stdin; a longer line is refused, not buffered.
const MAX_COMMAND_LINE: usize = 64 * 1024;

/// History entries kept in the history file.
const MAX_HISTORY: usize = 1000;

/// Runs the REPL on `origin` until `quit`, Ctrl-D or the end of piped input.
pub(crate) fn run(args: &Args, origin: Origin, printer: &mut Printer) -> Result<ExitCode, Error> {
    let refused = args.one_shot_only();
    if !refused.is_empty() {
        return Err(Error::other(format!(
            "{} only apply to one request (client URL ...); in the REPL use `head PATH`, `save FILE`, \
             `request METHOD PATH` and request items instead",
            refused.join(", ")
        )));
    }
    let interactive = io::stdin().is_terminal();
    // Ctrl-C abandons the request in flight only at a prompt; a script stops as usual.
    let cancel = if interactive {
        crate::stream::install_ctrl_c()
    } else {
        None
    };
    let agent = Agent::new(Transport::new(args.options(cancel)));
    let style = Style {
        parts: Parts {
            head: !args.body_only,
            body: !args.headers_only,
        },
        pretty: args.pretty(printer.terminal()),
        settings: Settings {
            follow: args.follow,
            max_redirects: args.max_redirects,
            decode: !args.raw,
            verbose: args.verbose,
        },
    };
    let headers = args.header_edits().map_err(Error::other)?;
    let mut session = Session::new(agent, origin, headers, args.authorization(&None)?, style);
    if interactive {
        interactive_loop(&mut session, printer, !args.no_color)?;
    } else if piped(&mut session, printer)? == Flow::Unknown {
        // The error line was shown; a script with a typo fails, as `sh -e` would.
        return Ok(ExitCode::from(exit::FAILURE));
    }
    Ok(ExitCode::from(session.status()))
}

/// Reads commands from a pipe: no prompt, no history, errors on stderr. Returns how the
/// script ended: `Quit` (or the end of input) or `Unknown`.
fn piped(session: &mut Session, printer: &mut Printer) -> Result<Flow, Error> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    loop {
        let mut line = Vec::new();
        match (&mut input)
            .take(MAX_COMMAND_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return Ok(Flow::Quit),
            Ok(_) if line.len() > MAX_COMMAND_LINE => {
                return Err(Error::other(format!(
                    "command line longer than {MAX_COMMAND_LINE} bytes; stopping"
                )));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Error::other(format!(
                    "cannot read commands from stdin: {e}"
                )))
            }
        }
        let line = String::from_utf8_lossy(&line);
        match session.execute(&line, printer) {
            Flow::Continue => {}
            end => return Ok(end),
        }
    }
}

/// Reads commands at a rustyline prompt on the terminal.
fn interactive_loop(
    session: &mut Session,
    printer: &mut Printer,
    color: bool,
) -> Result<(), Error> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)
        .and_then(|c| c.max_history_size(MAX_HISTORY))
        .map_err(|e| Error::other(format!("cannot set up the line editor: {e}")))?
        .completion_type(CompletionType::List)
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)
        .map_err(|e| Error::other(format!("cannot start the line editor: {e}")))?;
    editor.set_helper(Some(ReplHelper {
        known: KnownPaths::default(),
        base: "/".into(),
        files: FilenameCompleter::new(),
        color,
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(path);
    }
    printer.info(&format!(
        "talking to {}; type `help` for commands, Ctrl-D to quit",
        session.origin()
    ))?;
    loop {
        let prompt = format!("{}> ", session.origin());
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            // Ctrl-C clears the line and gives a fresh prompt.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::other(format!("cannot read from the terminal: {e}"))),
        };
        let entry = line.trim();
        if !entry.is_empty() && is_clean(entry) {
            let _ = editor.add_history_entry(entry);
            if let Some(path) = &history {
                save_history(&mut editor, path, printer);
            }
        }
        let flow = session.execute(&line, printer);
        if let Some(helper) = editor.helper_mut() {
            // Completion sees the paths this command brought (at most MAX_KNOWN_PATHS).
            helper.known = session.known().clone();
            helper.base = session.base().to_string();
        }
        if flow == Flow::Quit {
            break;
        }
    }
    Ok(())
}

fn save_history(
    editor: &mut Editor<ReplHelper, DefaultHistory>,
    path: &PathBuf,
    printer: &Printer,
) {
    let made = path.parent().map_or(Ok(()), std::fs::create_dir_all);
    if let Err(e) = made
        .map_err(ReadlineError::Io)
        .and_then(|()| editor.save_history(path))
    {
        printer.warning(&format!("cannot save history to '{}': {e}", path.display()));
    }
}

/// The history file: `$XDG_STATE_HOME/client/history`, else
/// `~/.local/state/client/history`; `None` when neither directory is known.
pub(crate) fn history_path() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let state = std::env::var_os("XDG_STATE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/state"))
        })?;
    Some(state.join("client").join("history"))
}
