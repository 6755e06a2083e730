//! One HTTP/1 connection over any byte stream (plain TCP, or TLS around it): read
//! request heads, answer them in order, keep the connection alive by HTTP/1.0 and 1.1
//! rules, and enforce the head, idle and send deadlines through the watchdog.
//!
//! The common exchange (read a head, handle it, write the response) runs in one poll,
//! without allocating a read buffer and without holding one while idle; see
//! [`input`] and [`writer`].

mod body;
mod drain;
pub(crate) use drain::BODY_GRACE;
mod exchange;
mod input;
mod pacer;
pub(crate) mod writer;

/// The read-rate floor every response is held to (HTTP/2's connections too).
pub(crate) use pacer::MIN_SEND_RATE;

use crate::access_log;
use crate::files::Handled;
use crate::response::Response;
use crate::rt;
use crate::rt::Async;
use crate::shutdown::Shutdown;
use crate::state::State;
use crate::watchdog::{Phase, Watch};
use exchange::{After, Exchange};
use futures::io::{AsyncRead, AsyncWrite};
use input::{Input, Read};
use pacer::Pacer;
use shared::StatusCode;
use std::borrow::Borrow;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use writer::{Framing, Started};

/// A byte stream a connection can be served over.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP socket underneath every layer: the watchdog shuts it down to enforce a
    /// deadline, and a timed-out send resets it.
    fn socket(&self) -> BorrowedFd<'_>;

    /// The plain TCP socket, when bytes may go to it straight from the page cache
    /// (`sendfile`, corking). `None` when they must pass through user space (TLS).
    fn zero_copy(&self) -> Option<&Async<TcpStream>> {
        None
    }

    /// Whether the bytes are encrypted (TLS): its responses may carry HSTS.
    fn is_tls(&self) -> bool {
        false
    }

    /// What is written from now on is the connection's last, and the close follows at
    /// once: a layer that can may leave it for the close to send with the FIN (a plain
    /// socket's writer does that itself, through [`Transport::zero_copy`]).
    fn close_follows(&mut self) {}
}

impl Transport for crate::tls::accept::TlsTcp {
    fn socket(&self) -> BorrowedFd<'_> {
        self.get_ref().0.tcp().get_ref().as_fd()
    }

    fn is_tls(&self) -> bool {
        true
    }

    fn close_follows(&mut self) {
        self.get_mut().0.close_follows();
    }
}

/// A borrowed transport, so a wrapper (TLS) can still close the stream after the loop.
impl<T: Transport + ?Sized> Transport for &mut T {
    fn socket(&self) -> BorrowedFd<'_> {
        (**self).socket()
    }

    fn zero_copy(&self) -> Option<&Async<TcpStream>> {
        (**self).zero_copy()
    }

    fn is_tls(&self) -> bool {
        (**self).is_tls()
    }

    fn close_follows(&mut self) {
        (**self).close_follows();
    }
}

impl Transport for Async<TcpStream> {
    fn socket(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }

    fn zero_copy(&self) -> Option<&Async<TcpStream>> {
        Some(self)
    }
}

/// A response on its way, as the connection follows it.
#[derive(Debug)]
struct Answered {
    started: Started,
    after: After,
    status: StatusCode,
    request_line: Vec<u8>,
}

impl Answered {
    /// The common case: the whole response went out at once, and the connection stays.
    fn is_finished(&self) -> bool {
        self.started.is_done() && self.after == After::KeepGoing
    }

    /// The access log line of a finished response.
    fn log(&self, state: &State, peer: SocketAddr) {
        let body_bytes = self.started.sent - self.started.head_len;
        log_line(
            state,
            peer,
            &self.request_line,
            self.status,
            body_bytes as u64,
        );
    }
}

/// What one turn of the read loop found.
#[derive(Debug)]
enum Turn {
    Answered(Answered),
    /// A request answered later: its body must be read before the response is sent,
    /// or its response is made on a blocking thread.
    Later(Exchange),
    /// The peer closed, or the watchdog cut the reading side, before a whole head.
    Closed,
    /// A TLS handshake arrived on a plain-HTTP port.
    TlsHandshake,
}

/// Serves one connection until it closes, and logs how it failed if it did (errors that
/// only say the peer went away are not logged). `state` and `shutdown` are borrowed or owned (a plain
/// connection's task passes them owned, so it holds no second copy of its arguments).
#[allow(clippy::manual_async_fn)] // on purpose: see the async block below
pub(crate) fn serve<S, St, Sh>(
    mut stream: S,
    peer: SocketAddr,
    state: St,
    shutdown: Sh,
) -> impl std::future::Future<Output = ()>
where
    S: Transport,
    St: Borrow<Arc<State>>,
    Sh: Borrow<Shutdown>,
{
    // An async block, not an async fn: an async fn keeps its arguments twice in its
    // future (as captured and as bound), and this future is most of what an idle
    // connection costs.
    async move {
        // `state.borrow()` at each use, not a reference bound once: one held across the
        // waits would be 8 more bytes in every idle connection's task. The watch is
        // declared after `stream`, so it deregisters before the socket closes.
        let watch = Borrow::<Arc<State>>::borrow(&state)
            .watchdog
            .register(stream.socket(), state.borrow().head_timeout());
        watch.set_phase(Phase::Fresh);
        if !stream.is_tls() {
            watch.close_idle_with_fin();
        }
        let mut input = Input::default();
        let mut served: u32 = 0;
        let ended: io::Result<()> = loop {
            if input.is_empty() {
                // Wait for the first byte of the next head, holding no buffers. The
                // watchdog ends this wait (as end of input) on the idle timeout, and at
                // shutdown once the connection has been quiet for a moment; a request that
                // comes first is answered with `Connection: close` (see watchdog::Phase::Idle).
                // A connection accepted while draining gets its first request answered too.
                if served > 0 {
                    watch.set_phase(Phase::Idle);
                    watch.mark_reusable();
                    watch.arm(state.borrow().keep_alive_timeout());
                }
            } else {
                // A pipelined head: its deadline runs from now.
                watch.set_phase(Phase::Head);
                watch.arm(state.borrow().head_timeout());
            }
            // Only what this wait holds stays in an idle connection's task: the turn it
            // returns is handled in the same poll, and anything that must wait again is
            // one boxed future (see `rest`).
            let rest = {
                let turn = poll_fn(|cx| {
                    turn(
                        cx,
                        &mut stream,
                        &mut input,
                        &watch,
                        state.borrow(),
                        served,
                        shutdown.borrow(),
                        &peer,
                    )
                })
                .await;
                let turn = match turn {
                    Ok(turn) => turn,
                    Err(e) => break Err(e),
                };
                match turn {
                    // The common case is finished already: the whole response went out at once.
                    Turn::Answered(a) if a.is_finished() => {
                        watch.disarm();
                        served += 1;
                        a.log(state.borrow(), peer);
                        None
                    }
                    turn => Some(Box::pin(rest(
                        &mut stream,
                        &mut input,
                        &watch,
                        state.borrow(),
                        peer,
                        &mut served,
                        turn,
                    ))),
                }
            };
            if let Some(rest) = rest {
                match rest.await {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        };
        // Logged here, where the peer's address already is, so the task need not keep
        // a second copy of it.
        if let Err(e) = ended {
            if !is_peer_gone(&e) {
                crate::log_queue::error(format_args!("{peer}: {e}"));
            }
        }
    }
}

/// Whether `e` only says the peer went away (not worth a log line).
pub(crate) fn is_peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

/// The rest of a turn that did not finish in its poll: a request answered later, a
/// response still going out, a 408, or the end. Returns whether to read the next head.
async fn rest<S: Transport>(
    stream: &mut S,
    input: &mut Input,
    watch: &Watch,
    state: &Arc<State>,
    peer: SocketAddr,
    served: &mut u32,
    turn: Turn,
) -> io::Result<bool> {
    let answered = match turn {
        Turn::Answered(a) => a,
        Turn::Later(x) => match later(stream, input, watch, state, x).await? {
            Some(a) => a,
            None => return Ok(false),
        },
        // Only a head begun and not finished in time gets a 408; an idle
        // connection, or one whose response is already out, closes quietly.
        Turn::Closed if watch.fired_in() == Some(Phase::Head) && !input.is_empty() => {
            request_timeout(stream, state, peer, watch).await;
            return Ok(false);
        }
        Turn::Closed => return Ok(false),
        // One short line, not a 400 with the ClientHello's bytes escaped in the log.
        Turn::TlsHandshake => {
            crate::log_queue::error(format_args!(
                "{peer}: {}",
                crate::tls::sniff::TLS_ON_PLAIN_PORT
            ));
            return Ok(false);
        }
    };
    watch.disarm();
    *served += 1;
    if answered.is_finished() {
        answered.log(state, peer);
        return Ok(true);
    }
    let next = finish(stream, watch, state, peer, answered, input).await?;
    if next {
        input.shrink_if_empty();
    }
    Ok(next)
}

/// One poll of the read loop: read, parse and handle a head, and start writing its
/// response, all without waiting unless no whole head is there.
#[allow(clippy::too_many_arguments)] // the peer joined for the site rules' login limit
fn turn<S: Transport>(
    cx: &mut Context<'_>,
    stream: &mut S,
    input: &mut Input,
    watch: &Watch,
    state: &Arc<State>,
    served: u32,
    shutdown: &Shutdown,
    peer: &SocketAddr,
) -> Poll<io::Result<Turn>> {
    let peer = *peer;
    // The head's absolute deadline starts at its first byte.
    let mut first_byte = || {
        watch.set_phase(Phase::Head);
        watch.arm(state.head_timeout());
    };
    let mut respond = Some(|head: input::Head<'_, '_>| {
        exchange::exchange(head, state, served, shutdown, peer.ip())
    });
    // Plain TCP: between requests, wait for the reactor to say the socket is readable
    // instead of trying a read that finds nothing (the client sends its next request
    // only after this response). The read that took the last head was short, which
    // cleared the readiness, so a keep-alive request costs one read and no EAGAIN read.
    if input.buffered().is_empty() {
        if let Some(tcp) = stream.zero_copy() {
            match tcp.poll_readable(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
        }
    }
    let head = input.poll_head(cx, stream, &mut first_byte, &mut respond);
    let mut x: Exchange = match head {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        Poll::Ready(Ok(Read::Closed)) => return Poll::Ready(Ok(Turn::Closed)),
        Poll::Ready(Ok(Read::TlsHandshake)) => return Poll::Ready(Ok(Turn::TlsHandshake)),
        Poll::Ready(Ok(Read::Head(x))) => x,
    };
    let mut response = match x.answer {
        Handled::Ready(response) if x.skip_body.is_none() => response,
        answer => {
            x.answer = answer;
            return Poll::Ready(Ok(Turn::Later(x)));
        }
    };
    secure_fields(stream, state, &mut response);
    let status = response.status;
    let started = writer::start(cx, stream, response, &x.framing)?;
    Poll::Ready(Ok(Turn::Answered(Answered {
        started,
        after: x.after,
        status,
        request_line: x.request_line,
    })))
}

/// Answers a request the read's poll could not: reads and drops its body first (a
/// body too large, malformed or late changes the answer to 413, 400 or 408), runs a blocking job
/// off the executor, then starts the response. `None`: the client went away.
async fn later<S: Transport>(
    stream: &mut S,
    input: &mut Input,
    watch: &Watch,
    state: &Arc<State>,
    x: Exchange,
) -> io::Result<Option<Answered>> {
    let Exchange {
        mut answer,
        mut framing,
        skip_body,
        mut after,
        request_line,
    } = x;
    if let Some(body) = skip_body {
        let skipped = drain::skip_body(stream, body, input, watch, state.head_timeout());
        let refused = match skipped.await? {
            drain::Skipped::Done => None,
            drain::Skipped::TooLarge => Some(StatusCode::CONTENT_TOO_LARGE),
            drain::Skipped::Malformed => Some(StatusCode::BAD_REQUEST),
            // The body did not arrive by its deadline: the client may still be
            // reading, so it is told why (RFC 9110 section 15.5.9), and the request
            // is logged like any other.
            drain::Skipped::Ended if watch.fired_in() == Some(Phase::Drain) => {
                Some(StatusCode::REQUEST_TIMEOUT)
            }
            drain::Skipped::Ended => return Ok(None),
        };
        if let Some(status) = refused {
            answer = Handled::Ready(Response::error(status));
            after = After::DrainThenClose;
            framing.close = true;
        }
    }
    let mut response = match answer {
        Handled::Ready(response) => response,
        Handled::Blocking(job) => rt::unblock(move || job.run()).await,
    };
    secure_fields(stream, state, &mut response);
    exchange::settle(&mut after, &mut framing, response.status);
    let status = response.status;
    let started = writer::start_later(stream, response, &framing).await?;
    Ok(Some(Answered {
        started,
        after,
        status,
        request_line,
    }))
}

/// Completes a response the first write did not finish, then does what comes after it.
/// Returns whether the connection carries on.
async fn finish<S: Transport>(
    stream: &mut S,
    watch: &Watch,
    state: &State,
    peer: SocketAddr,
    answered: Answered,
    input: &mut Input,
) -> io::Result<bool> {
    let Answered {
        started,
        after,
        status,
        request_line,
    } = answered;
    let (head_len, first) = (started.head_len as u64, started.sent as u64);
    let mut pacer = Pacer::new(watch, state.send_timeout());
    let result = writer::finish(stream, started, &mut pacer).await;
    // A client dropped for reading too slowly gets a reset, not a graceful close that
    // would leave the unsent bytes queued in the kernel for it (nginx's
    // reset_timedout_connection).
    if result
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::TimedOut)
    {
        let _ = rustix::net::sockopt::set_socket_linger(stream.socket(), Some(Duration::ZERO));
    }
    // The log counts body bytes actually sent, also when the transfer broke off.
    let body_bytes = (first + pacer.sent()).saturating_sub(head_len);
    log_line(state, peer, &request_line, status, body_bytes);
    result?;
    match after {
        After::KeepGoing => Ok(true),
        // Unread bytes, ours or still in the kernel, would make the close a reset, which
        // discards what the socket has not sent yet (a response held by MSG_MORE, or
        // bytes still in flight): those close lingering, their FIN sent first.
        After::Close if input.is_empty() && !unread_in_kernel(stream) => Ok(false),
        After::Close | After::DrainThenClose => {
            drain::linger_close(stream, watch, drain::LINGER_TIME).await;
            Ok(false)
        }
    }
}

/// Whether bytes the peer sent wait in the socket's receive queue.
fn unread_in_kernel<S: Transport>(stream: &S) -> bool {
    rustix::io::ioctl_fionread(stream.socket()).is_ok_and(|n| n > 0)
}

/// Answers a head that did not complete in time with 408, then closes.
async fn request_timeout<S: Transport>(
    stream: &mut S,
    state: &State,
    peer: SocketAddr,
    watch: &Watch,
) {
    let mut response = Response::error(StatusCode::REQUEST_TIMEOUT);
    secure_fields(stream, state, &mut response);
    let announced = response.body.len();
    let framing = Framing {
        close: true,
        http10: false,
        head_only: false,
        now: SystemTime::now(),
    };
    if let Ok(started) = writer::start_later(stream, response, &framing).await {
        let mut pacer = Pacer::new(watch, state.send_timeout());
        let _ = writer::finish(stream, started, &mut pacer).await;
    }
    log_line(state, peer, b"-", StatusCode::REQUEST_TIMEOUT, announced);
    drain::linger_close(stream, watch, drain::LINGER_TIME).await;
}

/// Adds the fields only responses over TLS carry, when `stream` is TLS.
fn secure_fields<S: Transport>(stream: &S, state: &State, response: &mut Response) {
    if stream.is_tls() {
        tls_fields(state, response);
    }
}

/// The fields every response over TLS carries, HTTP/1.1 or HTTP/2:
/// `Strict-Transport-Security` with `--hsts` (RFC 6797 section 8.1: meaningless, and
/// not sent, over plain HTTP).
pub(crate) fn tls_fields(state: &State, response: &mut Response) {
    if let Some(hsts) = state.tls.as_ref().and_then(|tls| tls.hsts.as_ref()) {
        response
            .fields
            .append("Strict-Transport-Security", hsts.clone());
    }
}

fn log_line(state: &State, peer: SocketAddr, request_line: &[u8], status: StatusCode, bytes: u64) {
    if !state.config.quiet {
        access_log::log(peer.ip(), request_line, status.as_u16(), bytes);
    }
}

#[cfg(test)]
mod tests;
