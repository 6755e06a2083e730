//! One connection: read request heads, answer them in order, keep the connection alive
//! by HTTP/1.0 and 1.1 rules, and enforce the head, idle and send timeouts.

use crate::access_log;
use crate::deadline::{timeout, until};
use crate::handler;
use crate::reply::{self, Reply};
use crate::send;
use crate::shutdown::Shutdown;
use crate::state::State;
use async_io::Async;
use shared::chunked::{Chunk, ChunkedDecoder};
use shared::framing::BodyFraming;
use shared::limits::{MAX_DISCARDED_BODY, MAX_HEADERS, MAX_REQUEST_HEAD};
use shared::request::{parse_request, Parsed, Version, EMPTY_HEADER};
use shared::StatusCode;
use std::io::{self, Read};
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// First size of a connection's read buffer; it grows up to `MAX_REQUEST_HEAD`.
/// 4 KiB holds a typical browser request head in one read.
const READ_BUF_INITIAL: usize = 4 * 1024;

/// An idle connection frees its buffers after this long, so thousands of idle
/// keep-alive connections cost little memory, while busy ones keep reusing theirs.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// After deciding to close with unread input pending, read and discard for at most this
/// long (and [`LINGER_MAX_BYTES`]) so the kernel does not reset the connection and
/// destroy the response before the client reads it (nginx's lingering close).
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while lingering.
const LINGER_MAX_BYTES: usize = 256 * 1024;

/// What processing one complete head decided.
struct Exchange {
    /// Bytes of the head, consumed from the read buffer.
    head_len: usize,
    /// The reply, its head in the output buffer (not yet ended).
    reply: Reply,
    /// Body bytes to skip after replying, to reach the next pipelined request.
    discard: Option<BodyFraming>,
    /// Whether to close after replying.
    close: bool,
    /// Whether the client may still send bytes we will not read (linger before closing).
    unread_input: bool,
    /// The request line, for the access log (empty when logging is off).
    request_line: String,
    /// Whether the client spoke HTTP/1.0.
    http10: bool,
}

/// Serves one connection until it closes. Errors are the peer's doing or I/O failures;
/// the caller logs them.
pub async fn serve(
    stream: Async<TcpStream>,
    peer: SocketAddr,
    state: &State,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    let mut out: Vec<u8> = Vec::new();
    let mut served: u32 = 0;
    loop {
        // Wait for the first byte of the next head, freeing buffers while idle.
        if filled == 0 {
            let idle_limit = if served == 0 {
                state.head_timeout()
            } else {
                state.keep_alive_timeout()
            };
            if !wait_for_request(&stream, idle_limit, shutdown, &mut buf, &mut out).await? {
                return Ok(());
            }
        }
        // Read until a whole head is buffered, within an absolute deadline.
        let deadline = Instant::now() + state.head_timeout();
        let exchange = loop {
            out.clear();
            if let Some(x) = process(&buf[..filled], state, served, shutdown, &mut out) {
                break x;
            }
            if buf.len() == filled {
                let grown = (buf.len() * 2).clamp(READ_BUF_INITIAL, MAX_REQUEST_HEAD);
                buf.resize(grown, 0);
            }
            let read = until(
                deadline,
                stream.read_with(|s| (&*s).read(&mut buf[filled..])),
            )
            .await;
            match read {
                Ok(0) => return Ok(()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    out.clear();
                    let r = reply::error(&mut out, StatusCode::REQUEST_TIMEOUT, false, &[]);
                    finish_head(&mut out, true, false);
                    let _ = send::send(&stream, &mut out, r.body, state.send_timeout()).await;
                    log_line(state, peer, "-", StatusCode::REQUEST_TIMEOUT, 0);
                    linger_close(&stream).await;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        };
        served += 1;
        buf.copy_within(exchange.head_len..filled, 0);
        filled -= exchange.head_len;

        let status = exchange.reply.status;
        let announced = exchange.reply.body_len;
        finish_head(&mut out, exchange.close, exchange.http10);
        let result = send::send(&stream, &mut out, exchange.reply.body, state.send_timeout()).await;
        log_line(
            state,
            peer,
            &exchange.request_line,
            status,
            if result.is_ok() { announced } else { 0 },
        );
        result?;

        if let Some(framing) = exchange.discard {
            if !exchange.close
                && !discard_body(&stream, framing, &mut buf, &mut filled, deadline).await?
            {
                linger_close(&stream).await;
                return Ok(());
            }
        }
        if exchange.close {
            if exchange.unread_input || filled > 0 {
                linger_close(&stream).await;
            }
            return Ok(());
        }
        // Keep big buffers from sticking around after one large head.
        if filled == 0 && buf.len() > READ_BUF_INITIAL {
            buf = Vec::new();
        }
    }
}

/// Parses and handles one head if `buf` holds a complete one; `None` means read more.
fn process(
    buf: &[u8],
    state: &State,
    served: u32,
    shutdown: &Shutdown,
    out: &mut Vec<u8>,
) -> Option<Exchange> {
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    let req = match parse_request(buf, &mut headers) {
        Ok(Parsed::Partial) => return None,
        Ok(Parsed::Complete(req)) => req,
        Err(e) => {
            let reply = reply::error_detail(out, e.status(), false, e.describe());
            return Some(Exchange {
                head_len: buf.len(),
                reply,
                discard: None,
                close: true,
                unread_input: true,
                request_line: if state.config.quiet {
                    String::new()
                } else {
                    first_line(buf)
                },
                http10: false,
            });
        }
    };
    let head_only = req.method == "HEAD";
    let has_body = req.body != BodyFraming::Length(0);
    let mut reply = match req.body {
        BodyFraming::Length(n) if n > MAX_DISCARDED_BODY && (req.method == "GET" || head_only) => {
            reply::error(out, StatusCode::CONTENT_TOO_LARGE, head_only, &[])
        }
        _ => handler::handle(&req, state, out),
    };
    // A body we will not read (too large, or the client awaits 100 Continue) means the
    // stream cannot carry another request.
    let skip_body = has_body
        && (req.expects_continue()
            || matches!(req.body, BodyFraming::Length(n) if n > MAX_DISCARDED_BODY));
    if skip_body {
        reply.close = true;
    }
    let close = reply.close
        || !req.keep_alive
        || served + 1 >= state.config.max_requests
        || shutdown.is_fired();
    Some(Exchange {
        head_len: req.head_len,
        discard: (has_body && !skip_body).then_some(req.body),
        close,
        unread_input: skip_body,
        request_line: if state.config.quiet {
            String::new()
        } else {
            format!("{} {} {}", req.method, req.target, req.version.as_str())
        },
        http10: req.version == Version::Http10,
        reply,
    })
}

/// The first line of an unparseable head, for the log.
fn first_line(buf: &[u8]) -> String {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(&line[..line.len().min(access_log::MAX_LOGGED_REQUEST_LINE)])
        .into_owned()
}

/// Adds `Connection` as needed and the blank line that ends the head.
fn finish_head(out: &mut Vec<u8>, close: bool, http10: bool) {
    if close {
        shared::format::header(out, "Connection", b"close");
    } else if http10 {
        shared::format::header(out, "Connection", b"keep-alive");
    }
    shared::format::end_head(out);
}

fn log_line(state: &State, peer: SocketAddr, request_line: &str, status: StatusCode, bytes: u64) {
    if !state.config.quiet {
        access_log::log(peer.ip(), request_line, status.as_u16(), bytes);
    }
}

/// Waits until the peer sends something. Returns `false` when the connection should
/// close quietly: idle timeout, shutdown, or the peer closed.
async fn wait_for_request(
    stream: &Async<TcpStream>,
    limit: Duration,
    shutdown: &Shutdown,
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    if shutdown.is_fired() {
        return Ok(false);
    }
    let readable = async { stream.readable().await.map(|()| true) };
    let stop = async {
        shutdown.wait().await;
        Ok(false)
    };
    // Busy connections keep their buffers; idle ones give them back.
    let first = futures_lite::future::or(readable, stop);
    let ready = match timeout(IDLE_RELEASE.min(limit), first).await {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            *buf = Vec::new();
            *out = Vec::new();
            let readable = async { stream.readable().await.map(|()| true) };
            let stop = async {
                shutdown.wait().await;
                Ok(false)
            };
            match timeout(
                limit.saturating_sub(IDLE_RELEASE),
                futures_lite::future::or(readable, stop),
            )
            .await
            {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => false,
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    Ok(ready)
}

/// Reads and drops a request body we do not want, so the next pipelined request can be
/// parsed. Returns `false` if the body is malformed or too large (close the connection).
async fn discard_body(
    stream: &Async<TcpStream>,
    framing: BodyFraming,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    deadline: Instant,
) -> io::Result<bool> {
    let mut remaining = match framing {
        BodyFraming::Length(n) => n,
        _ => 0,
    };
    let mut decoder = (framing == BodyFraming::Chunked).then(ChunkedDecoder::new);
    let mut total: u64 = 0;
    // The body gets its own deadline, as generous as a head's from now.
    let deadline = deadline.max(Instant::now()) + Duration::from_secs(1);
    if buf.len() < READ_BUF_INITIAL {
        buf.resize(READ_BUF_INITIAL, 0);
    }
    loop {
        // Consume what is buffered.
        let used = if let Some(d) = decoder.as_mut() {
            let mut used = 0;
            loop {
                match d.decode(&buf[used..*filled]) {
                    Ok((n, Chunk::Data(_))) => {
                        used += n;
                        total += n as u64;
                    }
                    Ok((n, Chunk::NeedMore)) => {
                        used += n;
                        break;
                    }
                    Ok((n, Chunk::Done)) => {
                        used += n;
                        break;
                    }
                    Err(_) => return Ok(false),
                }
            }
            used
        } else {
            let n = remaining.min(*filled as u64) as usize;
            remaining -= n as u64;
            total += n as u64;
            n
        };
        buf.copy_within(used..*filled, 0);
        *filled -= used;
        let done = match &decoder {
            Some(d) => d.is_done(),
            None => remaining == 0,
        };
        if done {
            return Ok(true);
        }
        if total > MAX_DISCARDED_BODY {
            return Ok(false);
        }
        let n = match until(
            deadline,
            stream.read_with(|s| (&*s).read(&mut buf[*filled..])),
        )
        .await
        {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(false),
            Err(e) => return Err(e),
        };
        *filled += n;
    }
}

/// Half-closes, then reads and drops input for a bounded time so our last response is
/// not destroyed by a reset before the client reads it.
async fn linger_close(stream: &Async<TcpStream>) {
    let _ = stream.get_ref().shutdown(Direction::Write);
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    let end = Instant::now() + LINGER_TIME;
    while drained < LINGER_MAX_BYTES {
        match until(end, stream.read_with(|s| (&*s).read(&mut scratch))).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
