//! One HTTP/2 connection: the `h2` handshake under the head timeout, then one task
//! driving the connection and all its streams together (streams run as futures of this
//! task, so they borrow the handler and need no spawn). It enforces, per connection:
//! the idle timeout (the head timeout before the first request), the send timeout on a
//! socket that stops taking our bytes, the read-rate floor ([`Pace`]), the request cap,
//! flood limits (GOAWAY `ENHANCE_YOUR_CALM`), and graceful shutdown (GOAWAY, open
//! streams finish).

use super::io::{Kept, Signals, Watched};
use super::pace::Pace;
use super::request_body::Waiting;
use super::{limits, stream, Respond, Settings};
use crate::rt::Timer;
use crate::shutdown::Shutdown;
use bytes::Bytes;
use futures::future::{select, Either};
use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::Request;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio_util::compat::FuturesAsyncReadCompatExt;

/// Streams accepted in a row before the open ones run again: enough for a page's worth
/// of requests to be answered in one write, few enough that a client opening streams
/// without pause cannot hold the others back (h2 also caps the open ones).
const ACCEPT_BATCH: usize = 32;
/// After the connection ends, read and discard what the client still sends for at most
/// this long (and [`LINGER_MAX_BYTES`]), so closing with unread input does not reset the
/// connection and destroy our GOAWAY before the client reads it (as for HTTP/1).
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while lingering. [`LINGER_TIME`] is the real bound
/// (reading and dropping is cheap); this only stops a peer on a very fast link early. It
/// is large enough that a flood still in flight when we GOAWAY (megabytes of PINGs) is
/// read to its end, so our close is a FIN, not a reset that destroys the GOAWAY.
const LINGER_MAX_BYTES: usize = 16 * 1024 * 1024;

/// How long a closing connection with no stream left waits for `h2` to finish: the
/// client's acknowledgement of the GOAWAY's PING is one round trip, and 5 s covers the
/// slowest real link while a client that never answers cannot keep the connection.
const CLOSING_WAIT: Duration = Duration::from_secs(5);

/// What woke the driver. (One at a time, on the stack: boxing the large variant would
/// cost an allocation per stream for nothing.)
#[allow(clippy::large_enum_variant)]
enum Event {
    /// A new stream.
    Stream(Request<RecvStream>, SendResponse<Bytes>),
    /// `h2` finished the connection.
    Closed,
    /// `h2` ended the connection with an error.
    Failed(h2::Error),
    /// The server is shutting down.
    Shutdown,
    /// A stream's request body did not come in time (it is answered 408).
    BodyLate,
    /// The client flooded the connection.
    Flood(super::flood::Flood),
    /// A deadline passed.
    Tick,
}

/// Serves one HTTP/2 connection until it ends; every problem is logged here.
pub(crate) async fn serve<S, R>(
    io: S,
    peer: SocketAddr,
    settings: &Settings,
    responder: &R,
    shutdown: &Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Respond,
{
    let (watched, signals, kept) = Watched::new(io);
    let handshake = limits::builder().handshake::<_, Bytes>(watched.compat());
    let deadline = Timer::after(settings.head_timeout);
    match select(handshake, deadline).await {
        Either::Left((Ok(conn), _)) => {
            drive(conn, &signals, peer, settings, responder, shutdown).await;
        }
        Either::Left((Err(e), _)) => report(peer, &e),
        // A client that never sends its preface is closed quietly, like a silent
        // HTTP/1 connection.
        Either::Right(_) => {}
    }
    linger(kept).await;
}

/// The connection's `h2` state over the watched stream.
type Conn<S> = h2::server::Connection<tokio_util::compat::Compat<Watched<S>>, Bytes>;

async fn drive<S, R>(
    mut conn: Conn<S>,
    signals: &Signals,
    peer: SocketAddr,
    settings: &Settings,
    responder: &R,
    shutdown: &Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Respond,
{
    // Declared before the streams, which borrow it.
    let waiting = Waiting::default();
    let mut streams = FuturesUnordered::new();
    let mut fired = pin!(shutdown.wait().fuse());
    let mut timer = Timer::never();
    let mut armed: Option<Instant> = None;
    let mut served: u32 = 0;
    // When the last stream ended (or the connection started); meaningful while idle.
    let mut idle_since = Instant::now();
    // GOAWAY sent: no new streams wanted; `close_by` is set while no stream is left.
    let mut closing = false;
    let mut close_by: Option<Instant> = None;
    // A flooding client gets its GOAWAY within a send timeout, streams or not.
    let mut flooded: Option<Instant> = None;
    let mut pace = Pace::new(settings.send_timeout);
    if shutdown.is_fired() {
        conn.graceful_shutdown();
        closing = true;
    }
    // Streams accepted since the streams last ran: the next poll takes the other
    // requests already read before it runs them, so their responses leave in one write.
    let mut accepting: usize = 0;
    loop {
        let event = std::future::poll_fn(|cx| {
            // Streams first: what they send is written by the connection below.
            let mut run_streams = |cx: &mut Context<'_>| {
                let busy = !streams.is_empty();
                while let Poll::Ready(Some(())) = streams.poll_next_unpin(cx) {}
                let now = Instant::now();
                if busy && streams.is_empty() {
                    idle_since = now;
                }
                // Streams waiting for their request bodies send nothing meanwhile.
                pace.set_busy(streams.len() > waiting.reading(), now);
            };
            let ran = accepting == 0 || accepting >= ACCEPT_BATCH;
            if ran {
                accepting = 0;
            }
            if ran {
                run_streams(cx);
            }
            let mut accepted = conn.poll_accept(cx);
            if accepted.is_pending() && !ran {
                run_streams(cx);
                accepted = conn.poll_accept(cx);
            }
            let now = Instant::now();
            if waiting.take_late() && !closing {
                return Poll::Ready(Event::BodyLate);
            }
            if let (None, Some(flood)) = (flooded, signals.flood()) {
                return Poll::Ready(Event::Flood(flood));
            }
            match accepted {
                Poll::Ready(Some(Ok((req, respond)))) => {
                    return Poll::Ready(Event::Stream(req, respond))
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Event::Failed(e)),
                Poll::Ready(None) => return Poll::Ready(Event::Closed),
                Poll::Pending => {}
            }
            if !closing && fired.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if closing && streams.is_empty() && close_by.is_none() {
                close_by = Some(now + CLOSING_WAIT);
            }
            let idle =
                (!closing && streams.is_empty()).then(|| idle_end(idle_since, served, settings));
            let stalled = signals
                .blocked_for()
                .map(|b| now + settings.send_timeout.saturating_sub(b));
            let slow = pace.deadline(signals.written(), now);
            let next = [idle, stalled, slow, close_by, flooded]
                .into_iter()
                .flatten()
                .min();
            if next != armed {
                match next {
                    Some(at) => timer.set_at(at),
                    None => timer = Timer::never(),
                }
                armed = next;
            }
            if armed.is_some() && Pin::new(&mut timer).poll(cx).is_ready() {
                armed = None;
                return Poll::Ready(Event::Tick);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Stream(req, respond) => {
                accepting += 1;
                served += 1;
                // (A client may open streams until our final GOAWAY names the last one.)
                close_by = None;
                let one = stream::serve(req, respond, responder, settings, peer, &waiting);
                // A bug that panics resets its own stream (dropping its handle), never the
                // connection's other streams.
                streams.push(AssertUnwindSafe(one).catch_unwind().map(|r| {
                    if r.is_err() {
                        crate::log_queue::error(format_args!(
                            "{peer}: internal error (a bug: please report it); stream reset"
                        ));
                    }
                }));
                if served >= settings.max_requests && !closing {
                    conn.graceful_shutdown();
                    closing = true;
                }
            }
            Event::Closed => break,
            Event::Failed(e) => {
                // After a flood, h2's own complaint about it would say it twice.
                if flooded.is_none() {
                    report(peer, &e);
                }
                break;
            }
            Event::Shutdown | Event::BodyLate => {
                conn.graceful_shutdown();
                closing = true;
            }
            Event::Flood(flood) => {
                crate::log_queue::error(format_args!(
                    "{peer}: {flood}; GOAWAY sent, connection closed"
                ));
                conn.abrupt_shutdown(Reason::ENHANCE_YOUR_CALM);
                flooded = Some(Instant::now() + settings.send_timeout);
                closing = true;
            }
            Event::Tick => {
                let now = Instant::now();
                if [close_by, flooded]
                    .into_iter()
                    .flatten()
                    .any(|at| now >= at)
                {
                    break;
                }
                let stalled = signals
                    .blocked_for()
                    .is_some_and(|b| b >= settings.send_timeout);
                let slow = pace
                    .deadline(signals.written(), now)
                    .is_some_and(|at| at <= now);
                if stalled || slow {
                    crate::log_queue::error(format_args!(
                        "{peer}: send timeout: the client reads too slowly or not at all; connection closed"
                    ));
                    break;
                }
                if !closing && streams.is_empty() && now >= idle_end(idle_since, served, settings) {
                    // Idle: GOAWAY and close (nginx does the same on keepalive_timeout).
                    conn.graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// When a connection with no open stream since `since` has idled long enough: the
/// head timeout until the first request, then the keep-alive timeout.
fn idle_end(since: Instant, served: u32, settings: &Settings) -> Instant {
    since
        + if served == 0 {
            settings.head_timeout
        } else {
            settings.idle_timeout
        }
}

/// One stderr line for a connection `h2` ended with an error of the client's making;
/// nothing for a client that just went away or closed with GOAWAY itself.
fn report(peer: SocketAddr, e: &h2::Error) {
    if e.is_io() || e.is_remote() {
        return;
    }
    crate::log_queue::error(format_args!(
        "{peer}: HTTP/2 protocol error: {e}; connection closed"
    ));
}

/// Closes our side, then reads and drops what the client still sends, bounded.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(kept: Kept<S>) {
    let Some(mut io) = kept.take() else {
        return;
    };
    let end = Instant::now() + LINGER_TIME;
    if let Either::Right(_) = select(io.close(), Timer::at(end)).await {
        return;
    }
    let mut scratch = vec![0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        match select(io.read(&mut scratch), Timer::at(end)).await {
            Either::Left((Ok(n), _)) if n > 0 => drained += n,
            _ => break,
        }
    }
}
