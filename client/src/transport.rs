//! Getting a request to a server: resolve and connect with a timeout (and Ctrl-C), TLS
//! for `https`, send the head and body (waiting for `100 Continue` before a large file),
//! read the interim and final heads, and keep idle connections per origin for the next
//! request, reconnecting once when the server closed a kept one meanwhile.

use crate::error::{Error, Kind};
use crate::request::{Body, Request};
use crate::response::{io_failure, read_head, Head, HeadError, Response};
use crate::stream::{is_timeout, Cancel, Conn, Stream, Waiting, Wire};
use crate::target::{Origin, Scheme};
use crate::tls::{Tls, Trust};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most interim (1xx) responses skipped before the final one. Real servers send one or
/// two (100 Continue, 103 Early Hints); a server that streams them forever is refused.
pub(crate) const MAX_INTERIM_RESPONSES: usize = 16;

/// Idle connections kept, one per origin: a redirect chain over a few servers reuses
/// them, and nobody keeps sockets open to servers they stopped talking to.
const MAX_IDLE: usize = 4;

/// How long to wait for `100 Continue` before sending the body anyway (RFC 9110 10.1.1
/// says a client need not wait forever; curl waits one second).
const CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// How the transport connects.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Inactivity timeout for connecting and for every read and write.
    pub timeout: Duration,
    /// Whom to trust over TLS.
    pub trust: Trust,
    /// Ctrl-C flag (the interactive REPL only).
    pub cancel: Option<Cancel>,
}

/// The client's connections, kept alive across requests.
#[derive(Debug)]
pub(crate) struct Transport {
    options: Options,
    tls: Option<Tls>,
    idle: Vec<Conn>,
}

enum Attempt {
    Stale,
    Failed(Error),
}

impl From<HeadError> for Attempt {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::Stale => Attempt::Stale,
            HeadError::Failed(e) => Attempt::Failed(e),
        }
    }
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

impl Transport {
    /// A transport with no connection yet.
    pub fn new(options: Options) -> Transport {
        Transport {
            options,
            tls: None,
            idle: Vec::new(),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Sends `request` (with the jar's `cookie`) and returns once the final head is in.
    pub fn send(&mut self, request: &Request, cookie: Option<&str>) -> Result<Response, Error> {
        let head = request.head(cookie);
        let origin = &request.location.origin;
        let started = Instant::now();
        if let Some(cancel) = &self.options.cancel {
            cancel.store(false, Ordering::SeqCst);
        }
        let (conn, reused) = match self.take_idle(origin) {
            Some(conn) => (conn, true),
            None => (self.connect(origin)?, false),
        };
        match self.attempt(conn, request, &head) {
            Ok((conn, interim, final_head, spoiled)) => {
                Ok(Response::new(conn, &request.method, interim, final_head, reused, started, spoiled))
            }
            Err(Attempt::Stale) if reused && idempotent(&request.method) => {
                // The server closed the idle connection as we used it: retry once.
                let conn = self.connect(origin)?;
                match self.attempt(conn, request, &head) {
                    Ok((conn, interim, final_head, spoiled)) => {
                        Ok(Response::new(conn, &request.method, interim, final_head, false, started, spoiled))
                    }
                    Err(Attempt::Stale) => Err(closed_without_reply(origin)),
                    Err(Attempt::Failed(e)) => Err(e),
                }
            }
            Err(Attempt::Stale) if reused => Err(Error::other(format!(
                "{origin} closed the kept connection without answering; a {} is not retried automatically \
                 because it may have been applied; send it again if it was not",
                request.method
            ))),
            Err(Attempt::Stale) => Err(closed_without_reply(origin)),
            Err(Attempt::Failed(e)) => Err(e),
        }
    }

    /// Keeps a connection for the next request to its origin.
    pub fn keep(&mut self, conn: Conn) {
        self.idle.retain(|c| c.origin != conn.origin);
        if self.idle.len() >= MAX_IDLE {
            self.idle.remove(0);
        }
        self.idle.push(conn);
    }

    /// A kept connection to `origin` that still looks usable: not closed by the server
    /// and with no unsolicited bytes waiting.
    fn take_idle(&mut self, origin: &Origin) -> Option<Conn> {
        let i = self.idle.iter().position(|c| &c.origin == origin)?;
        let mut conn = self.idle.remove(i);
        (conn.buf.is_empty() && conn.stream.waiting() == Waiting::Nothing).then_some(conn)
    }

    /// Writes the request and reads the final head: the body goes right after the head,
    /// or after `100 Continue` (or a second of silence) for a large file. A final
    /// answer before the body leaves the connection spoiled (the body is still owed).
    fn attempt(
        &mut self,
        mut conn: Conn,
        request: &Request,
        head: &[u8],
    ) -> Result<(Conn, Vec<Head>, Head, bool), Attempt> {
        if let Err(e) = conn
            .stream
            .write_all(head)
            .and_then(|()| conn.stream.flush())
        {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => Attempt::Stale,
                _ => Attempt::Failed(write_failure(&mut conn, e)),
            });
        }
        let mut interim = Vec::new();
        if request.body != Body::Empty {
            if request.expects_continue() {
                let timeout = conn.stream.wire().timeout();
                conn.stream.wire().set_timeout(CONTINUE_WAIT.min(timeout));
                let early = read_head(&mut conn, &request.method);
                conn.stream.wire().set_timeout(timeout);
                match early {
                    Ok(h) if h.status >= 200 => return Ok((conn, interim, h, true)),
                    Ok(h) => interim.push(h),
                    Err(HeadError::Failed(e)) if e.kind == Kind::Timeout => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if let Err(e) = send_body(&mut conn, &request.body) {
                // A server may answer (413, 401) and close while we upload: show that.
                return match read_head(&mut conn, &request.method) {
                    Ok(h) if h.status >= 200 => Ok((conn, interim, h, true)),
                    _ => Err(Attempt::Failed(e)),
                };
            }
        }
        loop {
            let head = read_head(&mut conn, &request.method)?;
            // 1xx other than 101 are interim: the final response follows (RFC 9110 15.2).
            if (100..200).contains(&head.status) && head.status != 101 {
                if interim.len() >= MAX_INTERIM_RESPONSES {
                    return Err(Attempt::Failed(Error::other(format!(
                        "{} sent more than {MAX_INTERIM_RESPONSES} interim 1xx responses and no final one",
                        conn.origin
                    ))));
                }
                interim.push(head);
                continue;
            }
            return Ok((conn, interim, head, false));
        }
    }

    /// Opens a new connection to `origin`, with TLS for `https`.
    fn connect(&mut self, origin: &Origin) -> Result<Conn, Error> {
        let tcp = self.tcp(origin)?;
        let wire = Wire::new(tcp, self.options.timeout, self.options.cancel.clone());
        let (stream, tls) = match origin.scheme {
            Scheme::Http => (Stream::Plain(wire), None),
            Scheme::Https => {
                if self.tls.is_none() {
                    self.tls = Some(Tls::new(&self.options.trust)?);
                }
                let tls = self
                    .tls
                    .as_ref()
                    .ok_or_else(|| Error::other("TLS is not set up"))?;
                let (stream, info) = tls.connect(wire, origin)?;
                (Stream::Tls(Box::new(stream)), Some(info))
            }
        };
        Ok(Conn {
            origin: origin.clone(),
            stream,
            buf: Vec::new(),
            tls,
        })
    }

    /// Resolves and connects, trying each address in turn; in the REPL this runs on a
    /// helper thread so Ctrl-C can abandon a slow connect.
    fn tcp(&self, origin: &Origin) -> Result<TcpStream, Error> {
        let timeout = self.options.timeout;
        let target = origin.clone();
        let Some(cancel) = self.options.cancel.clone() else {
            return connect_any(&target, timeout);
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(connect_any(&target, timeout));
        });
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Timeout) if cancel.load(Ordering::SeqCst) => {
                    return Err(Error::new(
                        Kind::Interrupted,
                        format!("connecting to {origin} interrupted with Ctrl-C"),
                    ))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::other("the connecting thread failed"))
                }
            }
        }
    }
}

/// Resolves `origin` and connects to the first address that answers.
fn connect_any(origin: &Origin, timeout: Duration) -> Result<TcpStream, Error> {
    let addrs: Vec<SocketAddr> = (origin.host.as_str(), origin.port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::other(format!(
                "cannot resolve host '{}': {e}; check the spelling or try an IP address",
                origin.host
            ))
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => match stream.set_nodelay(true) {
                Ok(()) => return Ok(stream),
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        None => Error::other(format!("host '{}' has no addresses; check the spelling", origin.host)),
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => Error::other(format!(
            "connection refused by {}; is the server running?",
            origin.host_port()
        )),
        Some(e) if is_timeout(&e) => Error::timeout(format!(
            "timed out after {} s connecting to {}; is the host reachable? raise --timeout to wait longer",
            timeout.as_secs_f64(),
            origin.host_port()
        )),
        Some(e) => Error::other(format!("cannot connect to {}: {e}", origin.host_port())),
    })
}

/// Sends the body: bytes as they are, a file streamed (and checked to still have the
/// length announced in `Content-Length`).
fn send_body(conn: &mut Conn, body: &Body) -> Result<(), Error> {
    let result = match body {
        Body::Empty => Ok(()),
        Body::Bytes(bytes) => conn.stream.write_all(bytes),
        Body::File { path, len } => {
            let file = std::fs::File::open(path)
                .map_err(|e| Error::other(format!("cannot read '{}': {e}", path.display())))?;
            let sent = io::copy(&mut file.take(*len), &mut conn.stream);
            match sent {
                Ok(n) if n == *len => Ok(()),
                Ok(n) => {
                    return Err(Error::other(format!(
                    "'{}' shrank while it was sent ({n} of {len} bytes); the request was cut off",
                    path.display()
                )))
                }
                Err(e) => Err(e),
            }
        }
    };
    result
        .and_then(|()| conn.stream.flush())
        .map_err(|e| write_failure(conn, e))
}

fn write_failure(conn: &mut Conn, e: io::Error) -> Error {
    io_failure(conn, e, "sending the request to")
}

/// Methods a client may retry on its own (RFC 9110 9.2.2).
fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
    )
}

fn closed_without_reply(origin: &Origin) -> Error {
    Error::other(format!(
        "{origin} closed the connection without replying; is it an HTTP server{}?",
        match origin.scheme {
            Scheme::Http => format!(" (if it speaks TLS, try https://{}/)", origin.host_port()),
            Scheme::Https => String::new(),
        }
    ))
}
