//! The interactive session: a rustyline prompt with history, completion and hints on a
//! terminal, or plain command lines from piped stdin; one kept connection throughout.

use crate::cli::Args;
use crate::command::{self, Command, COMMANDS};
use crate::error::{exit, Error};
use crate::links::KnownPaths;
use crate::printer::{create_file, Parts, Printer};
use crate::request::{self, Server};
use crate::transport::{Head, Sink, Transport};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::borrow::Cow;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Largest body kept for `save`, `body` and link completion. 16 MiB holds any page or
/// image a person looks at in a REPL; bigger downloads belong to `client ... -o FILE`,
/// and an endless body cannot grow the client's memory.
const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;

/// Longest command line read from piped stdin; a longer line is refused, not buffered.
const MAX_COMMAND_LINE: usize = 64 * 1024;

/// History entries kept in the history file.
const MAX_HISTORY: usize = 1000;

/// The last response, for `headers`, `body` and `save`.
#[derive(Debug)]
struct Last {
    head: Head,
    body: Vec<u8>,
    /// The body was longer than [`MAX_KEPT_BODY`] and only its start was kept.
    cut: bool,
}

/// The state of a session, whatever reads its commands.
#[derive(Debug)]
struct Session {
    transport: Transport,
    timeout: std::time::Duration,
    verbose: bool,
    parts: Parts,
    last: Option<Last>,
    known: KnownPaths,
}

/// Runs the REPL until `quit`, Ctrl-D or the end of piped input.
pub fn run(args: &Args, printer: &mut Printer) -> Result<ExitCode, Error> {
    let mut session = Session {
        transport: Transport::new(Server::new(&args.host, args.port), args.timeout()),
        timeout: args.timeout(),
        verbose: args.verbose,
        parts: Parts {
            head: !args.body_only,
            body: !args.headers_only,
        },
        last: None,
        known: KnownPaths::default(),
    };
    if io::stdin().is_terminal() {
        interactive(&mut session, printer, !args.no_color)?;
    } else {
        piped(&mut session, printer);
    }
    Ok(ExitCode::from(exit::OK))
}

/// Reads commands from a pipe: no prompt, no history, errors on stderr.
fn piped(session: &mut Session, printer: &mut Printer) {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    loop {
        let mut line = Vec::new();
        match (&mut input)
            .take(MAX_COMMAND_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => return,
            Ok(_) if line.len() > MAX_COMMAND_LINE => {
                printer.error(&Error::other(format!(
                    "command line longer than {MAX_COMMAND_LINE} bytes; stopping"
                )));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                printer.error(&Error::other(format!(
                    "cannot read commands from stdin: {e}"
                )));
                return;
            }
        }
        let line = String::from_utf8_lossy(&line);
        if !session.execute(&line, printer) {
            return;
        }
    }
}

/// Reads commands at a rustyline prompt on the terminal.
fn interactive(session: &mut Session, printer: &mut Printer, color: bool) -> Result<(), Error> {
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
        session.transport.server()
    ))?;
    loop {
        let prompt = format!("{}> ", session.transport.server());
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            // Ctrl-C clears the line and gives a fresh prompt.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::other(format!("cannot read from the terminal: {e}"))),
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.trim());
            if let Some(path) = &history {
                save_history(&mut editor, path, printer);
            }
        }
        let go_on = session.execute(&line, printer);
        if let Some(helper) = editor.helper_mut() {
            // Completion sees the paths this command brought (at most MAX_KNOWN_PATHS).
            helper.known = session.known.clone();
        }
        if !go_on {
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
pub fn history_path() -> Option<PathBuf> {
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

impl Session {
    /// Runs one command line; returns false when the session should end.
    fn execute(&mut self, line: &str, printer: &mut Printer) -> bool {
        let result = match command::parse(line) {
            Ok(Command::Quit) => return false,
            Ok(Command::Nothing) => Ok(()),
            Ok(Command::Help) => printer.info(&command::help()),
            Ok(Command::Get(path)) => self.fetch("GET", &path, printer),
            Ok(Command::Head(path)) => self.fetch("HEAD", &path, printer),
            Ok(Command::Open(host, port)) => {
                self.transport = Transport::new(Server::new(&host, port), self.timeout);
                self.last = None;
                self.known.clear();
                printer.info(&format!("now talking to {}", self.transport.server()))
            }
            Ok(Command::Headers) => match &self.last {
                Some(last) => printer.head(&last.head),
                None => Err(nothing_yet()),
            },
            Ok(Command::Body) => match &self.last {
                Some(last) if last.cut => Err(too_big_to_keep()),
                Some(last) => printer.body(&last.head, &last.body),
                None => Err(nothing_yet()),
            },
            Ok(Command::Save(path)) => self.save(&path, printer),
            Err(message) => Err(Error::other(message)),
        };
        if let Err(e) = result {
            printer.error(&e);
        }
        true
    }

    /// Sends one request and shows the reply; remembers it and the paths it mentions.
    fn fetch(&mut self, method: &str, typed: &str, printer: &mut Printer) -> Result<(), Error> {
        let target = request::target(typed);
        let server = self.transport.server().clone();
        let head = request::head(method, &target, &server);
        if self.verbose {
            printer.request(&head)?;
        }
        let mut view = printer.view(self.parts, None);
        let mut keep = Keep {
            inner: &mut view,
            body: Vec::new(),
            cut: false,
        };
        let result = self.transport.request(method, &head, &mut keep);
        let (body, cut) = (std::mem::take(&mut keep.body), keep.cut);
        let exchange = result?;
        view.finish(&exchange.head)?;
        printer.footer(&exchange)?;
        for warning in &exchange.warnings {
            printer.warning(&warning.to_string());
        }
        self.known.add(&target);
        if let Some(location) = exchange.head.header("location") {
            self.known
                .add_reference(&target, &String::from_utf8_lossy(location), &server);
        }
        let html = exchange
            .head
            .header("content-type")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(b"text/html"));
        if html {
            self.known.add_links(&target, &body, &server);
        }
        self.last = Some(Last {
            head: exchange.head,
            body,
            cut,
        });
        Ok(())
    }

    /// Writes the last body to `path`.
    fn save(&self, path: &std::path::Path, printer: &mut Printer) -> Result<(), Error> {
        let last = self.last.as_ref().ok_or_else(nothing_yet)?;
        if last.cut {
            return Err(too_big_to_keep());
        }
        let mut file = create_file(path)?;
        file.write_all(&last.body)
            .map_err(|e| Error::other(format!("cannot write '{}': {e}", path.display())))?;
        printer.info(&format!(
            "saved {} bytes to '{}'",
            last.body.len(),
            path.display()
        ))
    }
}

fn nothing_yet() -> Error {
    Error::other("no response yet; fetch something first with `get PATH`")
}

fn too_big_to_keep() -> Error {
    Error::other(format!(
        "the last body was larger than {} MiB and was not kept; download it with `client HOST PORT PATH -o FILE`",
        MAX_KEPT_BODY / (1024 * 1024)
    ))
}

/// A sink that passes a response on and keeps the start of its body.
struct Keep<'a, 'p> {
    inner: &'a mut crate::printer::View<'p>,
    body: Vec<u8>,
    cut: bool,
}

impl Sink for Keep<'_, '_> {
    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        self.inner.interim(head)
    }

    fn head(&mut self, head: &Head) -> Result<(), Error> {
        self.inner.head(head)
    }

    fn body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let room = MAX_KEPT_BODY - self.body.len();
        if bytes.len() > room {
            self.cut = true;
        }
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.inner.body(bytes)
    }
}

/// Completion, hints and colours for the prompt.
struct ReplHelper {
    known: KnownPaths,
    files: FilenameCompleter,
    color: bool,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        let Some((name, arg)) = before.split_once(' ') else {
            // Completing the command name itself.
            let names = COMMANDS
                .iter()
                .filter(|(n, _, _)| n.starts_with(before))
                .map(|(n, args, _)| {
                    pair(if args.is_empty() {
                        n.to_string()
                    } else {
                        format!("{n} ")
                    })
                })
                .collect();
            return Ok((0, names));
        };
        let arg = arg.trim_start();
        let start = pos - arg.len();
        match name {
            "get" | "head" => {
                let typed = if arg.is_empty() || arg.starts_with('/') {
                    arg.to_string()
                } else {
                    format!("/{arg}")
                };
                let found = self
                    .known
                    .starting_with(&typed)
                    .into_iter()
                    .map(pair)
                    .collect();
                Ok((start, found))
            }
            "save" => self.files.complete(line, pos, ctx),
            _ => Ok((start, Vec::new())),
        }
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() || line.is_empty() {
            return None;
        }
        let (name, rest) = match line.split_once(' ') {
            Some((name, rest)) => (name, Some(rest)),
            None => (line, None),
        };
        match rest {
            // Still typing the name: show the rest of the first match and its arguments.
            None => COMMANDS
                .iter()
                .find(|(n, _, _)| n.starts_with(name))
                .map(|(n, args, _)| {
                    let tail = &n[name.len()..];
                    if args.is_empty() {
                        tail.to_string()
                    } else {
                        format!("{tail} {args}")
                    }
                }),
            Some("") => COMMANDS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, args, _)| args.to_string())
                .filter(|a| !a.is_empty()),
            Some(_) => None,
        }
    }
}

impl Highlighter for ReplHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            let style = anstyle::Style::new().dimmed();
            Cow::Owned(format!("{}{hint}{}", style.render(), style.render_reset()))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}
