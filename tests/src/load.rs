//! A bounded HTTP/1.1 load for the operations tests: keep-alive `GET`s from a few
//! threads, every response checked byte for byte, every failure classified and counted.
//!
//! One retry is allowed, and counted apart, where RFC 9112 section 9.3.1 lets any client
//! make it: a *reused* connection that closed before the first byte of the response (the
//! server closed it while idle, and our request crossed its FIN). Anything else that is
//! not the exact expected response is a failure; every connection reset is counted.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long one read may wait before the request counts as timed out.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A path and the exact body it must return.
#[derive(Debug, Clone)]
pub struct Target {
    /// Request path.
    pub path: String,
    /// The expected body, byte for byte.
    pub body: Vec<u8>,
}

/// What the load saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests answered with `200` and the exact body.
    pub ok: u64,
    /// Connection resets seen (while connecting, sending or reading), also the ones
    /// that only caused the permitted retry.
    pub resets: u64,
    /// Requests that failed on a reset.
    pub reset_failures: u64,
    /// Connections refused.
    pub refused: u64,
    /// Responses cut short by end-of-file (not counting the permitted retry).
    pub truncated: u64,
    /// Reads that timed out.
    pub timeouts: u64,
    /// Responses with another status.
    pub bad_status: u64,
    /// `200`s whose body differed from the file.
    pub mismatched: u64,
    /// Other I/O errors.
    pub other: u64,
    /// Requests retried because a reused connection closed before any response byte.
    pub retried: u64,
    /// New connections opened.
    pub connections: u64,
}

impl Tally {
    /// Requests that did not end with the exact expected response.
    pub fn failures(&self) -> u64 {
        self.refused
            + self.truncated
            + self.timeouts
            + self.bad_status
            + self.mismatched
            + self.other
            + self.reset_failures
    }

    fn add(&mut self, o: &Tally) {
        self.ok += o.ok;
        self.resets += o.resets;
        self.reset_failures += o.reset_failures;
        self.refused += o.refused;
        self.truncated += o.truncated;
        self.timeouts += o.timeouts;
        self.bad_status += o.bad_status;
        self.mismatched += o.mismatched;
        self.other += o.other;
        self.retried += o.retried;
        self.connections += o.connections;
    }
}

/// A running load.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Tally>>,
}

/// Starts `threads` workers sending `GET`s for `targets` in turn to `addr`, until
/// `max_requests` have been sent in all, `max_time` has passed, or [`Load::finish`].
pub fn start(
    addr: SocketAddr,
    threads: usize,
    targets: Vec<Target>,
    max_requests: u64,
    max_time: Duration,
) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let targets = Arc::new(targets);
    let end = Instant::now() + max_time;
    let threads = (0..threads)
        .map(|i| {
            let (stop, ok, failed, sent, targets) = (
                stop.clone(),
                ok.clone(),
                failed.clone(),
                sent.clone(),
                targets.clone(),
            );
            thread::spawn(move || {
                let mut w = Worker {
                    addr,
                    conn: None,
                    tally: Tally::default(),
                };
                let mut next = i;
                while !stop.load(Ordering::Relaxed)
                    && Instant::now() < end
                    && sent.fetch_add(1, Ordering::Relaxed) < max_requests
                {
                    let target = &targets[next % targets.len()];
                    next += 1;
                    if w.request(target) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                w.tally
            })
        })
        .collect();
    Load {
        stop,
        ok,
        failed,
        threads,
    }
}

impl Load {
    /// Exact responses so far.
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Failed requests so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits until `n` more exact responses have arrived than now (or `limit` passes);
    /// says whether they did.
    pub fn wait_more(&self, n: u64, limit: Duration) -> bool {
        let target = self.ok() + n;
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.ok() >= target {
                return true;
            }
            if self.threads.iter().all(|t| t.is_finished()) {
                return self.ok() >= target;
            }
            thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Stops the workers and adds up what they saw.
    pub fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = Tally::default();
        for t in self.threads {
            if let Ok(tally) = t.join() {
                total.add(&tally);
            }
        }
        total
    }
}

struct Worker {
    addr: SocketAddr,
    /// The open connection and whether it has carried a request already.
    conn: Option<(TcpStream, bool)>,
    tally: Tally,
}

/// How one attempt ended.
enum Outcome {
    Ok {
        close: bool,
    },
    /// The connection was reused and closed before any byte of the response.
    ClosedBeforeResponse,
    Failed,
}

impl Worker {
    /// One request, with at most the one permitted retry. Returns whether it succeeded.
    fn request(&mut self, target: &Target) -> bool {
        for attempt in 0..2 {
            match self.attempt(target) {
                Outcome::Ok { close } => {
                    self.tally.ok += 1;
                    if close {
                        self.conn = None;
                    }
                    return true;
                }
                Outcome::ClosedBeforeResponse if attempt == 0 => {
                    self.tally.retried += 1;
                    self.conn = None;
                }
                Outcome::ClosedBeforeResponse => {
                    self.tally.truncated += 1;
                    self.conn = None;
                    return false;
                }
                Outcome::Failed => {
                    self.conn = None;
                    return false;
                }
            }
        }
        false
    }

    fn attempt(&mut self, target: &Target) -> Outcome {
        if self.conn.is_none() {
            match TcpStream::connect(self.addr) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(READ_TIMEOUT));
                    let _ = s.set_nodelay(true);
                    self.tally.connections += 1;
                    self.conn = Some((s, false));
                }
                Err(e) => {
                    self.count_error(&e);
                    return Outcome::Failed;
                }
            }
        }
        let Some((stream, used)) = self.conn.as_mut() else {
            return Outcome::Failed;
        };
        let reused = *used;
        *used = true;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: load\r\nUser-Agent: ops-load\r\n\r\n",
            target.path
        );
        if let Err(e) = stream.write_all(request.as_bytes()) {
            if reused && matches!(e.kind(), io::ErrorKind::BrokenPipe) {
                return Outcome::ClosedBeforeResponse;
            }
            if e.kind() == io::ErrorKind::ConnectionReset && reused {
                self.tally.resets += 1;
                return Outcome::ClosedBeforeResponse;
            }
            self.count_error(&e);
            return Outcome::Failed;
        }
        match read_response(stream) {
            Ok(r) => {
                if r.status != 200 {
                    self.tally.bad_status += 1;
                    Outcome::Failed
                } else if r.body != target.body {
                    self.tally.mismatched += 1;
                    Outcome::Failed
                } else {
                    Outcome::Ok { close: r.close }
                }
            }
            Err((e, got)) => {
                let reset = e.kind() == io::ErrorKind::ConnectionReset;
                if reset {
                    self.tally.resets += 1;
                }
                let closed = reset || e.kind() == io::ErrorKind::UnexpectedEof;
                if closed && reused && got == 0 {
                    return Outcome::ClosedBeforeResponse;
                }
                if reset {
                    self.tally.reset_failures += 1;
                } else {
                    self.count_error(&e);
                }
                Outcome::Failed
            }
        }
    }

    fn count_error(&mut self, e: &io::Error) {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => self.tally.refused += 1,
            io::ErrorKind::ConnectionReset => {
                self.tally.resets += 1;
                self.tally.reset_failures += 1;
            }
            io::ErrorKind::UnexpectedEof => self.tally.truncated += 1,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.tally.timeouts += 1,
            _ => self.tally.other += 1,
        }
    }
}

struct Reply {
    status: u16,
    close: bool,
    body: Vec<u8>,
}

/// Reads one response framed by `Content-Length`; on error, also how many bytes of it
/// had arrived.
fn read_response(stream: &mut TcpStream) -> Result<Reply, (io::Error, usize)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err((io::Error::other("response head too large"), buf.len()));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err((io::ErrorKind::UnexpectedEof.into(), buf.len())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, buf.len())),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let field = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let close = field("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let Some(length) = field("content-length").and_then(|v| v.parse::<usize>().ok()) else {
        return Err((io::Error::other("no Content-Length"), buf.len()));
    };
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) => return Err((io::ErrorKind::UnexpectedEof.into(), head_end + body.len())),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, head_end + body.len())),
        }
    }
    if body.len() > length {
        return Err((
            io::Error::other("bytes after the body"),
            head_end + body.len(),
        ));
    }
    Ok(Reply {
        status,
        close,
        body,
    })
}
