//! The byte stream under a connection: a TCP socket whose every read and write gives up
//! after the inactivity timeout or when Ctrl-C is pressed in the REPL, optionally wrapped
//! in TLS. It also remembers the first bytes the server sent, so a TLS handshake that
//! meets a plain-HTTP server can say so.

use crate::error::{Error, Kind};
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a blocked read or write looks at the Ctrl-C flag. A tenth of a second
/// feels immediate to a person and costs nothing measurable.
const CANCEL_TICK: Duration = Duration::from_millis(100);

/// How many of the server's first bytes are kept to recognise what it speaks.
const FIRST_BYTES: usize = 8;

/// Set by the REPL's SIGINT handler; a request in flight checks it and gives up.
pub(crate) type Cancel = Arc<AtomicBool>;

/// Makes SIGINT set a flag instead of ending the process, for Ctrl-C to abandon the
/// request in flight; `None` if the handler cannot be installed.
pub(crate) fn install_ctrl_c() -> Option<Cancel> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag)).ok()?;
    Some(flag)
}

/// A TCP stream with an inactivity timeout and an optional cancel flag.
#[derive(Debug)]
pub(crate) struct Wire {
    tcp: TcpStream,
    timeout: Duration,
    cancel: Option<Cancel>,
    first: Vec<u8>,
}

impl Wire {
    /// Wraps a connected socket.
    pub fn new(tcp: TcpStream, timeout: Duration, cancel: Option<Cancel>) -> Wire {
        Wire {
            tcp,
            timeout,
            cancel,
            first: Vec::new(),
        }
    }

    /// Changes the inactivity timeout (a short wait for `100 Continue`, then back).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The inactivity timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The first bytes the server sent, up to [`FIRST_BYTES`].
    pub fn first_bytes(&self) -> &[u8] {
        &self.first
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// Runs one blocking socket call in slices short enough to notice Ctrl-C, until it
    /// makes progress or the timeout passes.
    fn wait<T>(
        &mut self,
        mut call: impl FnMut(&mut TcpStream) -> io::Result<T>,
        set: fn(&TcpStream, Option<Duration>) -> io::Result<()>,
    ) -> io::Result<T> {
        let start = Instant::now();
        loop {
            // Checked before every call too, so a transfer that never waits still stops.
            if self.cancelled() {
                return Err(interrupted());
            }
            let left = self.timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let slice = if self.cancel.is_some() {
                left.min(CANCEL_TICK)
            } else {
                left
            };
            set(&self.tcp, Some(slice))?;
            match call(&mut self.tcp) {
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    if self.cancelled() {
                        return Err(interrupted());
                    }
                }
                other => return other,
            }
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.wait(|tcp| tcp.read(buf), TcpStream::set_read_timeout)?;
        if self.first.len() < FIRST_BYTES {
            let take = n.min(FIRST_BYTES - self.first.len());
            self.first.extend_from_slice(&buf[..take]);
        }
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wait(|tcp| tcp.write(buf), TcpStream::set_write_timeout)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// The error a cancelled read or write returns: our `Interrupted` error inside.
fn interrupted() -> io::Error {
    Error::new(
        Kind::Interrupted,
        "request interrupted with Ctrl-C; its connection was dropped",
    )
    .into_io()
}

/// Whether an I/O error is a timeout (Linux reports `WouldBlock` for `SO_RCVTIMEO`).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// What is waiting on an idle connection, looked at without blocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Nothing: the connection is idle and open.
    Nothing,
    /// Bytes nobody asked for.
    Data,
    /// The server closed it (or it broke).
    Closed,
}

/// A connection's stream: plain TCP or TLS over it.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Cleartext.
    Plain(Wire),
    /// TLS (boxed: the rustls state is large).
    Tls(Box<StreamOwned<ClientConnection, Wire>>),
}

impl Stream {
    /// The wire underneath.
    pub fn wire(&mut self) -> &mut Wire {
        match self {
            Stream::Plain(w) => w,
            Stream::Tls(t) => &mut t.sock,
        }
    }

    /// Looks, without blocking, at what the server sent since the last response. Over
    /// TLS, records are decrypted first, so a late session ticket is not mistaken for
    /// unsolicited data while a `close_notify` is seen as the close it is.
    pub fn waiting(&mut self) -> Waiting {
        let tcp = match self {
            Stream::Plain(w) => &w.tcp,
            Stream::Tls(t) => &t.sock.tcp,
        };
        if tcp.set_nonblocking(true).is_err() {
            return Waiting::Closed;
        }
        let seen = match self {
            Stream::Plain(w) => {
                let mut probe = [0u8; 1];
                match w.tcp.peek(&mut probe) {
                    Ok(0) => Waiting::Closed,
                    Ok(_) => Waiting::Data,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Waiting::Nothing,
                    Err(_) => Waiting::Closed,
                }
            }
            Stream::Tls(t) => tls_waiting(t),
        };
        let tcp = match self {
            Stream::Plain(w) => &w.tcp,
            Stream::Tls(t) => &t.sock.tcp,
        };
        if tcp.set_nonblocking(false).is_err() {
            return Waiting::Closed;
        }
        seen
    }
}

fn tls_waiting(t: &mut StreamOwned<ClientConnection, Wire>) -> Waiting {
    let mut eof = false;
    loop {
        match t.conn.read_tls(&mut t.sock.tcp) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => return Waiting::Closed,
        }
    }
    match t.conn.process_new_packets() {
        Err(_) => Waiting::Closed,
        Ok(state) if state.plaintext_bytes_to_read() > 0 => Waiting::Data,
        Ok(state) if state.peer_has_closed() || eof => Waiting::Closed,
        Ok(_) => Waiting::Nothing,
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(w) => w.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(w) => w.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(w) => w.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}
