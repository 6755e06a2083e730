//! Every byte the client shows goes through here. The printer knows whether stdout is a
//! terminal: there it colours (unless `NO_COLOR` or `--no-color`), escapes control
//! characters, replaces binary bodies with a notice and adds a footer; piped, it writes
//! the exact bytes received and nothing else.

use crate::error::Error;
use crate::transport::{Exchange, Head, Sink};
use anstyle::{AnsiColor, Style};
use shared::framing::BodyFraming;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// How much of the first body bytes is sniffed to decide text or binary. 8 KiB is what
/// git and file(1) look at; a NUL or broken UTF-8 there means the body is not for a terminal.
const SNIFF_LEN: usize = 8 * 1024;

const STATUS_INFO: Style = AnsiColor::Blue.on_default().bold();
const STATUS_OK: Style = AnsiColor::Green.on_default().bold();
const STATUS_REDIRECT: Style = AnsiColor::Cyan.on_default().bold();
const STATUS_CLIENT_ERROR: Style = AnsiColor::Yellow.on_default().bold();
const STATUS_SERVER_ERROR: Style = AnsiColor::Red.on_default().bold();
const FIELD_NAME: Style = AnsiColor::Cyan.on_default();
const ESCAPED: Style = Style::new().dimmed();
const FOOTER: Style = Style::new().dimmed();
const REQUEST: Style = AnsiColor::Magenta.on_default();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// Which parts of a response to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// The status line and headers.
    pub head: bool,
    /// The body.
    pub body: bool,
}

/// The one place that writes to stdout and stderr.
#[derive(Debug)]
pub struct Printer {
    terminal: bool,
    color: bool,
    err_color: bool,
}

impl Printer {
    /// A printer for this process's stdout; `no_color` forces colour off.
    pub fn new(no_color: bool) -> Self {
        let terminal = io::stdout().is_terminal();
        let wants = |choice: anstream::ColorChoice| {
            !no_color && !matches!(choice, anstream::ColorChoice::Never)
        };
        Self {
            terminal,
            color: terminal && wants(anstream::AutoStream::choice(&io::stdout())),
            err_color: io::stderr().is_terminal()
                && wants(anstream::AutoStream::choice(&io::stderr())),
        }
    }

    /// Shows a request as sent (`-v`), on stderr as curl does, so stdout keeps only what
    /// came over the wire.
    pub fn request(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if !self.err_color {
            let _ = io::stderr().write_all(bytes);
            return Ok(());
        }
        let mut text = String::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut escaped = String::new();
            escape_into(&mut escaped, line, false);
            let _ = writeln!(text, "{}", self.paint(REQUEST, &escaped));
        }
        let _ = io::stderr().write_all(text.as_bytes());
        Ok(())
    }

    /// Shows a response head: exact bytes when piped, coloured and escaped on a terminal.
    pub fn head(&mut self, head: &Head) -> Result<(), Error> {
        if !self.terminal {
            return self.write(&head.raw);
        }
        let version = match head.version {
            shared::request::Version::Http10 => "HTTP/1.0",
            shared::request::Version::Http11 => "HTTP/1.1",
        };
        let mut status = format!("{version} {}", head.status);
        if !head.reason.is_empty() {
            status.push(' ');
            escape_into(&mut status, head.reason.as_bytes(), false);
        }
        let mut text = self.paint(status_style(head.status), &status);
        text.push('\n');
        for (name, value) in &head.headers {
            let mut escaped = String::new();
            escape_into(&mut escaped, value, false);
            let _ = writeln!(text, "{}: {escaped}", self.paint(FIELD_NAME, name));
        }
        text.push('\n');
        self.write(text.as_bytes())
    }

    /// A sink that shows `parts` of the response as it arrives; with `file`, the body goes
    /// there instead of stdout.
    pub fn view(&mut self, parts: Parts, file: Option<(File, PathBuf)>) -> View<'_> {
        View {
            printer: self,
            parts,
            file,
            text: TextState::default(),
        }
    }

    /// The footer after a response, on a terminal only:
    /// `200 OK · 1.2 KiB · chunked · 3.1 ms · connection reused`.
    pub fn footer(&mut self, ex: &Exchange) -> Result<(), Error> {
        if !self.terminal {
            return Ok(());
        }
        let mut status = ex.head.status.to_string();
        if !ex.head.reason.is_empty() {
            status.push(' ');
            escape_into(&mut status, ex.head.reason.as_bytes(), false);
        }
        let framing = match ex.head.framing {
            BodyFraming::Length(0) => "no body",
            BodyFraming::Length(_) => "content-length",
            BodyFraming::Chunked => "chunked",
            BodyFraming::UntilClose => "until close",
        };
        let connection = if ex.reused {
            "connection reused"
        } else {
            "new connection"
        };
        let line = format!(
            "{status} · {} · {framing} · {} · {connection}",
            human_size(ex.body_len),
            human_duration(ex.elapsed)
        );
        let text = format!("{}\n", self.paint(FOOTER, &line));
        self.write(text.as_bytes())
    }

    /// A line of information for the user (REPL help, `saved ...`): stdout on a terminal,
    /// stderr when piped so that stdout keeps only what came over the wire.
    pub fn info(&mut self, text: &str) -> Result<(), Error> {
        if self.terminal {
            self.write(format!("{text}\n").as_bytes())
        } else {
            let _ = writeln!(io::stderr(), "{text}");
            Ok(())
        }
    }

    /// Shows a stored body again (REPL `body`).
    pub fn body(&mut self, head: &Head, body: &[u8]) -> Result<(), Error> {
        let mut view = self.view(
            Parts {
                head: false,
                body: true,
            },
            None,
        );
        view.body(body)?;
        view.finish(head)
    }

    /// `client: warning: ...` on stderr.
    pub fn warning(&self, message: &str) {
        let label = self.paint_err(WARNING, "warning:");
        let _ = writeln!(io::stderr(), "client: {label} {message}");
    }

    /// `client: error: ...` on stderr.
    pub fn error(&self, error: &Error) {
        if error.kind == crate::error::Kind::OutputClosed {
            return;
        }
        let label = self.paint_err(ERROR, "error:");
        let _ = writeln!(io::stderr(), "client: {label} {error}");
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe => Error {
                    kind: crate::error::Kind::OutputClosed,
                    message: "stdout was closed".into(),
                },
                _ => Error::other(format!("cannot write to stdout: {e}")),
            })
    }

    fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
    }

    fn paint_err(&self, style: Style, text: &str) -> String {
        paint(self.err_color, style, text)
    }
}

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

fn status_style(status: u16) -> Style {
    match status {
        100..=199 => STATUS_INFO,
        200..=299 => STATUS_OK,
        300..=399 => STATUS_REDIRECT,
        400..=499 => STATUS_CLIENT_ERROR,
        _ => STATUS_SERVER_ERROR,
    }
}

/// How a body on a terminal is being shown so far.
#[derive(Debug, Default)]
struct TextState {
    /// Bytes seen so far.
    seen: u64,
    /// Decided after the first bytes: the body is binary and is not shown.
    binary: bool,
    /// An incomplete UTF-8 sequence or a CR held back from the previous piece.
    carry: Vec<u8>,
    /// Whether the last character shown was a newline (or nothing was shown).
    at_line_start: bool,
}

/// A [`Sink`] that shows a response as it arrives.
#[derive(Debug)]
pub struct View<'p> {
    printer: &'p mut Printer,
    parts: Parts,
    file: Option<(File, PathBuf)>,
    text: TextState,
}

impl View<'_> {
    /// Ends the body: flushes held-back bytes and makes sure the footer starts a line.
    pub fn finish(&mut self, _head: &Head) -> Result<(), Error> {
        if let Some((file, path)) = &mut self.file {
            return file
                .flush()
                .map_err(|e| Error::other(format!("cannot write '{}': {e}", path.display())));
        }
        if !self.parts.body || !self.printer.terminal || self.text.binary {
            return Ok(());
        }
        let mut out = String::new();
        let carry = std::mem::take(&mut self.text.carry);
        escape_into(&mut out, &carry, self.printer.color);
        if let Some(last) = out.chars().last() {
            self.text.at_line_start = last == '\n';
        }
        if self.text.seen > 0 && !self.text.at_line_start {
            out.push('\n');
        }
        self.printer.write(out.as_bytes())
    }

    fn terminal_body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let color = self.printer.color;
        let first = self.text.seen == 0;
        self.text.seen += bytes.len() as u64;
        if first {
            let sniff = &bytes[..bytes.len().min(SNIFF_LEN)];
            let broken = match std::str::from_utf8(sniff) {
                Ok(_) => false,
                Err(e) => e.error_len().is_some(),
            };
            if sniff.contains(&0) || broken {
                self.text.binary = true;
                let notice = self.printer.paint(
                    FOOTER,
                    "[binary body not shown on a terminal; keep it with `save FILE` or -o FILE]",
                );
                return self.printer.write(format!("{notice}\n").as_bytes());
            }
        }
        if self.text.binary {
            return Ok(());
        }
        let mut joined = std::mem::take(&mut self.text.carry);
        joined.extend_from_slice(bytes);
        let keep = held_back(&joined);
        let (show, rest) = joined.split_at(joined.len() - keep);
        let mut out = String::with_capacity(show.len());
        escape_into(&mut out, show, color);
        self.text.carry = rest.to_vec();
        if let Some(last) = out.chars().last() {
            self.text.at_line_start = last == '\n';
        }
        self.printer.write(out.as_bytes())
    }
}

impl Sink for View<'_> {
    /// Interim responses (`100 Continue`, `103 Early Hints`) came over the wire too, so
    /// they are shown before the final head, as `curl -i` does.
    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        if self.parts.head {
            self.printer.head(head)?;
        }
        Ok(())
    }

    fn head(&mut self, head: &Head) -> Result<(), Error> {
        if self.parts.head {
            self.printer.head(head)?;
        }
        Ok(())
    }

    fn body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Some((file, path)) = &mut self.file {
            return file
                .write_all(bytes)
                .map_err(|e| Error::other(format!("cannot write '{}': {e}", path.display())));
        }
        if !self.parts.body {
            return Ok(());
        }
        if self.printer.terminal {
            self.terminal_body(bytes)
        } else {
            self.printer.write(bytes)
        }
    }
}

/// How many bytes at the end of `bytes` to hold back for the next piece: an incomplete
/// UTF-8 sequence (at most 3 bytes) or a CR that may start a CRLF.
fn held_back(bytes: &[u8]) -> usize {
    if bytes.last() == Some(&b'\r') {
        return 1;
    }
    let tail_start = bytes.len().saturating_sub(3);
    for i in (tail_start..bytes.len()).rev() {
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if bytes.len() - i < need {
            bytes.len() - i
        } else {
            0
        };
    }
    0
}

/// Appends `bytes` for a terminal: UTF-8 text as is, CRLF as a newline, tabs and
/// newlines kept, every other control character and invalid byte escaped (`\x1b`,
/// `\u{85}`), so a server cannot move the cursor, change colours or set the title.
pub fn escape_into(out: &mut String, bytes: &[u8], color: bool) {
    let push_escaped = |out: &mut String, s: &str| {
        out.push_str(&paint(color, ESCAPED, s));
    };
    for piece in bytes.utf8_chunks() {
        let mut chars = piece.valid().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\t' => out.push(c),
                '\r' if chars.peek() == Some(&'\n') => {}
                c if c.is_control() => {
                    let code = u32::from(c);
                    if code < 0x80 {
                        push_escaped(out, &format!("\\x{code:02x}"));
                    } else {
                        push_escaped(out, &format!("\\u{{{code:x}}}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in piece.invalid() {
            push_escaped(out, &format!("\\x{b:02x}"));
        }
    }
}

/// Opens the `-o`/`save` file for writing, with an error line that says what to do.
pub fn create_file(path: &Path) -> Result<File, Error> {
    File::create(path).map_err(|e| {
        Error::other(format!(
            "cannot create '{}': {e}; check the directory exists and is writable",
            path.display()
        ))
    })
}

/// A byte count for people: `512 B`, `1.2 KiB`, `3.4 MiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `3.1 ms`, `1.25 s`.
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut out = String::new();
        escape_into(&mut out, bytes, false);
        out
    }

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain text\n", "plain text\n"),
            (b"tab\there", "tab\there"),
            (b"crlf\r\nline", "crlf\nline"),
            (b"bare\rcr", "bare\\x0dcr"),
            (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            (b"\x1b]0;title\x07", "\\x1b]0;title\\x07"),
            (b"bell\x07 del\x7f", "bell\\x07 del\\x7f"),
            ("caf\u{e9} \u{1F600}".as_bytes(), "caf\u{e9} \u{1F600}"),
            ("c1\u{9b}31m".as_bytes(), "c1\\u{9b}31m"),
            (b"bad \xff\xfe utf8", "bad \\xff\\xfe utf8"),
        ];
        for (input, want) in cases {
            assert_eq!(escaped(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn holds_back_split_sequences() {
        assert_eq!(held_back(b"abc"), 0);
        assert_eq!(held_back(b"abc\r"), 1);
        assert_eq!(held_back(&"\u{e9}".as_bytes()[..1]), 1);
        assert_eq!(held_back(&"\u{1F600}".as_bytes()[..3]), 3);
        assert_eq!(held_back("\u{1F600}".as_bytes()), 0);
        assert_eq!(held_back(b"\xff"), 0);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1229), "1.2 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16384.0 PiB");
        assert_eq!(
            human_duration(std::time::Duration::from_micros(3100)),
            "3.1 ms"
        );
        assert_eq!(
            human_duration(std::time::Duration::from_millis(1250)),
            "1.25 s"
        );
    }
}
