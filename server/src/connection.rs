//! One connection: read request heads, answer them in order, keep the connection alive
//! by HTTP/1.0 and 1.1 rules, and enforce the head, idle and send timeouts.
//!
//! The common case runs without allocating and without holding buffers while idle: a
//! head is read into a per-thread scratch buffer, parsed, handled, and its response
//! written from a per-thread output buffer, all without awaiting. Only a head that
//! arrives in pieces, pipelined bytes, or a response the socket cannot take at once is
//! copied into the connection's own buffers, and those are freed when drained.

use crate::access_log;
use crate::deadline::until;
use crate::handler;
use crate::reply::{self, Body, Reply};
use crate::send;
use crate::shutdown::Shutdown;
use crate::state::State;
use crate::watchdog::{Phase, Watch};
use async_io::Async;
use shared::chunked::{Chunk, ChunkedDecoder};
use shared::framing::BodyFraming;
use shared::limits::{MAX_DISCARDED_BODY, MAX_HEADERS, MAX_REQUEST_HEAD};
use shared::request::{downgrade_minor_version, parse_request, Parsed, Version, EMPTY_HEADER};
use shared::StatusCode;
use std::cell::RefCell;
use std::io::{self, Read};
use std::net::{Shutdown as Direction, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Size of a read when the connection holds no partial input: a typical head fits
/// in one read, and reading no more than a head's limit keeps pipelined surplus small.
const READ_CHUNK: usize = MAX_REQUEST_HEAD;

/// After deciding to close with unread input pending, read and discard for at most this
/// long (and [`LINGER_MAX_BYTES`]) so the kernel does not reset the connection and
/// destroy the response before the client reads it (nginx's lingering close).
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while lingering.
const LINGER_MAX_BYTES: usize = 256 * 1024;

/// Per-thread buffers for the synchronous part of an exchange. Nothing here is held
/// across an await, so tasks moving between threads never share them.
struct Scratch {
    input: Vec<u8>,
    out: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        input: vec![0; READ_CHUNK],
        out: Vec::with_capacity(16 * 1024),
    });
}

/// What the synchronous step found.
enum Step {
    /// No complete head yet; wait for more bytes.
    NeedInput,
    /// The peer closed the connection.
    Closed,
    /// A request was answered (at least partly written).
    Answered(Answer),
}

/// A request answered by the synchronous step; the rest is async work.
struct Answer {
    /// Response bytes the socket did not take yet.
    unsent: Vec<u8>,
    /// A large body still to stream.
    body: Body,
    /// Length of the response head in the bytes written so far.
    head_len: usize,
    /// Bytes the first write sent (head and inline body).
    sent: usize,
    status: StatusCode,
    /// Body bytes of the request to skip before the next request.
    discard: Option<BodyFraming>,
    close: bool,
    /// Whether the client may still send bytes we will not read (linger before closing).
    unread_input: bool,
    /// The request line for the access log, raw (empty when logging is off).
    request_line: Vec<u8>,
}

/// Serves one connection until it closes. Errors are the peer's doing or I/O failures;
/// the caller logs them.
pub async fn serve(
    stream: Async<TcpStream>,
    peer: SocketAddr,
    state: &State,
    shutdown: &Shutdown,
) -> io::Result<()> {
    // Declared after `stream`, so it deregisters before the socket closes.
    let watch = state
        .watchdog
        .register(stream.get_ref(), state.head_timeout());
    watch.set_phase(Phase::Fresh);
    // Input not yet parsed: part of a head, or pipelined requests. Empty while idle.
    let mut pending: Vec<u8> = Vec::new();
    let mut served: u32 = 0;
    loop {
        // Wait for the first byte of the next head, holding no buffers. The watchdog
        // wakes this wait (as end-of-file) on the idle timeout and at shutdown.
        if pending.is_empty() {
            if served > 0 {
                watch.set_phase(Phase::Idle);
                watch.arm(state.keep_alive_timeout());
            }
            // A connection accepted while draining still gets its first request answered.
            if shutdown.is_fired() && served > 0 {
                // Stay until the client has our last response: exiting with bytes still
                // queued in the kernel lets it reset the connection and lose them.
                Box::pin(linger_close(&stream, state.send_timeout())).await;
                return Ok(());
            }
            stream.readable().await?;
        }
        // The head must be complete within an absolute deadline from its first byte.
        watch.set_phase(Phase::Head);
        watch.arm(state.head_timeout());
        // (Each step's result is dropped before any await, keeping it out of the task.)
        let answer = loop {
            let wait_for_input = match step(&stream, &mut pending, state, served, shutdown)? {
                Step::Answered(a) => break a,
                Step::NeedInput => true,
                Step::Closed if watch.fired_in() == Some(Phase::Head) => false,
                Step::Closed => return Ok(()),
            };
            if wait_for_input {
                stream.readable().await?;
            } else {
                Box::pin(request_timeout(&stream, state, peer, &watch)).await;
                return Ok(());
            }
        };
        watch.disarm();
        served += 1;
        // The common case is finished already: the whole response went out in one write.
        if answer.unsent.is_empty()
            && matches!(answer.body, Body::Empty)
            && answer.discard.is_none()
            && !answer.close
        {
            let body_bytes = answer.sent.saturating_sub(answer.head_len);
            log_line(
                state,
                peer,
                &answer.request_line,
                answer.status,
                body_bytes as u64,
            );
            continue;
        }
        // Anything else is boxed, so an idle connection's task stays small.
        let fin = Box::pin(finish(&stream, &watch, state, peer, answer, &mut pending));
        if let Next::Close = fin.await? {
            return Ok(());
        }
        if pending.is_empty() {
            // Give back a buffer a slow or pipelining client made us grow.
            pending = Vec::new();
        }
    }
}

/// What a connection does after a response.
enum Next {
    /// Read the next request.
    Request,
    /// Close the connection.
    Close,
}

/// Completes a response the first write did not finish: the rest of the head and small
/// body, a streamed body, skipping the request's body, and closing.
async fn finish(
    stream: &Async<TcpStream>,
    watch: &Watch,
    state: &State,
    peer: SocketAddr,
    answer: Answer,
    pending: &mut Vec<u8>,
) -> io::Result<Next> {
    let mut pacer = send::Pacer::new(watch, state.send_timeout());
    let mut result = send::write_all(stream, &answer.unsent, &mut pacer).await;
    if result.is_ok() {
        result = send::stream_body(stream, answer.body, &mut pacer).await;
    }
    // A client dropped for reading too slowly gets a reset, not a graceful close that
    // would leave the unsent bytes queued in the kernel for it (nginx's
    // reset_timedout_connection).
    if result
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::TimedOut)
    {
        let _ = rustix::net::sockopt::set_socket_linger(stream.get_ref(), Some(Duration::ZERO));
    }
    // The log counts body bytes actually sent, also when the transfer broke off.
    let written = answer.sent as u64 + pacer.sent();
    let body_bytes = written.saturating_sub(answer.head_len as u64);
    log_line(state, peer, &answer.request_line, answer.status, body_bytes);
    result?;
    if let Some(framing) = answer.discard {
        let deadline = Instant::now() + state.head_timeout();
        if !answer.close && !discard_body(stream, framing, pending, deadline).await? {
            linger_close(stream, LINGER_TIME).await;
            return Ok(Next::Close);
        }
    }
    if answer.close {
        if answer.unread_input || !pending.is_empty() {
            linger_close(stream, LINGER_TIME).await;
        }
        return Ok(Next::Close);
    }
    Ok(Next::Request)
}

/// Reads what is available without waiting, and answers one request if a whole head
/// is buffered: parse, handle and write as far as the socket allows.
fn step(
    stream: &Async<TcpStream>,
    pending: &mut Vec<u8>,
    state: &State,
    served: u32,
    shutdown: &Shutdown,
) -> io::Result<Step> {
    SCRATCH.with(|scratch| {
        let mut guard = scratch.borrow_mut();
        let Scratch { input, out } = &mut *guard;
        // 1. Gather input: straight into scratch when nothing is pending (the common
        //    case), else onto the pending bytes, which may already hold a whole head.
        let from_scratch = pending.is_empty();
        let filled = if from_scratch {
            match read_now(stream, input)? {
                None => return Ok(Step::NeedInput),
                Some(0) => return Ok(Step::Closed),
                Some(n) => n,
            }
        } else {
            if !holds_complete_head(pending) {
                // Read into scratch and append only what arrived, so a trickling client
                // costs the bytes it sent, not a whole head's worth of capacity.
                let room = (MAX_REQUEST_HEAD + 1)
                    .saturating_sub(pending.len())
                    .clamp(1024, input.len());
                match read_now(stream, &mut input[..room])? {
                    Some(0) => return Ok(Step::Closed),
                    None => return Ok(Step::NeedInput),
                    Some(n) => pending.extend_from_slice(&input[..n]),
                }
            }
            pending.len()
        };
        // 2. Parse and handle (an HTTP/1.2+ request line is read as HTTP/1.1).
        if from_scratch {
            downgrade_minor_version(&mut input[..filled]);
        } else {
            downgrade_minor_version(pending);
        }
        out.clear();
        let exchange = {
            let buf: &[u8] = if from_scratch {
                &input[..filled]
            } else {
                pending
            };
            process(buf, state, served, shutdown, out)
        };
        let Some(x) = exchange else {
            if from_scratch {
                pending.extend_from_slice(&input[..filled]);
            }
            return Ok(Step::NeedInput);
        };
        // 3. Keep what follows the head (a body or pipelined requests).
        if from_scratch {
            pending.extend_from_slice(&input[x.head_len.min(filled)..filled]);
        } else {
            let used = x.head_len.min(pending.len());
            pending.drain(..used);
        }
        // 4. Finish the head, inline a small body, and write what the socket takes now.
        finish_head(out, x.close, x.http10);
        let head_len = out.len();
        let body = send::inline_small(out, x.reply.body)?;
        let sent = if matches!(body, Body::Empty) {
            send::write_now(stream, out)?
        } else {
            send::write_head_before_file(stream, out)?
        };
        Ok(Step::Answered(Answer {
            unsent: out[sent..].to_vec(),
            body,
            head_len,
            sent,
            status: x.reply.status,
            discard: x.discard,
            close: x.close,
            unread_input: x.unread_input,
            request_line: x.request_line,
        }))
    })
}

/// Whether `buf` already holds a complete head (so no read is needed first).
fn holds_complete_head(buf: &[u8]) -> bool {
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    !matches!(parse_request(buf, &mut headers), Ok(Parsed::Partial))
}

/// One non-blocking read: `None` when nothing is available yet.
fn read_now(stream: &Async<TcpStream>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.get_ref().read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What processing one complete head decided.
struct Exchange {
    head_len: usize,
    reply: Reply,
    discard: Option<BodyFraming>,
    close: bool,
    unread_input: bool,
    request_line: Vec<u8>,
    http10: bool,
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
                    Vec::new()
                } else {
                    first_line(buf).to_vec()
                },
                http10: false,
            });
        }
    };
    let head_only = req.method == "HEAD";
    let has_body = req.body != BodyFraming::Length(0);
    let too_big = matches!(req.body, BodyFraming::Length(n) if n > MAX_DISCARDED_BODY);
    let mut reply = if too_big && (req.method == "GET" || head_only) {
        reply::error(out, StatusCode::CONTENT_TOO_LARGE, head_only, &[])
    } else {
        handler::handle(&req, state, out)
    };
    // A body we will not read (too large, or the client awaits 100 Continue) means the
    // stream cannot carry another request.
    let skip_body = has_body && (req.expects_continue() || too_big);
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
            Vec::new()
        } else {
            format!("{} {} {}", req.method, req.target, req.version.as_str()).into_bytes()
        },
        http10: req.version == Version::Http10,
        reply,
    })
}

/// The first line of an unparseable head, raw, for the log.
fn first_line(buf: &[u8]) -> &[u8] {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    &line[..line.len().min(access_log::MAX_LOGGED_REQUEST_LINE)]
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

fn log_line(state: &State, peer: SocketAddr, request_line: &[u8], status: StatusCode, bytes: u64) {
    if !state.config.quiet {
        access_log::log(peer.ip(), request_line, status.as_u16(), bytes);
    }
}

/// Answers a head that did not complete in time with 408, then closes.
async fn request_timeout(
    stream: &Async<TcpStream>,
    state: &State,
    peer: SocketAddr,
    watch: &Watch,
) {
    let mut out = Vec::new();
    let r = reply::error(&mut out, StatusCode::REQUEST_TIMEOUT, false, &[]);
    finish_head(&mut out, true, false);
    if let Ok(Body::Empty) = send::inline_small(&mut out, r.body) {
        let _ = send::write_all(
            stream,
            &out,
            &mut send::Pacer::new(watch, state.send_timeout()),
        )
        .await;
    }
    log_line(state, peer, b"-", StatusCode::REQUEST_TIMEOUT, r.body_len);
    linger_close(stream, LINGER_TIME).await;
}

/// Reads and drops a request body we do not want, so the next pipelined request can be
/// parsed. Returns `false` if the body is malformed or too large (close the connection).
async fn discard_body(
    stream: &Async<TcpStream>,
    framing: BodyFraming,
    pending: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<bool> {
    let mut remaining = match framing {
        BodyFraming::Length(n) => n,
        _ => 0,
    };
    let mut decoder = (framing == BodyFraming::Chunked).then(ChunkedDecoder::strict);
    let mut total: u64 = 0;
    // The body gets its own deadline, as generous as a head's from now.
    let deadline = deadline.max(Instant::now()) + Duration::from_secs(1);
    // On the heap: a buffer in the future itself would make every idle connection's task
    // as large as the buffer.
    let mut chunk = vec![0u8; 4096];
    loop {
        // Consume what is buffered.
        let used = if let Some(d) = decoder.as_mut() {
            let mut used = 0;
            loop {
                match d.decode(&pending[used..]) {
                    Ok((n, Chunk::Data(_))) => {
                        used += n;
                        total += n as u64;
                    }
                    Ok((n, Chunk::NeedMore | Chunk::Done)) => {
                        used += n;
                        break;
                    }
                    Err(_) => return Ok(false),
                }
            }
            used
        } else {
            let n = remaining.min(pending.len() as u64) as usize;
            remaining -= n as u64;
            total += n as u64;
            n
        };
        pending.drain(..used);
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
        let n = match until(deadline, stream.read_with(|s| (&*s).read(&mut chunk))).await {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(false),
            Err(e) => return Err(e),
        };
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// Half-closes, then reads and drops input until the client closes (at most `limit`)
/// so our last response is not destroyed by a reset before the client reads it.
async fn linger_close(stream: &Async<TcpStream>, limit: Duration) {
    let _ = stream.get_ref().shutdown(Direction::Write);
    let mut scratch = vec![0u8; 4096];
    let mut drained = 0;
    let end = Instant::now() + limit;
    while drained < LINGER_MAX_BYTES {
        match until(end, stream.read_with(|s| (&*s).read(&mut scratch))).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle connection costs its task: keep the future small (the goal is <= 1 KiB
    /// of memory per idle connection). Large buffers belong on the heap, only while in
    /// use, and rare paths are boxed.
    #[test]
    fn connection_future_stays_small() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, peer) = listener.accept().unwrap();
        let stream = Async::new(server_side).unwrap();
        let config =
            <crate::Config as clap::Parser>::try_parse_from(["server", "--root", "/"]).unwrap();
        let state = State {
            root: crate::resolve::Root::open(std::path::Path::new("/")).unwrap(),
            config,
            cache: Default::default(),
            watchdog: Default::default(),
            gzip_cache: Default::default(),
        };
        let shutdown = Shutdown::new();
        let fut = serve(stream, peer, &state, &shutdown);
        let size = std::mem::size_of_val(&fut);
        drop(fut);
        drop(client);
        // 312 bytes in release builds when this was written.
        assert!(size <= 512, "connection future is {size} bytes");
    }
}
