//! The listening sockets and the accept loop: one task per connection, a cap on live
//! connections (backpressure, not refusal), back-off when `accept` fails, and closing
//! the listeners at shutdown without resetting a queued connection.

use crate::activation;
use crate::config::Config;
use crate::connection;
use crate::deadline::sleep;
use crate::drain::{self, Origin, LISTEN_DRAIN};
use crate::resolve::Root;
use crate::shutdown::Shutdown;
use crate::state::State;
use crate::upgrade;
use crate::watchdog::SWEEP_INTERVAL;
use async_io::Async;
use async_std::channel::{bounded, Receiver, Sender};
use futures_lite::FutureExt;
use rustix::net::{sockopt, AddressFamily, SocketType};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// One listening socket.
#[derive(Debug)]
struct Listening {
    socket: Async<TcpListener>,
    /// `http`, or the name systemd gave it (`https` is for TLS).
    name: String,
    origin: Origin,
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<Listening>,
    state: Arc<State>,
    shutdown: Shutdown,
    max_connections: usize,
    /// SIGUSR2: start the new binary and hand it the listeners.
    upgrades: (Sender<()>, Receiver<()>),
    /// Set once a new process holds our listening sockets (a binary upgrade started):
    /// from then on they are closed without filtering, leaving their queues to it.
    shared: Arc<AtomicBool>,
}

/// Asks a running server for a binary upgrade (SIGUSR2).
#[derive(Clone, Debug)]
pub struct UpgradeHandle(Sender<()>);

impl UpgradeHandle {
    /// Requests an upgrade; a request while one is under way is dropped.
    pub fn request(&self) {
        let _ = self.0.try_send(());
    }
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
        let listeners = open_listeners(&config)?;
        let max_connections = config
            .max_connections
            .unwrap_or_else(default_max_connections)
            .max(1);
        Ok(Server {
            listeners,
            state: Arc::new(State {
                config,
                root,
                cache: Default::default(),
                watchdog: Default::default(),
                gzip_cache: Default::default(),
            }),
            shutdown: Shutdown::new(),
            max_connections,
            upgrades: bounded(1),
            shared: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address of the first listener (with the real port when `--port 0`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.listeners.first() {
            Some(l) => l.socket.get_ref().local_addr(),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Every listening address, with its socket's name.
    pub fn local_addrs(&self) -> Vec<(String, io::Result<SocketAddr>)> {
        self.listeners
            .iter()
            .map(|l| (l.name.clone(), l.socket.get_ref().local_addr()))
            .collect()
    }

    /// A handle that asks for a binary upgrade.
    pub fn upgrade_handle(&self) -> UpgradeHandle {
        UpgradeHandle(self.upgrades.0.clone())
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

    /// Accepts connections until shutdown, then closes the listeners (see
    /// [`crate::drain`]) and waits up to the grace period for live connections to
    /// finish. Returns the number still live when it gave up.
    pub async fn run(self) -> usize {
        let (slots_tx, slots_rx) = bounded::<()>(self.max_connections);
        let grace = Duration::from_secs(self.state.config.shutdown_grace);
        let accepting = futures::future::join_all(
            self.listeners
                .iter()
                .map(|l| self.accept_loop(l, &slots_tx, &slots_rx)),
        );
        let watchdog = self.state.watchdog.clone();
        let sweeping = async {
            loop {
                sleep(SWEEP_INTERVAL).await;
                watchdog.sweep(false);
            }
        };
        futures_lite::future::or(
            futures_lite::future::or(
                async {
                    accepting.await;
                },
                sweeping,
            ),
            futures_lite::future::or(self.shutdown.wait(), self.upgrades()),
        )
        .await;
        let end = Instant::now() + grace;
        // Close idle connections now; busy ones finish within the grace period, their
        // deadlines still enforced. Listeners we alone hold keep accepting what their
        // queues hold (new connections are stopped) and close after LISTEN_DRAIN.
        let draining = async {
            let settle = Instant::now() + LISTEN_DRAIN;
            let shared = self.shared.load(Ordering::Acquire);
            let mut drains = Vec::new();
            for l in self.listeners {
                if shared || l.origin == Origin::Held {
                    drop(l);
                    continue;
                }
                if let Err(e) = drain::stop_new_connections(&l.socket) {
                    eprintln!(
                        "server: cannot stop new connections on {}: {e}; closing it now",
                        l.name
                    );
                    continue;
                }
                drains.push(l);
            }
            let state = &self.state;
            let shutdown = &self.shutdown;
            futures::future::join_all(
                drains
                    .iter()
                    .map(|l| drain_queue(l, state, shutdown, &slots_tx, &slots_rx, settle, end)),
            )
            .await;
        };
        let waiting = async {
            let mut next_sweep = Instant::now();
            while Instant::now() < end {
                if Instant::now() >= next_sweep {
                    watchdog.sweep(true);
                    next_sweep = Instant::now() + SWEEP_INTERVAL;
                }
                sleep(Duration::from_millis(20)).await;
                if self.shutdown.live() == 0 {
                    break;
                }
            }
        };
        futures_lite::future::zip(draining, waiting).await;
        while self.shutdown.live() > 0 && Instant::now() < end {
            watchdog.sweep(true);
            sleep(Duration::from_millis(20)).await;
        }
        self.shutdown.live()
    }

    /// Serves SIGUSR2 requests until one hands the listeners to a new process, then
    /// returns (which starts the drain). Failed upgrades are logged; serving goes on.
    async fn upgrades(&self) {
        loop {
            if self.upgrades.1.recv().await.is_err() {
                return futures_lite::future::pending().await;
            }
            let owned = self.listeners.iter().all(|l| l.origin == Origin::Owned);
            let sockets: Vec<_> = self
                .listeners
                .iter()
                .map(|l| (l.socket.as_fd(), l.name.as_str()))
                .collect();
            // From here the new process may hold the sockets: never filter them.
            self.shared.store(true, Ordering::Release);
            let pending = match upgrade::spawn(&sockets, owned) {
                Ok(p) => p,
                Err(upgrade::Failed(why)) => {
                    eprintln!("server: upgrade failed: {why}; still serving");
                    self.shared.store(false, Ordering::Release);
                    continue;
                }
            };
            eprintln!(
                "server: upgrade: started process {}; waiting until it is ready",
                pending.pid()
            );
            match pending.wait_ready().await {
                Ok(pid) => {
                    eprintln!("server: upgrade: process {pid} is ready; this one drains and exits");
                    if crate::notify::supervised() {
                        crate::notify::main_pid(pid);
                    }
                    self.shutdown.fire();
                    return;
                }
                Err(upgrade::Failed(why)) => {
                    eprintln!("server: upgrade failed: {why}; still serving");
                    self.shared.store(false, Ordering::Release);
                }
            }
        }
    }

    async fn accept_loop(&self, listener: &Listening, slots: &Sender<()>, freed: &Receiver<()>) {
        loop {
            // Backpressure: wait for a free slot before accepting; the kernel queues the rest.
            if slots.send(()).await.is_err() {
                return;
            }
            let (stream, peer) = loop {
                match listener.socket.accept().await {
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
            spawn_connection(stream, peer, &self.state, &self.shutdown, freed);
        }
    }
}

/// Starts the task serving one accepted connection; its slot is freed when it ends.
fn spawn_connection(
    stream: Async<std::net::TcpStream>,
    peer: SocketAddr,
    state: &Arc<State>,
    shutdown: &Shutdown,
    freed: &Receiver<()>,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let state = state.clone();
    let shutdown = shutdown.clone();
    let freed = freed.clone();
    let guard = shutdown.track();
    async_std::task::spawn(async move {
        // A bug that panics takes down its own connection, never the server.
        let served = AssertUnwindSafe(connection::serve(stream, peer, &state, &shutdown));
        match served.catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_peer_gone(&e) => {}
            Ok(Err(e)) => eprintln!("server: {peer}: {e}"),
            Err(_) => eprintln!(
                "server: {peer}: internal error (a bug: please report it); connection closed"
            ),
        }
        drop(guard);
        let _ = freed.try_recv();
    });
}

/// After new connections are stopped at `l`: accepts what its queue still holds until
/// `settle` has passed and the queue is empty (or the grace period ends), then closes it.
async fn drain_queue(
    l: &Listening,
    state: &Arc<State>,
    shutdown: &Shutdown,
    slots: &Sender<()>,
    freed: &Receiver<()>,
    settle: Instant,
    end: Instant,
) {
    loop {
        if Instant::now() >= end {
            return;
        }
        let slot = crate::deadline::until(end, async {
            slots
                .send(())
                .await
                .map_err(|_| io::ErrorKind::BrokenPipe.into())
        });
        if slot.await.is_err() {
            return;
        }
        // Non-blocking: WouldBlock means the queue is empty right now.
        let accepted = loop {
            match l.socket.get_ref().accept() {
                Ok(pair) => break Some(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= settle {
                        break None;
                    }
                    let wait = crate::deadline::until(settle, l.socket.readable());
                    let _ = wait.await;
                }
                Err(e) if is_resource_exhaustion(&e) => sleep(ACCEPT_BACKOFF).await,
                Err(_) => {}
            }
        };
        match accepted {
            Some((stream, peer)) => match Async::new(stream) {
                Ok(stream) => spawn_connection(stream, peer, state, shutdown, freed),
                Err(_) => {
                    let _ = freed.try_recv();
                }
            },
            None => {
                let _ = freed.try_recv();
                return;
            }
        }
    }
}

/// Takes the sockets systemd (or a binary upgrade) handed over, or binds `--bind:--port`.
fn open_listeners(config: &Config) -> Result<Vec<Listening>, StartError> {
    upgrade::take_parent_pipe();
    let inherited = activation::from_env()?;
    let watch = |l: TcpListener| {
        Async::new(l).map_err(|e| StartError(format!("cannot watch the socket: {e}")))
    };
    if inherited.is_empty() {
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = listen(addr, config.reuse_port).map_err(|e| bind_error(addr, &e))?;
        return Ok(vec![Listening {
            socket: watch(listener)?,
            name: "http".to_owned(),
            origin: Origin::Owned,
        }]);
    }
    let origin = if upgrade::inherited_sockets_owned() {
        Origin::Owned
    } else {
        Origin::Held
    };
    let mut listeners = Vec::with_capacity(inherited.len());
    for socket in inherited {
        if socket.is_https() {
            return Err(StartError(format!(
                "the inherited socket named '{}' is for HTTPS, which this server does not serve yet; name it http (FileDescriptorName=http)",
                socket.name
            )));
        }
        // A previous process may have stopped new connections on it while draining.
        drain::clear_filter(&socket.listener).map_err(|e| {
            StartError(format!(
                "cannot clear the inherited socket '{}': {e}",
                socket.name
            ))
        })?;
        listeners.push(Listening {
            socket: watch(socket.listener)?,
            name: socket.name,
            origin,
        });
    }
    Ok(listeners)
}

/// Creates a listening socket with `SO_REUSEADDR` (and `SO_REUSEPORT` if asked) and a
/// deep backlog.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
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
    if reuse_port {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, LISTEN_BACKLOG)?;
    Ok(TcpListener::from(fd))
}

fn bind_error(addr: SocketAddr, e: &io::Error) -> StartError {
    let port = addr.port();
    match e.kind() {
        io::ErrorKind::PermissionDenied => StartError(format!(
            "port {port} needs root; try --port {}, or let systemd open it and pass it in (socket activation: deploy/server.socket)",
            if port < 1024 { 8080 } else { 0 }
        )),
        io::ErrorKind::AddrInUse => StartError(format!(
            "port {port} is already in use; stop the other server, try --port 0, or start both with --reuse-port"
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
