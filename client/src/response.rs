//! Reading a response off a connection: the head (bounded by
//! [`shared::wire::limits::MAX_RESPONSE_HEAD`]), then the body through the shared
//! [`BodyDecoder`], as a `Read` of de-framed bytes through a fixed buffer, with every way
//! a body can end early recorded as a [`Warning`]. Nothing here prints.

use crate::conn::Conn;
use crate::error::Error;
use crate::stream::is_timeout;
use crate::warning::{Cut, Warning};
use shared::wire::body::{BodyDecoder, BodyError, Decoded};
use shared::wire::message::{self, BodyFraming, Status, Version};
use shared::wire::response::{parse_response, ResponseError, EMPTY_RESPONSE_HEADERS};
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Bytes read from the socket at a time. 64 KiB matches common socket buffers, so a fast
/// server fills it in one read, and it is all the body memory a request ever holds.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Body bytes read and dropped to keep a connection after a response nobody shows (a
/// redirect being followed); a longer body costs a new connection instead.
const MAX_DRAIN: u64 = 1024 * 1024;

/// Longest piece of a garbage reply quoted in an error line, in bytes.
const MAX_QUOTED: usize = 40;

/// An owned response head, as received.
#[derive(Clone, Debug)]
pub(crate) struct Head {
    /// The exact bytes of the head, blank line included.
    pub raw: Vec<u8>,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code, 100-999.
    pub status: u16,
    /// The reason phrase as sent (lossily decoded); may be empty.
    pub reason: String,
    /// The fields in the order and case received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the server allows another request on this connection.
    pub keep_alive: bool,
}

impl Head {
    /// The value of the first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        message::field(&self.headers, name)
    }

    /// The first `name` field as text (lossy), trimmed.
    pub fn header_text(&self, name: &str) -> Option<String> {
        self.header(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
    }

    /// Every value of the fields named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        message::fields_named(&self.headers, name)
    }
}

/// Why reading a head failed.
pub(crate) enum HeadError {
    /// The connection closed or reset before any byte: on a kept connection the server
    /// closed it while idle, so a retry on a new one is safe for idempotent methods.
    Stale,
    /// Anything else.
    Failed(Error),
}

impl From<Error> for HeadError {
    fn from(e: Error) -> Self {
        HeadError::Failed(e)
    }
}

/// Reads one response head to a `method` request, growing the buffer up to the limit.
pub(crate) fn read_head(conn: &mut Conn, method: &str) -> Result<Head, HeadError> {
    let mut chunk = [0u8; 4096];
    loop {
        let mut fields = EMPTY_RESPONSE_HEADERS;
        match parse_response(&conn.buf, &mut fields) {
            Ok(Status::Complete(r)) => {
                let framing = r.framing(method).map_err(|e| bad_reply(conn, e))?;
                let head = Head {
                    raw: conn.buf[..r.head_len].to_vec(),
                    version: r.version,
                    status: r.status.0,
                    reason: String::from_utf8_lossy(r.reason.as_bytes()).into_owned(),
                    headers: r
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), h.value.to_vec()))
                        .collect(),
                    framing,
                    // 101 switches away from HTTP/1.1, which we never asked for.
                    keep_alive: r.keep_alive() && r.status.0 != 101,
                };
                conn.buf.drain(..head.raw.len());
                return Ok(head);
            }
            Ok(Status::Partial) => {}
            Err(e) => return Err(HeadError::Failed(bad_reply(conn, e))),
        }
        match conn.stream.read(&mut chunk) {
            Ok(0) if conn.buf.is_empty() => return Err(HeadError::Stale),
            Ok(0) => {
                return Err(HeadError::Failed(Error::other(format!(
                    "{} closed the connection in the middle of the response head, after {} bytes",
                    conn.origin,
                    conn.buf.len()
                ))))
            }
            Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                let stale = conn.buf.is_empty()
                    && matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::UnexpectedEof
                    );
                if stale {
                    return Err(HeadError::Stale);
                }
                return Err(HeadError::Failed(io_failure(
                    conn,
                    e,
                    "waiting for a response from",
                )));
            }
        }
    }
}

/// Turns a read error into the error line: a timeout, Ctrl-C, or a broken connection.
pub(crate) fn io_failure(conn: &mut Conn, e: io::Error, doing: &str) -> Error {
    let e = match Error::from_io(e) {
        Ok(ours) => return ours,
        Err(e) => e,
    };
    if is_timeout(&e) {
        return Error::timeout(format!(
            "timed out after {} s {doing} {}; raise --timeout to wait longer",
            conn.stream.wire().timeout().as_secs_f64(),
            conn.origin
        ));
    }
    Error::other(format!("{doing} {} failed: {e}", conn.origin))
}

fn bad_reply(conn: &Conn, e: ResponseError) -> Error {
    let buf = &conn.buf;
    // A TLS record (handshake 0x16 or alert 0x15, version 3.x) where a status line
    // should be: the port speaks TLS.
    if matches!(buf[..], [0x15 | 0x16, 0x03, ..]) {
        return Error::new(
            crate::error::Kind::Tls,
            format!(
                "{} answered in TLS; this port speaks TLS, try https://{}/",
                conn.origin,
                conn.origin.host_port()
            ),
        );
    }
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    // A status line that reads as HTTP/1.x: an HTTP server that sent a bad field. Name
    // the line at fault rather than wonder what is on the port.
    if buf.starts_with(b"HTTP/1.") && e != ResponseError::Version {
        if let Some(line) = bad_field_line(&buf[(line_end + 1).min(buf.len())..]) {
            let quoted = &line[..line.len().min(MAX_QUOTED)];
            let more = if line.len() > MAX_QUOTED { "..." } else { "" };
            return Error::other(format!(
                "bad reply from {}: {} in the field line \"{}{more}\"; the server's head \
                 breaks HTTP's syntax (RFC 9110 section 5.5)",
                conn.origin,
                e.describe(),
                quoted.escape_ascii()
            ));
        }
    }
    let quoted = &buf[..line_end.min(MAX_QUOTED)];
    let more = if line_end > MAX_QUOTED { "..." } else { "" };
    Error::other(format!(
        "bad reply from {}: {} (starts \"{}{more}\"); is it an HTTP/1.x server on that port?",
        conn.origin,
        e.describe(),
        quoted.escape_ascii()
    ))
}

/// The first field line of `fields` (the head after its status line) that is not
/// `name: value` with a token name and a value free of control bytes (tab aside), up
/// to the blank line; a line starting with space or tab continues the one before.
fn bad_field_line(fields: &[u8]) -> Option<&[u8]> {
    for line in fields.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue;
        }
        let bad_value = |v: &[u8]| v.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
        match line.iter().position(|&b| b == b':') {
            Some(colon) if colon > 0 => {
                let name = line[..colon].trim_ascii_end();
                let token = name
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token || name.is_empty() || bad_value(&line[colon + 1..]) {
                    return Some(line);
                }
            }
            _ => return Some(line),
        }
    }
    None
}

/// A response whose head has arrived and whose body is read through `Read`.
#[derive(Debug)]
pub(crate) struct Response {
    /// Interim (1xx) heads that came first, in order.
    pub interim: Vec<Head>,
    /// The final head.
    pub head: Head,
    /// Whether the request went over a connection kept from an earlier one.
    pub reused: bool,
    /// The TLS details when this response came over a new TLS connection.
    pub tls: Option<crate::tls::TlsInfo>,
    conn: Conn,
    decoder: BodyDecoder,
    /// The body ended (complete, cut or broken): nothing more is read.
    ended: bool,
    /// De-framed bytes waiting to be read.
    ready: Vec<u8>,
    ready_at: usize,
    chunk: Vec<u8>,
    delivered: u64,
    warnings: Vec<Warning>,
    started: Instant,
    /// Why the connection cannot be kept whatever the response says (we still owe the
    /// server a body it did not wait for).
    spoiled: bool,
    forbids_body: Option<String>,
}

/// What a finished response adds to its head.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The final response head.
    pub head: Head,
    /// Body bytes read (de-framed, before content decoding).
    pub body_len: u64,
    /// Whether the request went over a kept connection.
    pub reused: bool,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
    /// What was wrong with the response.
    pub warnings: Vec<Warning>,
}

impl Response {
    /// A response read from `conn` for a `method` request sent at `started`.
    pub fn new(
        mut conn: Conn,
        method: &str,
        interim: Vec<Head>,
        head: Head,
        reused: bool,
        started: Instant,
        spoiled: bool,
    ) -> Response {
        let decoder = BodyDecoder::response(head.framing);
        let forbids_body = if method.eq_ignore_ascii_case("HEAD") {
            Some("a HEAD response".to_string())
        } else if shared::StatusCode(head.status).forbids_body() {
            Some(format!("a {} response", head.status))
        } else {
            None
        };
        Response {
            interim,
            tls: conn.tls.take(),
            head,
            reused,
            conn,
            ended: decoder.is_done(),
            decoder,
            ready: Vec::new(),
            ready_at: 0,
            chunk: Vec::new(),
            delivered: 0,
            warnings: Vec::new(),
            started,
            spoiled,
            forbids_body,
        }
    }

    /// Whether the whole body has arrived with nothing wrong so far.
    pub fn is_complete(&self) -> bool {
        self.decoder.is_done() && self.warnings.is_empty()
    }

    /// Ends the exchange: drains a short unread body, checks for bytes past the end,
    /// and hands back the connection when it can carry another request.
    pub fn finish(mut self) -> (Exchange, Option<Conn>) {
        let mut sink = [0u8; 8192];
        let mut drained = 0u64;
        while !self.ended && drained < MAX_DRAIN {
            match self.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n as u64,
            }
        }
        let complete = self.decoder.is_done();
        let mut keep = complete
            && !self.spoiled
            && self.head.keep_alive
            && self.head.framing != BodyFraming::UntilClose
            && self.warnings.is_empty();
        if keep || self.forbids_body.is_some() {
            let more = !self.conn.buf.is_empty()
                || self.conn.stream.waiting() == crate::stream::Waiting::Data;
            if more {
                keep = false;
                self.warnings.push(match self.forbids_body.take() {
                    Some(why) => Warning::UnexpectedBody { why },
                    None => Warning::TrailingBytes,
                });
            }
        }
        let exchange = Exchange {
            head: self.head,
            body_len: self.delivered,
            reused: self.reused,
            elapsed: self.started.elapsed(),
            warnings: self.warnings,
        };
        (exchange, keep.then_some(self.conn))
    }

    /// Reads the next de-framed piece into `ready`; false at the end of the body.
    fn fill(&mut self) -> io::Result<bool> {
        self.ready.clear();
        self.ready_at = 0;
        while !self.ended {
            let mut pos = 0;
            while pos < self.conn.buf.len() && !self.decoder.is_done() {
                match self.decoder.decode(&self.conn.buf[pos..]) {
                    Ok((used, Decoded::Data(r))) => {
                        self.ready
                            .extend_from_slice(&self.conn.buf[pos + r.start..pos + r.end]);
                        pos += used;
                    }
                    Ok((used, Decoded::NeedMore | Decoded::Done)) => {
                        pos += used;
                        break;
                    }
                    Err(e) => {
                        self.warnings.push(Warning::BadChunked(e));
                        self.conn.buf.clear();
                        self.spoiled = true;
                        self.ended = true;
                        return Ok(!self.ready.is_empty());
                    }
                }
            }
            self.conn.buf.drain(..pos);
            self.ended = self.decoder.is_done();
            if !self.ready.is_empty() {
                return Ok(true);
            }
            if self.ended {
                break;
            }
            if let Err(cut) = self.read_socket()? {
                self.ended = true;
                match self.decoder.finish() {
                    Ok(()) if cut != Cut::Closed => self.warnings.push(Warning::CloseCut(cut)),
                    Ok(()) => {}
                    Err(BodyError::MissingLastChunk) => {
                        self.warnings.push(Warning::MissingLastChunk(cut))
                    }
                    Err(_) => {
                        let expected = match self.head.framing {
                            BodyFraming::Length(n) => n,
                            _ => 0,
                        };
                        let received = self.decoder.body_len();
                        self.warnings.push(Warning::Truncated {
                            expected,
                            received,
                            cut,
                        });
                    }
                }
            }
        }
        Ok(false)
    }

    /// Reads more bytes into the connection buffer: `Ok(Err(cut))` when the connection
    /// ended, an error for a timeout, Ctrl-C or another failure.
    fn read_socket(&mut self) -> io::Result<Result<(), Cut>> {
        if self.chunk.is_empty() {
            self.chunk = vec![0u8; READ_CHUNK];
        }
        match self.conn.stream.read(&mut self.chunk) {
            Ok(0) => Ok(Err(Cut::Closed)),
            Ok(n) => {
                self.conn.buf.extend_from_slice(&self.chunk[..n]);
                Ok(Ok(()))
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(Err(Cut::Reset)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Err(Cut::NoCloseNotify)),
            Err(e) => {
                let doing = format!(
                    "waiting for the rest of the body (after {} bytes) from",
                    self.delivered
                );
                Err(io_failure(&mut self.conn, e, &doing).into_io())
            }
        }
    }
}

impl Read for Response {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.ready_at == self.ready.len() && !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.ready.len() - self.ready_at);
        out[..n].copy_from_slice(&self.ready[self.ready_at..self.ready_at + n]);
        self.ready_at += n;
        self.delivered += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[test]
fn the_bad_field_line_is_found() {
    let bad = |head: &[u8]| bad_field_line(head).map(|l| String::from_utf8_lossy(l).into_owned());
    assert_eq!(
        bad(b"A: 1\r\nX-E: a\x1bb\r\n\r\n").as_deref(),
        Some("X-E: a\x1bb")
    );
    assert_eq!(
        bad(b"A: 1\r\nBad Header Line\r\n\r\n").as_deref(),
        Some("Bad Header Line")
    );
    assert_eq!(bad(b"A: 1\r\nB C: 2\r\n\r\n").as_deref(), Some("B C: 2"));
    assert_eq!(bad(b"A: 1\r\n folded\r\nB: \t2\r\n\r\nbody\x1b"), None);
}
