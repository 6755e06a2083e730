//! The listening sockets and their accept loops: one task per connection, one cap on
//! live connections shared by every listener (backpressure, not refusal), and back-off
//! when `accept` fails. Each listener says what its connections speak, so a socket can
//! be wrapped (a TLS handshake) before the connection is served.

use crate::config::Config;
use crate::conn;
use crate::files::root::Root;
use crate::log_queue::error;
use crate::rt;
use crate::shutdown::Shutdown;
use crate::state::State;
use crate::tls;
use async_io::Async;
use async_lock::Semaphore;
use futures::FutureExt;
use rustix::net::{sockopt, AddressFamily, SocketType};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kernel's queue of connections not yet accepted. 1024 rides out bursts of new
/// connections (the kernel caps it at `net.core.somaxconn`, 4096 on current Linux).
const LISTEN_BACKLOG: i32 = 1024;

/// Pause after `accept` fails for lack of descriptors or memory, so the loop backs off
/// instead of spinning a core while connections finish and free descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Descriptors kept aside before the connection cap is worked out: the root, the
/// listeners, the runtime's, the logs', and the brief extra ones a request opens (a
/// twin probe, the 404 page). A request that still cannot open a file gets a 503 with
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

/// What a listener's connections speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Plain HTTP/1.x.
    Http,
    /// HTTP/1.x inside TLS, with the state's TLS set-up.
    Tls,
    /// `--redirect-http`: every request gets a 308 to https on `tls_port`.
    Redirect { tls_port: u16 },
}

/// One listening socket.
#[derive(Debug)]
struct Listener {
    socket: Async<TcpListener>,
    kind: Kind,
}

/// A bound server, ready to run.
#[derive(Debug)]
pub(crate) struct Server {
    listeners: Vec<Listener>,
    state: Arc<State>,
    shutdown: Shutdown,
    /// One permit per connection served at once, returned when its task ends.
    slots: Arc<Semaphore>,
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
        let kind = if tls.is_some() { Kind::Tls } else { Kind::Http };
        if let Some(port) = config.redirect_http {
            if port == config.port && port != 0 {
                return Err(StartError(format!(
                    "--redirect-http {port} is also the HTTPS port; pick another, e.g. --redirect-http 80"
                )));
            }
        }
        let mut listeners = vec![Listener {
            socket: watched(SocketAddr::new(config.bind, config.port))?,
            kind,
        }];
        if let Some(port) = config.redirect_http {
            let tls_port = listeners[0]
                .socket
                .get_ref()
                .local_addr()
                .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?
                .port();
            listeners.push(Listener {
                socket: watched(SocketAddr::new(config.bind, port))?,
                kind: Kind::Redirect { tls_port },
            });
        }
        let max_connections = config
            .max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        let mut state = State::new(config, root);
        state.tls = tls;
        Ok(Server {
            listeners,
            state: Arc::new(state),
            shutdown: Shutdown::new(),
            slots: Arc::new(Semaphore::new(max_connections)),
        })
    }

    /// Whether the first listener speaks HTTPS.
    pub(crate) fn is_tls(&self) -> bool {
        self.listeners.first().is_some_and(|l| l.kind == Kind::Tls)
    }

    /// The address of the `--redirect-http` listener, if there is one.
    pub(crate) fn redirect_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| matches!(l.kind, Kind::Redirect { .. }))
            .and_then(|l| l.socket.get_ref().local_addr().ok())
    }

    /// The address the first listener actually bound (the real port when `--port 0`).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.listeners.first() {
            Some(l) => l.socket.get_ref().local_addr(),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
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

    /// Accepts connections until shutdown, then waits up to the grace period for live
    /// connections to finish. Returns the number still live when it gave up.
    pub(crate) async fn run(self) -> usize {
        let Server {
            listeners,
            state,
            shutdown,
            slots,
        } = self;
        let accepting = futures::future::join_all(
            listeners
                .iter()
                .map(|l| accept_loop(l, &state, &shutdown, &slots)),
        );
        futures_lite::future::or(
            futures_lite::future::or(accepting.map(drop), state.watchdog.run(&shutdown)),
            shutdown.wait(),
        )
        .await;
        // Stop listening: new connections are refused from here on.
        drop(listeners);
        // Close idle connections now; busy ones finish within the grace period, their
        // deadlines still enforced by the sweeper.
        state.watchdog.sweep(true);
        let end = Instant::now() + Duration::from_secs(state.config.shutdown_grace);
        let draining = async {
            while shutdown.live() > 0 && Instant::now() < end {
                rt::sleep(DRAIN_POLL).await;
            }
        };
        futures_lite::future::or(draining, state.watchdog.run(&shutdown)).await;
        shutdown.live()
    }
}

/// Accepts on one listener until dropped.
async fn accept_loop(
    listener: &Listener,
    state: &Arc<State>,
    shutdown: &Shutdown,
    slots: &Arc<Semaphore>,
) {
    loop {
        // Backpressure: wait for a free slot before accepting; the kernel queues the rest.
        let slot = slots.acquire_arc().await;
        let (stream, peer) = loop {
            match listener.socket.accept().await {
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
        let _ = stream.get_ref().set_nodelay(true);
        let (state, shutdown, kind) = (state.clone(), shutdown.clone(), listener.kind);
        let live = shutdown.track();
        rt::spawn(async move {
            // Both guards are released when this task ends, however it ends.
            let (_slot, _live) = (slot, live);
            // A bug that panics takes down its own connection, never the server.
            let served = AssertUnwindSafe(connection(kind, stream, peer, &state, &shutdown));
            match served.catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if is_peer_gone(&e) => {}
                Ok(Err(e)) => error(format_args!("{peer}: {e}")),
                Err(_) => error(format_args!(
                    "{peer}: internal error (a bug: please report it); connection closed"
                )),
            }
        });
    }
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
    let limits = tls::accept::Limits {
        head: state.head_timeout(),
        send: state.send_timeout(),
    };
    match (kind, &state.tls) {
        (Kind::Tls, Some(live)) => {
            let acceptor = live.acceptor();
            let handshake =
                tls::accept::handshake(stream, peer, &acceptor, &state.watchdog, limits);
            let Some(mut stream) = Box::pin(handshake).await else {
                return Ok(());
            };
            let served = conn::serve(&mut stream, peer, state, shutdown).await;
            Box::pin(tls::accept::close(
                &mut stream,
                &state.watchdog,
                limits.send,
            ))
            .await;
            served
        }
        (Kind::Redirect { tls_port }, _) => {
            let quiet = state.config.quiet;
            let answered =
                tls::redirect_io::serve(stream, peer, tls_port, &state.watchdog, limits, quiet);
            if let Some(line) = Box::pin(answered).await {
                crate::log_queue::ERRORS.push(format!("{line}\n"));
            }
            Ok(())
        }
        _ => conn::serve(stream, peer, state, shutdown).await,
    }
}

/// Binds `addr` and registers the socket with the reactor.
fn watched(addr: SocketAddr) -> Result<Async<TcpListener>, StartError> {
    let socket = listen(addr).map_err(|e| bind_error(addr, &e))?;
    Async::new(socket).map_err(|e| StartError(format!("cannot watch the socket: {e}")))
}

/// Creates a listening socket with `SO_REUSEADDR` and a deep backlog.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, LISTEN_BACKLOG)?;
    Ok(TcpListener::from(fd))
}

fn bind_error(addr: SocketAddr, e: &io::Error) -> StartError {
    let port = addr.port();
    match e.kind() {
        io::ErrorKind::PermissionDenied => StartError(format!(
            "port {port} needs root; try --port {}",
            if port < 1024 { 8080 } else { 0 }
        )),
        io::ErrorKind::AddrInUse => StartError(format!(
            "port {port} is already in use; stop the other server or try --port 0"
        )),
        io::ErrorKind::AddrNotAvailable => StartError(format!(
            "address {} is not on this machine; try --bind 0.0.0.0",
            addr.ip()
        )),
        _ => StartError(format!("cannot listen on {addr}: {e}")),
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
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(rustix::io::Errno::from_raw_os_error),
        Some(rustix::io::Errno::MFILE)
            | Some(rustix::io::Errno::NFILE)
            | Some(rustix::io::Errno::NOBUFS)
            | Some(rustix::io::Errno::NOMEM)
    )
}

/// Errors that only mean the peer went away; not worth a log line.
fn is_peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}
