//! The listening socket and the accept loop: one task per connection, a cap on live
//! connections (backpressure, not refusal), and back-off when `accept` fails.

use crate::config::Config;
use crate::connection;
use crate::deadline::sleep;
use crate::resolve::Root;
use crate::shutdown::Shutdown;
use crate::state::State;
use crate::watchdog::SWEEP_INTERVAL;
use async_io::Async;
use async_std::channel::{bounded, Receiver, Sender};
use futures_lite::FutureExt;
use rustix::net::{sockopt, AddressFamily, SocketType};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kernel's queue of connections not yet accepted. 1024 rides out bursts of new
/// connections (the kernel caps it at `net.core.somaxconn`, 4096 on current Linux).
const LISTEN_BACKLOG: i32 = 1024;

/// Pause after `accept` fails for lack of descriptors or memory, so the loop backs off
/// instead of spinning a core while connections finish and free descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Descriptors kept aside from the connection cap: the root, the log, the listener, and
/// files open for responses in flight (small cached files need none; a response that
/// cannot open its file for lack of descriptors gets a 500, and `accept` backs off).
const RESERVED_DESCRIPTORS: u64 = 256;

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
pub struct Server {
    listener: Async<TcpListener>,
    state: Arc<State>,
    shutdown: Shutdown,
    max_connections: usize,
}

impl Server {
    /// Opens the root and binds the listening socket.
    pub fn bind(config: Config) -> Result<Server, StartError> {
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
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = listen(addr).map_err(|e| bind_error(addr, &e))?;
        let listener = Async::new(listener)
            .map_err(|e| StartError(format!("cannot watch the socket: {e}")))?;
        let max_connections = config
            .max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        Ok(Server {
            listener,
            state: Arc::new(State {
                config,
                root,
                cache: Default::default(),
                watchdog: Default::default(),
                gzip_cache: Default::default(),
            }),
            shutdown: Shutdown::new(),
            max_connections,
        })
    }

    /// The address actually bound (with the real port when `--port 0`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.get_ref().local_addr()
    }

    /// The canonical served folder.
    pub fn root(&self) -> &std::path::Path {
        self.state.root.path()
    }

    /// A handle that stops the server when fired.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The most connections served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Accepts connections until shutdown, then waits up to the grace period for live
    /// connections to finish. Returns the number still live when it gave up.
    pub async fn run(self) -> usize {
        let (slots_tx, slots_rx) = bounded::<()>(self.max_connections);
        let accepting = self.accept_loop(slots_tx, slots_rx);
        let watchdog = self.state.watchdog.clone();
        let sweeping = async {
            loop {
                sleep(SWEEP_INTERVAL).await;
                watchdog.sweep(false);
            }
        };
        futures_lite::future::or(
            futures_lite::future::or(accepting, sweeping),
            self.shutdown.wait(),
        )
        .await;
        // Stop listening: new connections are refused from here on.
        drop(self.listener);
        // Close idle connections now; busy ones finish within the grace period, their
        // deadlines still enforced.
        let grace = Duration::from_secs(self.state.config.shutdown_grace);
        let end = Instant::now() + grace;
        let mut next_sweep = Instant::now();
        while self.shutdown.live() > 0 && Instant::now() < end {
            if Instant::now() >= next_sweep {
                watchdog.sweep(true);
                next_sweep = Instant::now() + SWEEP_INTERVAL;
            }
            sleep(Duration::from_millis(20)).await;
        }
        self.shutdown.live()
    }

    async fn accept_loop(&self, slots: Sender<()>, freed: Receiver<()>) {
        loop {
            // Backpressure: wait for a free slot before accepting; the kernel queues the rest.
            if slots.send(()).await.is_err() {
                return;
            }
            let (stream, peer) = loop {
                match self.listener.accept().await {
                    Ok(pair) => break pair,
                    Err(e) => {
                        if is_resource_exhaustion(&e) {
                            eprintln!("server: accept failed: {e}; backing off");
                            sleep(ACCEPT_BACKOFF).await;
                        }
                        // ECONNABORTED and friends concern one peer only: accept again.
                    }
                }
            };
            let _ = stream.get_ref().set_nodelay(true);
            let state = self.state.clone();
            let shutdown = self.shutdown.clone();
            let freed = freed.clone();
            let guard = shutdown.track();
            async_std::task::spawn(async move {
                // A bug that panics takes down its own connection, never the server.
                let served = AssertUnwindSafe(connection::serve(stream, peer, &state, &shutdown));
                match served.catch_unwind().await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) if is_peer_gone(&e) => {}
                    Ok(Err(e)) => eprintln!("server: {peer}: {e}"),
                    Err(_) => eprintln!("server: {peer}: internal error (a bug: please report it); connection closed"),
                }
                drop(guard);
                let _ = freed.try_recv();
            });
        }
    }
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

/// Raises the soft open-file limit to the hard one and derives the connection cap: one
/// descriptor per connection, less [`RESERVED_DESCRIPTORS`].
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
    nofile.saturating_sub(RESERVED_DESCRIPTORS).max(16) as usize
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
