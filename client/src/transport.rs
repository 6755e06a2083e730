//! The connection to the server: connect with a timeout, send a request, read the reply
//! with any framing while streaming its body to a [`Sink`], and keep the connection for
//! the next request when HTTP allows, reconnecting once if the server closed it meanwhile.
//!
//! Memory stays bounded whatever the server sends: the head is capped by
//! [`shared::limits::MAX_RESPONSE_HEAD`] and the body passes through a fixed buffer. Nothing here prints.

use crate::error::Error;
use crate::request::Server;
use shared::chunked::{Chunk, ChunkedDecoder, ChunkedError};
use shared::framing::BodyFraming;
use shared::request::{Parsed, Version};
use shared::response::{parse_response, ResponseError, EMPTY_RESPONSE_HEADERS};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Bytes read from the socket at a time. 64 KiB matches common socket buffers, so a fast
/// server fills it in one read, and it is all the body memory a request ever holds.
const READ_CHUNK: usize = 64 * 1024;

/// Most interim (1xx) responses skipped before the final one. Real servers send one or
/// two (100 Continue, 103 Early Hints); a server that streams them forever is refused.
const MAX_INTERIM_RESPONSES: usize = 16;

/// Longest piece of a garbage reply quoted in an error line, in bytes.
const MAX_QUOTED: usize = 40;

/// An owned response head, as received.
#[derive(Clone, Debug)]
pub struct Head {
    /// The exact bytes of the head, blank line included.
    pub raw: Vec<u8>,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code, 100-599.
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// Where a response goes as it arrives.
pub trait Sink {
    /// An interim (1xx) response head that came before the final one.
    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        let _ = head;
        Ok(())
    }
    /// The final response head, before any body byte.
    fn head(&mut self, head: &Head) -> Result<(), Error>;
    /// The next piece of the (de-chunked) body.
    fn body(&mut self, bytes: &[u8]) -> Result<(), Error>;
}

/// Something wrong with a response that was still shown: reported, not fatal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The connection closed before `Content-Length` bytes arrived.
    Truncated {
        /// The declared length.
        expected: u64,
        /// What arrived.
        received: u64,
    },
    /// The connection closed before the last chunk of a chunked body.
    MissingLastChunk,
    /// The chunked body broke the chunked syntax; the rest was dropped.
    BadChunked(ChunkedError),
    /// Body bytes arrived on a response that cannot have one (HEAD, 1xx, 204, 304).
    UnexpectedBody {
        /// Why no body was allowed, e.g. `a HEAD response` or `a 304 response`.
        why: String,
    },
    /// Bytes arrived after the end of the response (a lying `Content-Length`?).
    TrailingBytes,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Truncated { expected, received } => write!(
                f,
                "body truncated: Content-Length said {expected} bytes but the connection closed after {received}"
            ),
            Warning::MissingLastChunk => {
                f.write_str("body truncated: the connection closed before the last chunk")
            }
            Warning::BadChunked(e) => write!(f, "body cut short: {}", e.describe()),
            Warning::UnexpectedBody { why } => {
                write!(f, "the server sent a body on {why}, which cannot have one; ignored")
            }
            Warning::TrailingBytes => {
                f.write_str("the server sent bytes after the end of the response; ignored")
            }
        }
    }
}

/// What one request brought back, besides what went to the sink.
#[derive(Debug)]
pub struct Exchange {
    /// The final response head.
    pub head: Head,
    /// Body bytes delivered to the sink.
    pub body_len: u64,
    /// Whether the request went over a connection kept from an earlier request.
    pub reused: bool,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
    /// What was wrong with the response.
    pub warnings: Vec<Warning>,
}

/// One open connection and the bytes read from it but not yet used.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Why a request on a kept connection failed before any reply byte: the server had
/// closed it while idle, so one retry on a new connection is safe.
enum Attempt {
    Stale,
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

/// A client's connection to one server, kept alive across requests.
#[derive(Debug)]
pub struct Transport {
    server: Server,
    timeout: Duration,
    conn: Option<Conn>,
}

impl Transport {
    /// A transport to `server`; it connects on the first request.
    pub fn new(server: Server, timeout: Duration) -> Self {
        Self {
            server,
            timeout,
            conn: None,
        }
    }

    /// The server requests go to.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Sends `request` (a complete head for `method`) and streams the reply to `sink`.
    pub fn request(
        &mut self,
        method: &str,
        request: &[u8],
        sink: &mut dyn Sink,
    ) -> Result<Exchange, Error> {
        let start = Instant::now();
        let (mut conn, mut reused) = match self.conn.take().filter(still_open) {
            Some(conn) => (conn, true),
            None => (self.connect()?, false),
        };
        let (interim, head) = match self.send(&mut conn, method, request) {
            Ok(heads) => heads,
            Err(Attempt::Stale) if reused => {
                // The server closed the idle connection as we used it: retry once.
                conn = self.connect()?;
                reused = false;
                self.send(&mut conn, method, request).map_err(|a| match a {
                    Attempt::Stale => self.closed_without_reply(),
                    Attempt::Failed(e) => e,
                })?
            }
            Err(Attempt::Stale) => return Err(self.closed_without_reply()),
            Err(Attempt::Failed(e)) => return Err(e),
        };
        for early in &interim {
            sink.interim(early)?;
        }
        sink.head(&head)?;
        let mut warnings = Vec::new();
        let body_len = self.read_body(&mut conn, &head, sink, &mut warnings)?;
        let forbidden = body_forbidden(method, head.status);
        let mut reusable =
            head.keep_alive && head.framing != BodyFraming::UntilClose && warnings.is_empty();
        if (reusable || forbidden) && has_more_bytes(&mut conn) {
            reusable = false;
            warnings.push(if forbidden {
                Warning::UnexpectedBody {
                    why: why_no_body(method, head.status),
                }
            } else {
                Warning::TrailingBytes
            });
        }
        if reusable {
            self.conn = Some(conn);
        }
        Ok(Exchange {
            head,
            body_len,
            reused,
            elapsed: start.elapsed(),
            warnings,
        })
    }

    /// Opens a new connection, trying each resolved address in turn.
    fn connect(&self) -> Result<Conn, Error> {
        let server = &self.server;
        let addrs = (server.host.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| {
                Error::other(format!(
                    "cannot resolve host '{}': {e}; check the spelling or try an IP address",
                    server.host
                ))
            })?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_read_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
                        .and_then(|()| stream.set_nodelay(true));
                    if let Err(e) = setup {
                        last = Some(e);
                        continue;
                    }
                    return Ok(Conn {
                        stream,
                        buf: Vec::new(),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            None => Error::other(format!(
                "host '{}' has no addresses; check the spelling",
                server.host
            )),
            Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => Error::other(format!(
                "connection refused by {server}; is the server running?"
            )),
            Some(e) if is_timeout(&e) => Error::timeout(format!(
                "timed out after {} connecting to {server}; is the host reachable? raise --timeout to wait longer",
                secs(self.timeout)
            )),
            Some(e) => Error::other(format!("cannot connect to {server}: {e}")),
        })
    }

    /// Writes the request and reads the final response head.
    fn send(
        &self,
        conn: &mut Conn,
        method: &str,
        request: &[u8],
    ) -> Result<(Vec<Head>, Head), Attempt> {
        if let Err(e) = conn
            .stream
            .write_all(request)
            .and_then(|()| conn.stream.flush())
        {
            return Err(match e.kind() {
                _ if is_timeout(&e) => Attempt::Failed(self.timed_out("sending the request to")),
                io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => Attempt::Stale,
                _ => Attempt::Failed(Error::other(format!(
                    "cannot send the request to {}: {e}",
                    self.server
                ))),
            });
        }
        let mut interim = Vec::new();
        loop {
            let head = self.read_head(conn, method)?;
            // 1xx other than 101 are interim: the final response follows (RFC 9110 15.2).
            if (100..200).contains(&head.status) && head.status != 101 {
                if interim.len() >= MAX_INTERIM_RESPONSES {
                    return Err(Attempt::Failed(Error::other(format!(
                        "{} sent more than {MAX_INTERIM_RESPONSES} interim 1xx responses and no final one",
                        self.server
                    ))));
                }
                interim.push(head);
                continue;
            }
            return Ok((interim, head));
        }
    }

    /// Reads one response head, growing the buffer up to [`shared::limits::MAX_RESPONSE_HEAD`].
    fn read_head(&self, conn: &mut Conn, method: &str) -> Result<Head, Attempt> {
        let mut chunk = [0u8; 4096];
        loop {
            let mut fields = EMPTY_RESPONSE_HEADERS;
            match parse_response(&conn.buf, &mut fields) {
                Ok(Parsed::Complete(r)) => {
                    let framing = r
                        .framing(method)
                        .map_err(|e| self.bad_reply(e, &conn.buf))?;
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
                Ok(Parsed::Partial) => {}
                Err(e) => return Err(Attempt::Failed(self.bad_reply(e, &conn.buf))),
            }
            match conn.stream.read(&mut chunk) {
                Ok(0) if conn.buf.is_empty() => return Err(Attempt::Stale),
                Ok(0) => {
                    return Err(Attempt::Failed(Error::other(format!(
                    "{} closed the connection in the middle of the response head, after {} bytes",
                    self.server,
                    conn.buf.len()
                ))))
                }
                Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    return Err(Attempt::Failed(
                        self.timed_out("waiting for a response from"),
                    ))
                }
                Err(e)
                    if conn.buf.is_empty()
                        && matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                        ) =>
                {
                    return Err(Attempt::Stale)
                }
                Err(e) => {
                    return Err(Attempt::Failed(Error::other(format!(
                        "reading the response from {} failed: {e}",
                        self.server
                    ))))
                }
            }
        }
    }

    /// Streams the body to `sink` according to its framing; returns the bytes delivered.
    fn read_body(
        &self,
        conn: &mut Conn,
        head: &Head,
        sink: &mut dyn Sink,
        warnings: &mut Vec<Warning>,
    ) -> Result<u64, Error> {
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut delivered = 0u64;
        match head.framing {
            BodyFraming::Length(expected) => {
                while delivered < expected {
                    if conn.buf.is_empty() {
                        let n = self.read_some(conn, &mut chunk, delivered)?;
                        if n == 0 {
                            warnings.push(Warning::Truncated {
                                expected,
                                received: delivered,
                            });
                            break;
                        }
                        conn.buf.extend_from_slice(&chunk[..n]);
                    }
                    let take = usize::try_from(expected - delivered)
                        .unwrap_or(usize::MAX)
                        .min(conn.buf.len());
                    sink.body(&conn.buf[..take])?;
                    conn.buf.drain(..take);
                    delivered += take as u64;
                }
            }
            BodyFraming::UntilClose => {
                if !conn.buf.is_empty() {
                    sink.body(&conn.buf)?;
                    delivered += conn.buf.len() as u64;
                    conn.buf.clear();
                }
                loop {
                    let n = self.read_some(conn, &mut chunk, delivered)?;
                    if n == 0 {
                        break;
                    }
                    sink.body(&chunk[..n])?;
                    delivered += n as u64;
                }
            }
            BodyFraming::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                'body: loop {
                    if conn.buf.is_empty() {
                        let n = self.read_some(conn, &mut chunk, delivered)?;
                        if n == 0 {
                            warnings.push(Warning::MissingLastChunk);
                            break;
                        }
                        conn.buf.extend_from_slice(&chunk[..n]);
                    }
                    let mut pos = 0;
                    while pos < conn.buf.len() {
                        match decoder.decode(&conn.buf[pos..]) {
                            Ok((used, Chunk::Data(range))) => {
                                sink.body(&conn.buf[pos + range.start..pos + range.end])?;
                                delivered += range.len() as u64;
                                pos += used;
                            }
                            Ok((used, Chunk::NeedMore)) => pos += used,
                            Ok((used, Chunk::Done)) => {
                                conn.buf.drain(..pos + used);
                                break 'body;
                            }
                            Err(e) => {
                                warnings.push(Warning::BadChunked(e));
                                conn.buf.clear();
                                break 'body;
                            }
                        }
                    }
                    conn.buf.clear();
                }
            }
        }
        Ok(delivered)
    }

    /// One read of body bytes; 0 means the server closed the connection.
    fn read_some(&self, conn: &mut Conn, chunk: &mut [u8], so_far: u64) -> Result<usize, Error> {
        loop {
            match conn.stream.read(chunk) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    return Err(self.timed_out(&format!(
                        "waiting for the rest of the body (after {so_far} bytes) from"
                    )))
                }
                // A reset after some body is the same as a close for our purposes.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(0),
                Err(e) => {
                    return Err(Error::other(format!(
                        "reading the body from {} failed after {so_far} bytes: {e}",
                        self.server
                    )))
                }
            }
        }
    }

    /// A timeout while `doing` (a phrase ending in "to" or "from") with the server.
    fn timed_out(&self, doing: &str) -> Error {
        Error::timeout(format!(
            "timed out after {} {doing} {}; raise --timeout to wait longer",
            secs(self.timeout),
            self.server
        ))
    }

    fn closed_without_reply(&self) -> Error {
        Error::other(format!(
            "{} closed the connection without replying; is it an HTTP server?",
            self.server
        ))
    }

    fn bad_reply(&self, e: ResponseError, buf: &[u8]) -> Error {
        let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
        let quoted = &buf[..line_end.min(MAX_QUOTED)];
        let more = if line_end > MAX_QUOTED { "..." } else { "" };
        Error::other(format!(
            "bad reply from {}: {} (starts \"{}{more}\"); is it an HTTP/1.x server on that port?",
            self.server,
            e.describe(),
            quoted.escape_ascii()
        ))
    }
}

/// Whether a kept connection still looks usable: not closed by the server and with no
/// unsolicited bytes waiting.
fn still_open(conn: &Conn) -> bool {
    if !conn.buf.is_empty() {
        return false;
    }
    let mut probe = [0u8; 1];
    if conn.stream.set_nonblocking(true).is_err() {
        return false;
    }
    let open =
        matches!(conn.stream.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    conn.stream.set_nonblocking(false).is_ok() && open
}

/// Whether bytes beyond the response are already waiting (or buffered).
fn has_more_bytes(conn: &mut Conn) -> bool {
    if !conn.buf.is_empty() {
        return true;
    }
    let mut probe = [0u8; 1];
    if conn.stream.set_nonblocking(true).is_err() {
        return true;
    }
    let more = matches!(conn.stream.peek(&mut probe), Ok(n) if n > 0);
    conn.stream.set_nonblocking(false).is_err() || more
}

/// Whether a response to `method` with `status` can never carry a body.
fn body_forbidden(method: &str, status: u16) -> bool {
    method.eq_ignore_ascii_case("HEAD") || shared::StatusCode(status).forbids_body()
}

fn why_no_body(method: &str, status: u16) -> String {
    if method.eq_ignore_ascii_case("HEAD") {
        "a HEAD response".to_string()
    } else {
        format!("a {status} response")
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A duration for messages: `5 s`, `0.5 s`.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
