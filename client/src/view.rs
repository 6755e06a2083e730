//! Showing a response as it arrives: heads through the printer, bodies as exact bytes
//! when piped, or on a terminal as escaped text, a notice for binary, and JSON indented
//! and coloured (`--pretty`).

use crate::error::Error;
use crate::fetch::Sink;
use crate::json;
use crate::printer::{Printer, DIM};
use crate::response::Head;
use crate::terminal::{escape_into, held_back};

/// How much of the first body bytes is sniffed to decide text or binary. 8 KiB is what
/// git and file(1) look at; a NUL or broken UTF-8 there means the body is not for a terminal.
const SNIFF_LEN: usize = 8 * 1024;

/// Largest JSON body held to be re-indented; a longer one is shown as it comes.
pub(crate) const MAX_PRETTY_BODY: usize = 8 * 1024 * 1024;

/// `--pretty`: whether JSON is re-indented and whether it is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pretty {
    /// Re-indent.
    pub format: bool,
    /// Colour.
    pub colors: bool,
    /// `--pretty` was given: colour even when stdout is not a terminal (HTTPie's rule).
    pub forced: bool,
}

/// Which parts of a response to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parts {
    /// The status line and headers.
    pub head: bool,
    /// The body.
    pub body: bool,
}

/// Where the view is used, so its notices name the right next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// `client URL`: the user can pipe or use `-o`.
    OneShot,
    /// The REPL: the user can `save`.
    Repl,
}

/// How a body on a terminal is being shown so far.
#[derive(Debug, Default)]
struct TextState {
    seen: u64,
    binary: bool,
    /// An incomplete UTF-8 sequence or a CR held back from the previous piece.
    carry: Vec<u8>,
    at_line_start: bool,
    /// The response declares a single-byte Latin charset (`iso-8859-1`, `latin1`,
    /// `windows-1252`, `us-ascii`): each byte is its own character, never broken UTF-8.
    latin1: bool,
}

/// A [`Sink`] that shows a response.
#[derive(Debug)]
pub(crate) struct View<'p> {
    printer: &'p mut Printer,
    parts: Parts,
    pretty: Pretty,
    place: Place,
    text: TextState,
    /// A JSON body being collected to re-indent.
    json: Option<Vec<u8>>,
}

impl<'p> View<'p> {
    /// A view showing `parts` with `pretty` JSON.
    pub fn new(printer: &'p mut Printer, parts: Parts, pretty: Pretty, place: Place) -> View<'p> {
        View {
            printer,
            parts,
            pretty,
            place,
            text: TextState::default(),
            json: None,
        }
    }

    /// Where the view is used.
    pub fn place(&self) -> Place {
        self.place
    }

    /// Shows only the head (when heads are shown): the body goes elsewhere.
    pub fn head_only(&mut self, head: &Head) -> Result<(), Error> {
        if self.parts.head {
            self.printer.head(head)?;
        }
        Ok(())
    }

    fn show(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.printer.terminal() {
            self.terminal_body(bytes)
        } else {
            if let Some(&last) = bytes.last() {
                self.text.seen += bytes.len() as u64;
                self.text.at_line_start = last == b'\n';
            }
            self.printer.write(bytes)
        }
    }

    fn terminal_body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let color = self.printer.color();
        let first = self.text.seen == 0;
        self.text.seen += bytes.len() as u64;
        if first && !bytes.is_empty() {
            let sniff = &bytes[..bytes.len().min(SNIFF_LEN)];
            let broken = !self.text.latin1
                && match std::str::from_utf8(sniff) {
                    Ok(_) => false,
                    Err(e) => e.error_len().is_some(),
                };
            if sniff.contains(&0) || broken {
                self.text.binary = true;
                let hint = match self.place {
                    Place::OneShot => {
                        "[binary body not shown on a terminal; use -o FILE, or pipe it]"
                    }
                    Place::Repl => {
                        "[binary body not shown on a terminal; write it to a file with `save FILE`]"
                    }
                };
                let notice = self.printer.paint(DIM, hint);
                return self.printer.write(format!("{notice}\n").as_bytes());
            }
        }
        if self.text.binary {
            return Ok(());
        }
        // Latin-1 is the first 256 code points: each byte decodes to one of them.
        let decoded: String;
        let bytes = if self.text.latin1 {
            decoded = bytes.iter().map(|&b| char::from(b)).collect();
            decoded.as_bytes()
        } else {
            bytes
        };
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
    fn printer(&mut self) -> &mut Printer {
        self.printer
    }

    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        if self.parts.head {
            self.printer.head(head)?;
        }
        Ok(())
    }

    fn head(&mut self, head: &Head) -> Result<(), Error> {
        self.text.latin1 = head.header("content-type").is_some_and(declares_latin1);
        let pretty = self.pretty.format || self.pretty.colors;
        if self.parts.body && pretty && head.header("content-type").is_some_and(json::is_json_type)
        {
            self.json = Some(Vec::new());
        }
        if self.parts.head {
            self.printer.head(head)?;
        }
        Ok(())
    }

    fn body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if !self.parts.body {
            return Ok(());
        }
        if let Some(held) = &mut self.json {
            if held.len() + bytes.len() <= MAX_PRETTY_BODY {
                held.extend_from_slice(bytes);
                return Ok(());
            }
            // Too long to re-indent: show it as it comes.
            let held = self.json.take().unwrap_or_default();
            self.show(&held)?;
        }
        self.show(bytes)
    }

    /// Ends the body: shows a held JSON body, flushes held-back bytes and makes sure the
    /// footer starts a line.
    fn finish(&mut self, _complete: bool) -> Result<(), Error> {
        if let Some(held) = self.json.take() {
            let terminal = self.printer.terminal();
            let colors = self.pretty.colors && (self.printer.color() || self.pretty.forced);
            match json::render(&held, self.pretty.format, colors, terminal) {
                Some(text) => {
                    self.text.seen += held.len() as u64;
                    self.text.at_line_start = text.ends_with('\n');
                    self.printer.write(text.as_bytes())?;
                }
                None => self.show(&held)?,
            }
        }
        if !self.parts.body || self.text.binary {
            return Ok(());
        }
        if !self.printer.terminal() {
            // A piped REPL's transcript: the next entry starts a line of its own. (A
            // one-shot's stdout keeps exactly the bytes that came.)
            if self.place == Place::Repl && self.text.seen > 0 && !self.text.at_line_start {
                self.printer.write(b"\n")?;
            }
            return Ok(());
        }
        let mut out = String::new();
        let carry = std::mem::take(&mut self.text.carry);
        escape_into(&mut out, &carry, self.printer.color());
        if let Some(last) = out.chars().last() {
            self.text.at_line_start = last == '\n';
        }
        if self.text.seen > 0 && !self.text.at_line_start {
            out.push('\n');
        }
        self.printer.write(out.as_bytes())
    }
}

/// Whether a `Content-Type` declares a charset whose bytes are each one character of
/// Latin-1 (ISO-8859-1 itself, its aliases, US-ASCII, and windows-1252, whose 0x80-0x9F
/// then show escaped).
fn declares_latin1(content_type: &[u8]) -> bool {
    let text = String::from_utf8_lossy(content_type).to_ascii_lowercase();
    text.split(';').skip(1).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        let value = value.trim().trim_matches('"');
        name.trim() == "charset"
            && matches!(
                value,
                "iso-8859-1"
                    | "iso8859-1"
                    | "latin1"
                    | "l1"
                    | "iso_8859-1"
                    | "windows-1252"
                    | "cp1252"
                    | "us-ascii"
                    | "ascii"
            )
    })
}

#[cfg(test)]
#[test]
fn latin1_charsets_are_recognised() {
    assert!(declares_latin1(b"text/plain; charset=iso-8859-1"));
    assert!(declares_latin1(b"text/html;charset=\"ISO-8859-1\""));
    assert!(declares_latin1(
        b"text/plain; format=flowed; charset=windows-1252"
    ));
    assert!(!declares_latin1(b"text/plain; charset=utf-8"));
    assert!(!declares_latin1(b"text/plain"));
    assert!(!declares_latin1(b"text/x-latin1"));
}
