//! Every byte the client shows goes through here (bodies through [`crate::view`], which
//! writes with this printer). It knows whether stdout and stderr are terminals: there it
//! colours (unless `NO_COLOR` or `--no-color`), escapes control characters and adds a
//! footer; piped, it writes the exact bytes received and nothing else.

use crate::error::{Error, Kind};
use crate::fetch::Outcome;
use crate::response::{Exchange, Head};
use crate::terminal::{escape_into, escape_line, paint};
use crate::tls::TlsInfo;
use anstyle::{AnsiColor, Style};
use shared::wire::message::BodyFraming;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

const STATUS_INFO: Style = AnsiColor::Blue.on_default().bold();
const STATUS_OK: Style = AnsiColor::Green.on_default().bold();
const STATUS_REDIRECT: Style = AnsiColor::Cyan.on_default().bold();
const STATUS_CLIENT_ERROR: Style = AnsiColor::Yellow.on_default().bold();
const STATUS_SERVER_ERROR: Style = AnsiColor::Red.on_default().bold();
const FIELD_NAME: Style = AnsiColor::Cyan.on_default();
pub(crate) const DIM: Style = Style::new().dimmed();
const REQUEST: Style = AnsiColor::Magenta.on_default();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// The one place that writes to stdout and stderr.
#[derive(Debug)]
pub(crate) struct Printer {
    terminal: bool,
    color: bool,
    err_terminal: bool,
    err_color: bool,
}

impl Printer {
    /// A printer for this process's stdout and stderr; `no_color` forces colour off.
    pub fn new(no_color: bool) -> Self {
        let terminal = io::stdout().is_terminal();
        let err_terminal = io::stderr().is_terminal();
        let wants = |choice: anstream::ColorChoice| {
            !no_color && !matches!(choice, anstream::ColorChoice::Never)
        };
        Self {
            terminal,
            color: terminal && wants(anstream::AutoStream::choice(&io::stdout())),
            err_terminal,
            err_color: err_terminal && wants(anstream::AutoStream::choice(&io::stderr())),
        }
    }

    /// Whether stdout is a terminal.
    pub fn terminal(&self) -> bool {
        self.terminal
    }

    /// Whether stdout is coloured.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Whether stderr is a terminal (progress bars).
    pub fn err_terminal(&self) -> bool {
        self.err_terminal
    }

    /// Shows a request as sent (`-v`), on stderr as curl does, so stdout keeps only what
    /// came over the wire; `body` is shown when it is short text, else summarised.
    pub fn request(&mut self, head: &[u8], body: Option<&str>) {
        if !self.err_color {
            let mut out = io::stderr().lock();
            let _ = out.write_all(head);
            if let Some(body) = body {
                let _ = writeln!(out, "{body}");
            }
            return;
        }
        let mut text = String::new();
        for line in head.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut escaped = String::new();
            escape_into(&mut escaped, line, false);
            let _ = writeln!(text, "{}", paint(self.err_color, REQUEST, &escaped));
        }
        if let Some(body) = body {
            let _ = writeln!(text, "{}", paint(self.err_color, REQUEST, body));
        }
        let _ = io::stderr().write_all(text.as_bytes());
    }

    /// Writes the exact request (`--offline`) to stdout.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.write(bytes)
    }

    /// Under `-v`: the TLS version, suite, ALPN and the server's certificate.
    pub fn tls(&mut self, info: &TlsInfo) {
        let mut text = format!(
            "* {}, {}, ALPN {}\n",
            info.version,
            info.suite,
            info.alpn.as_deref().unwrap_or("none")
        );
        if let Some(c) = &info.cert {
            let _ = writeln!(
                text,
                "* certificate: subject {}; issuer {}; names {}; expires {}",
                escape_line(c.subject.as_bytes()),
                escape_line(c.issuer.as_bytes()),
                escape_line(c.names_list().as_bytes()),
                c.not_after
            );
        }
        let _ = io::stderr().write_all(paint(self.err_color, DIM, &text).as_bytes());
    }

    /// Under `-v`: one redirect hop, `* 301 Moved Permanently -> http://...`.
    pub fn hop(&mut self, head: &Head, to: &str) {
        let line = format!(
            "* {} {} -> {}",
            head.status,
            escape_line(head.reason.as_bytes()),
            escape_line(to.as_bytes())
        );
        let _ = writeln!(io::stderr(), "{}", paint(self.err_color, DIM, &line));
    }

    /// Shows a response head: exact bytes when piped, coloured and escaped on a terminal.
    pub fn head(&mut self, head: &Head) -> Result<(), Error> {
        if !self.terminal {
            return self.write(&head.raw);
        }
        let mut status = format!("{} {}", head.version.as_str(), head.status);
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

    /// The footer after a response, on a terminal only:
    /// `200 OK · 1.2 KiB (gzip 400 B) · chunked · 3.1 ms · connection reused`.
    pub fn footer(&mut self, ex: &Exchange, decoded: Option<(u64, &str)>) -> Result<(), Error> {
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
        let size = match decoded {
            Some((len, coding)) => {
                format!("{} ({coding} {})", human_size(len), human_size(ex.body_len))
            }
            None => human_size(ex.body_len),
        };
        let connection = if ex.reused {
            "connection reused"
        } else {
            "new connection"
        };
        let line = format!(
            "{status} · {size} · {framing} · {} · {connection}",
            human_duration(ex.elapsed)
        );
        let text = format!("{}\n", self.paint(DIM, &line));
        self.write(text.as_bytes())
    }

    /// The footer and the warnings after a response.
    pub fn outcome(&mut self, outcome: &Outcome) -> Result<(), Error> {
        let decoded = outcome.decoded.as_ref().map(|(n, c)| (*n, c.as_str()));
        self.footer(&outcome.exchange, decoded)?;
        for warning in &outcome.exchange.warnings {
            self.warning(&warning.to_string());
        }
        Ok(())
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

    /// `client: warning: ...` on stderr.
    pub fn warning(&self, message: &str) {
        let label = paint(self.err_color, WARNING, "warning:");
        let _ = writeln!(io::stderr(), "client: {label} {message}");
    }

    /// `client: error: ...` on stderr.
    pub fn error(&self, error: &Error) {
        if error.kind == Kind::OutputClosed {
            return;
        }
        let label = paint(self.err_color, ERROR, "error:");
        let _ = writeln!(io::stderr(), "client: {label} {error}");
    }

    /// Writes bytes to stdout; a closed pipe is [`Kind::OutputClosed`].
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe => Error::new(Kind::OutputClosed, "stdout was closed"),
                _ => Error::other(format!("cannot write to stdout: {e}")),
            })
    }

    /// `text` in `style` when stdout is coloured.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
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

/// A byte count for people: `512 B`, `1.2 KiB`, `3.4 MiB`.
pub(crate) fn human_size(n: u64) -> String {
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
pub(crate) fn human_duration(d: std::time::Duration) -> String {
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
