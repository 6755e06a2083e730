//! The listening sockets and their accept loops: one serving thread per CPU, each
//! accepting on every listener and running one task per connection it accepted; one cap
//! on live connections shared by all (backpressure, not refusal), and back-off when
//! `accept` fails. Each listener says what its connections speak, so a socket can
//! be wrapped (a TLS handshake) before the connection is served, and over TLS, ALPN
//! says whether HTTP/2 or HTTP/1.1 serves it. The sockets come from
//! [`crate::sockets`]; at shutdown they close without resetting a queued connection
//! ([`crate::ops::drain`]).

use crate::config::Config;
use crate::conn;
use crate::files::root::Root;
use crate::h2;
use crate::log_queue::error;
use crate::ops::drain::{self, Origin};
use crate::ops::upgrade;
use crate::rt;
use crate::rt::Async;
use crate::shutdown::Shutdown;
use crate::sockets::{self, Kind, Listener};
use crate::spread::{self, Counted, Share, Spread};
use crate::state::State;
use crate::tls;
use crate::watchdog;
use async_lock::{Semaphore, SemaphoreGuardArc};
use async_std::channel::{bounded, Receiver, Sender};
use futures::future::Either;
use futures::FutureExt;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pause after `accept` fails for lack of descriptors or memory, so the loop backs off
/// instead of spinning a core while connections finish and free descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Descriptors kept aside before the connection cap is worked out: the root, the
/// listeners (one copy per serving thread), the runtime's, the logs', the open-file
/// cache's (`files::cache::MAX_CACHED_DESCRIPTORS`), and the brief extra ones a request
/// opens (a twin probe, the 404 page). A request that still cannot open a file gets a 503 with
/// `Retry-After`, and `accept` backs off.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Descriptors one connection may hold at once: its socket and the file it is sending.
/// The default cap leaves room for both, so a connection that got a slot can open its
/// file (small cached files need none).
const DESCRIPTORS_PER_CONNECTION: u64 = 2;

/// How often the shutdown wait checks whether the last connection has finished.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// Why the server could not start; each message says what to do.
#[derive(Debug)]
pub struct StartError(pub String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A bound server, ready to run.
#[derive(Debug)]
pub(crate) struct Server {
    listeners: Vec<Listener>,
    state: Arc<State>,
    shutdown: Shutdown,
    /// One permit per connection served at once, returned when its task ends.
    slots: Arc<Semaphore>,
    /// SIGUSR2: start the new binary and hand it the listeners.
    upgrades: (Sender<()>, Receiver<()>),
}

/// Asks a running server for a binary upgrade (SIGUSR2).
#[derive(Clone, Debug)]
pub(crate) struct UpgradeHandle(Sender<()>);

impl UpgradeHandle {
    /// Requests an upgrade; a request while one is under way is dropped.
    pub(crate) fn request(&self) {
        let _ = self.0.try_send(());
    }
}

impl Server {
    /// Opens the root and binds the listening socket.
    pub(crate) fn bind(config: Config) -> Result<Server, StartError> {
        let root = Root::open(&config.root).map_err(|e| {
            let shown = config.root.display();
            match e.kind() {
                io::ErrorKind::NotFound => StartError(format!(
                    "root folder '{shown}' not found; create it or pass --root DIR"
                )),
                io::ErrorKind::NotADirectory => {
                    StartError(format!("root '{shown}' is not a folder; pass --root DIR"))
                }
                _ => StartError(format!("cannot open root folder '{shown}': {e}")),
            }
        })?;
        // Certificates before sockets: a bad file stops start-up with nothing bound.
        let tls = tls::Live::from_config(&config).map_err(|e| StartError(e.to_string()))?;
        let listeners = sockets::open(&config, tls.is_some())?;
        let max_connections = config
            .max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        let mut state = State::new(config, root)?;
        state.tls = tls;
        Ok(Server {
            listeners,
            state: Arc::new(state),
            shutdown: Shutdown::new(),
            slots: Arc::new(Semaphore::new(max_connections)),
            upgrades: bounded(1),
        })
    }

    /// Every listener's address and what it speaks (the real port when `--port 0`).
    pub(crate) fn local_addrs(&self) -> io::Result<Vec<(Kind, SocketAddr)>> {
        self.listeners
            .iter()
            .map(|l| Ok((l.kind, l.socket.get_ref().local_addr()?)))
            .collect()
    }

    /// A handle that asks for a binary upgrade.
    pub(crate) fn upgrade_handle(&self) -> UpgradeHandle {
        UpgradeHandle(self.upgrades.0.clone())
    }

    /// The canonical served folder.
    pub(crate) fn root(&self) -> &std::path::Path {
        self.state.root.path()
    }

    /// A handle that stops the server when fired.
    pub(crate) fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The shared state (for the signal task's reload).
    pub(crate) fn state(&self) -> Arc<State> {
        self.state.clone()
    }

    /// Accepts connections until shutdown (or until a binary upgrade has handed the
    /// listeners on), closes the listeners, then waits up to the grace period for live
    /// connections to finish. Returns the number still live when it gave up.
    pub(crate) async fn run(self) -> usize {
        let Server {
            listeners,
            state,
            shutdown,
            slots,
            upgrades,
        } = self;
        // Deadlines are enforced from a plain thread, so no serving thread has a timer
        // pending while it waits for sockets.
        let _sweeper = state.watchdog.start_sweeper(&shutdown);
        // One serving thread per CPU: this one and `threads - 1` more, each accepting on
        // its own duplicate of every listener and running what it accepted.
        let threads = state.config.threads.unwrap_or_else(rt::default_threads);
        let spread = Spread::new(threads);
        for n in 1..threads {
            // Counted before it runs, so it does not take a burst as the only thread.
            let share = spread.start(n);
            if let Err(e) = start_serving_thread(n, &listeners, &state, &shutdown, &slots, share) {
                spread.failed();
                error(format_args!(
                    "cannot start serving thread {n} ({e}); serving with {n} thread(s)"
                ));
                break;
            }
        }
        let first = spread.thread(0);
        let accepting = futures::future::join_all(
            listeners
                .iter()
                .map(|l| accept_loop(l, &state, &shutdown, &slots, &first)),
        );
        // Set once a new process holds the sockets too: from then on they are closed
        // without filtering, leaving their queues to it.
        let handed_on = AtomicBool::new(false);
        let upgrading = upgrade::serve(&upgrades.1, &listeners, &handed_on, &shutdown);
        futures_lite::future::or(
            accepting.map(drop),
            futures_lite::future::or(shutdown.wait(), upgrading),
        )
        .await;
        let end = Instant::now() + Duration::from_secs(state.config.shutdown_grace);
        let handed_on = handed_on.load(Ordering::Acquire);
        let closing = close_listeners(
            listeners,
            handed_on,
            (&state, &shutdown, &slots, &first),
            end,
        );
        // Close idle connections now; busy ones finish within the grace period, their
        // deadlines still enforced by the sweeper.
        state.watchdog.sweep(true);
        closing.await;
        drain_connections(&shutdown, end).await;
        shutdown.live()
    }
}

/// Starts serving thread `n`: it accepts on duplicates of `listeners` (the same sockets:
/// the kernel hands each new connection to one of the threads waiting) until shutdown,
/// then runs its connections to their end or the grace period's. Closing the sockets at
/// shutdown, with their queues drained, stays with the first thread.
fn start_serving_thread(
    n: usize,
    listeners: &[Listener],
    state: &Arc<State>,
    shutdown: &Shutdown,
    slots: &Arc<Semaphore>,
    share: Share,
) -> io::Result<()> {
    let sockets = listeners
        .iter()
        .map(|l| Ok((l.socket.get_ref().try_clone()?, l.kind, l.nodelay)))
        .collect::<io::Result<Vec<_>>>()?;
    let (state, shutdown, slots) = (state.clone(), shutdown.clone(), slots.clone());
    rt::start_thread(format!("serve-{n}"), move || async move {
        let mut mine = Vec::new();
        for (socket, kind, nodelay) in sockets {
            match Async::new(socket) {
                Ok(socket) => mine.push((socket, kind, nodelay)),
                Err(e) => error(format_args!("serving thread {n}: {e}")),
            }
        }
        let accepting = futures::future::join_all(mine.iter().map(|(socket, kind, nodelay)| {
            accept_on(socket, (*kind, *nodelay), &state, &shutdown, &slots, &share)
        }));
        futures_lite::future::or(accepting.map(drop), shutdown.wait()).await;
        drop(mine);
        let end = Instant::now() + Duration::from_secs(state.config.shutdown_grace);
        drain_connections(&shutdown, end).await;
    })
    .map(drop)
}

/// Waits until no connection is live or `end` has passed, running this thread's
/// connections meanwhile.
async fn drain_connections(shutdown: &Shutdown, end: Instant) {
    while shutdown.live() > 0 && Instant::now() < end {
        rt::sleep(DRAIN_POLL).await;
    }
}

/// Accepts on one listener until dropped.
async fn accept_loop(
    listener: &Listener,
    state: &Arc<State>,
    shutdown: &Shutdown,
    slots: &Arc<Semaphore>,
    share: &Share,
) {
    let (socket, kind, nodelay) = (&listener.socket, listener.kind, listener.nodelay);
    accept_on(socket, (kind, nodelay), state, shutdown, slots, share).await
}

/// Accepts on `socket`, whose connections speak `kind` (and have `TCP_NODELAY` from it
/// if `nodelay`), until dropped; each connection runs on this thread, counted in its
/// `share` of the threads' connections.
async fn accept_on(
    socket: &Async<TcpListener>,
    (kind, nodelay): (Kind, bool),
    state: &Arc<State>,
    shutdown: &Shutdown,
    slots: &Arc<Semaphore>,
    share: &Share,
) {
    loop {
        // A thread over its share leaves the client to a lighter one, for a while
        // (holding no slot meanwhile).
        share.wait_turn(socket).await;
        // Backpressure: wait for a free slot before accepting; the kernel queues the rest.
        let (slot, reclaim) = take_slot(socket, state, slots).await;
        let (stream, peer) = loop {
            match sockets::accept(socket).await {
                Ok(pair) => break pair,
                Err(e) => {
                    if is_resource_exhaustion(&e) {
                        error(format_args!("accept failed: {e}; backing off"));
                        rt::sleep(ACCEPT_BACKOFF).await;
                    }
                    // ECONNABORTED and friends concern one peer only: accept again.
                }
            }
        };
        drop(reclaim);
        let guards = (slot, share.count());
        spawn_connection((kind, nodelay), guards, stream, peer, state, shutdown);
    }
}

/// Idle keep-alive connections closed for each client waiting at a full cap: one
/// admits it, and no connection is closed that no one is waiting for.
const IDLE_CUTS_PER_WAITING: usize = 1;

/// How long to wait for a slot after closing idle connections (or finding none) before
/// looking again: a connection chosen may have begun a request meanwhile, and busy ones
/// go idle. One sweep interval, so a full server looks a few times a second.
const RECLAIM_RETRY: Duration = watchdog::SWEEP_INTERVAL;

/// A connection slot for the next client. With every slot taken and a client waiting
/// in the queue, closes the longest-idle keep-alive connection to make room (nginx's
/// ngx_drain_connections), so idle sockets cannot lock new clients out for a whole
/// `--keep-alive-timeout`; with none idle, it waits for a slot as before. The thread
/// that made room also gets the right to do so ([`Watchdog::reclaim`]): it keeps it
/// until it has accepted, so no other thread closes a second connection for the client
/// it is about to take.
///
/// [`Watchdog::reclaim`]: crate::watchdog::Watchdog::reclaim
async fn take_slot(
    socket: &Async<TcpListener>,
    state: &State,
    slots: &Arc<Semaphore>,
) -> (SemaphoreGuardArc, Option<watchdog::Reclaim>) {
    loop {
        if let Some(slot) = slots.try_acquire_arc() {
            return (slot, None);
        }
        // Full: only a client waiting in the queue is a reason to close anyone.
        let freed_or_waiting =
            futures_lite::future::or(slots.acquire_arc().map(Ok), socket.readable().map(Err)).await;
        match freed_or_waiting {
            Ok(slot) => return (slot, None),
            Err(Ok(())) if spread::is_waiting(socket) => {}
            // A stale readiness: the queue is empty after all.
            Err(Ok(())) => {
                socket.clear_readable();
                continue;
            }
            // The listener cannot be polled: just wait for a slot.
            Err(Err(_)) => return (slots.acquire_arc().await, None),
        }
        // One thread makes room; the others only wait for a slot (theirs to take if it
        // comes first: the client is served either way). The client may have been taken
        // while this thread waited for the right: look at the queue again.
        let reclaim = state.watchdog.reclaim();
        if reclaim.is_some() && spread::is_waiting(socket) {
            state.watchdog.cut_idle(IDLE_CUTS_PER_WAITING);
        }
        let freed = futures_lite::future::or(slots.acquire_arc().map(Some), async {
            rt::sleep(RECLAIM_RETRY).await;
            None
        })
        .await;
        if let Some(slot) = freed {
            return (slot, reclaim);
        }
    }
}

/// Starts the task serving one accepted connection; `slot` is returned when it ends.
/// `nodelay`: the socket already has `TCP_NODELAY` from its listener.
fn spawn_connection(
    (kind, nodelay): (Kind, bool),
    (slot, counted): (SemaphoreGuardArc, Counted),
    stream: Async<TcpStream>,
    peer: SocketAddr,
    state: &Arc<State>,
    shutdown: &Shutdown,
) {
    if !nodelay {
        let _ = stream.get_ref().set_nodelay(true);
    }
    let guards = (slot, counted, shutdown.track());
    let (state, shutdown) = (state.clone(), shutdown.clone());
    // Plain HTTP straight into the connection loop, owning what it uses; the others
    // boxed. No async wrapper around it: each layer would keep its own copy of the
    // arguments, and an idle connection's task is most of what it costs.
    let served = match kind {
        Kind::Http => Either::Left(conn::serve(stream, peer, state, shutdown)),
        _ => Either::Right(Box::pin(async move {
            if let Err(e) = connection(kind, stream, peer, &state, &shutdown).await {
                if !conn::is_peer_gone(&e) {
                    error(format_args!("{peer}: {e}"));
                }
            }
        })),
    };
    // A bug that panics takes down its own connection, never the server.
    rt::spawn(AssertUnwindSafe(served).catch_unwind().map(move |served| {
        // Both guards are released when this task ends, however it ends.
        drop(guards);
        // Errors are logged where they happen, with the peer's address; the task keeps
        // no copy of it (an idle connection's task is most of what it costs). The
        // panic's own message, printed before this line, says where it was.
        if served.is_err() {
            error(format_args!(
                "internal error (a bug: please report it); a connection closed"
            ));
        }
    }));
}

/// Closes the listeners at shutdown: at once those another process also holds (it
/// keeps their queues), and those we alone hold once new connections are stopped and
/// what their queues still hold has been accepted (see [`drain`]).
async fn close_listeners(
    listeners: Vec<Listener>,
    handed_on: bool,
    (state, shutdown, slots, share): (&Arc<State>, &Shutdown, &Arc<Semaphore>, &Share),
    end: Instant,
) {
    let settle = Instant::now() + drain::LISTEN_DRAIN;
    let mut ours = Vec::new();
    for l in listeners {
        if handed_on || l.origin == Origin::Held {
            continue;
        }
        match drain::stop_new_connections(&l.socket) {
            Ok(()) => ours.push(l),
            Err(e) => error(format_args!(
                "cannot stop new connections on the {} socket ({e}); closing it now",
                l.name
            )),
        }
    }
    futures::future::join_all(ours.iter().map(|l| {
        drain::accept_queued(&l.socket, slots, settle, end, |slot, stream, peer| {
            let guards = (slot, share.count());
            spawn_connection((l.kind, l.nodelay), guards, stream, peer, state, shutdown);
        })
    }))
    .await;
}

/// Serves one accepted socket as its listener's protocol says. A protocol that wraps
/// the socket (TLS) does its handshake here, then hands the wrapped stream over.
async fn connection(
    kind: Kind,
    stream: Async<TcpStream>,
    peer: SocketAddr,
    state: &Arc<State>,
    shutdown: &Shutdown,
) -> io::Result<()> {
    match (kind, &state.tls) {
        // Boxed: a TLS session is large, and inline it would make every connection's
        // task that large, plain ones and idle ones included.
        (Kind::Tls, Some(live)) => Box::pin(serve_tls(stream, peer, live, state, shutdown)).await,
        (Kind::Redirect { tls_port }, _) => {
            let limits = tls_limits(state);
            let quiet = state.config.quiet;
            let answered =
                tls::redirect_io::serve(stream, peer, tls_port, &state.watchdog, limits, quiet);
            if let Some(line) = Box::pin(answered).await {
                crate::log_queue::ERRORS.push(format!("{line}\n"));
            }
            Ok(())
        }
        _ => {
            conn::serve(stream, peer, state, shutdown).await;
            Ok(())
        }
    }
}

/// Serves one connection on a TLS listener: the handshake, then HTTP/2 or HTTP/1.1 as
/// ALPN chose, then `close_notify`.
async fn serve_tls(
    stream: Async<TcpStream>,
    peer: SocketAddr,
    live: &tls::Live,
    state: &Arc<State>,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let limits = tls_limits(state);
    let acceptor = live.acceptor();
    let handshake = tls::accept::handshake(stream, peer, &acceptor, &state.watchdog, limits);
    let Some(mut stream) = Box::pin(handshake).await else {
        return Ok(());
    };
    // ALPN picked the protocol: HTTP/2 when the client offered `h2` (and
    // `--http2` is on), else HTTP/1.1.
    let served = if stream.get_ref().1.alpn_protocol() == Some(h2::ALPN_H2) {
        let settings = h2::Settings::from_config(&state.config);
        Box::pin(h2::serve(&mut stream, peer, &settings, state, shutdown)).await;
        Ok(())
    } else {
        conn::serve(&mut stream, peer, state, shutdown).await;
        Ok(())
    };
    Box::pin(tls::accept::close(
        &mut stream,
        &state.watchdog,
        limits.send,
    ))
    .await;
    served
}

/// The deadlines of a TLS handshake and its `close_notify` (and of the redirect
/// listener's one exchange): the head timeout to finish it, the send timeout to flush.
fn tls_limits(state: &State) -> tls::accept::Limits {
    tls::accept::Limits {
        head: state.head_timeout(),
        send: state.send_timeout(),
    }
}

/// Raises the soft open-file limit to the hard one and derives the connection cap:
/// [`DESCRIPTORS_PER_CONNECTION`] per connection, after [`RESERVED_DESCRIPTORS`].
fn default_max_connections() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum {
        if limit.current.is_some_and(|cur| cur < hard) {
            let raised = rustix::process::Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit.current = Some(hard);
            }
        }
    }
    let nofile = limit.current.unwrap_or(1 << 20).min(1 << 20);
    (nofile.saturating_sub(RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION).max(16) as usize
}

/// `accept` errors that mean the process or system is out of something.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(rustix::io::Errno::from_raw_os_error),
        Some(rustix::io::Errno::MFILE)
            | Some(rustix::io::Errno::NFILE)
            | Some(rustix::io::Errno::NOBUFS)
            | Some(rustix::io::Errno::NOMEM)
    )
}
