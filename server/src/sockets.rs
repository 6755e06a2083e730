//! The listening sockets and what each speaks: bound from `--bind`/`--port` (with
//! `SO_REUSEPORT` under `--reuse-port`, and a second one for `--redirect-http`), or
//! handed over by systemd or a binary upgrade ([`crate::ops::activation`]), where a
//! socket named `https` speaks TLS.

use crate::config::Config;
use crate::listener::StartError;
use crate::ops::drain::{self, Origin};
use crate::ops::{activation, upgrade};
use crate::rt::Async;
use rustix::net::{sockopt, AddressFamily, SocketType};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};

/// The kernel's queue of connections not yet accepted. 1024 rides out bursts of new
/// connections (the kernel caps it at `net.core.somaxconn`, 4096 on current Linux).
const LISTEN_BACKLOG: i32 = 1024;

/// What a listener's connections speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Plain HTTP/1.x.
    Http,
    /// HTTP/1.x inside TLS, with the state's TLS set-up.
    Tls,
    /// `--redirect-http`: every request gets a 308 to https on `tls_port`.
    Redirect { tls_port: u16 },
}

/// Accepts the next connection on `socket`, already non-blocking (one `accept4`, no
/// `ioctl`). Waits for readiness through the reactor's record of events, so a poll
/// with nothing new costs no system call (a serving thread polls its accept loops
/// whenever any of its tasks wakes).
pub(crate) async fn accept(
    socket: &Async<TcpListener>,
) -> io::Result<(Async<TcpStream>, SocketAddr)> {
    use rustix::net::{acceptfrom_with, SocketFlags};
    loop {
        match acceptfrom_with(
            socket.get_ref(),
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        ) {
            Ok((fd, addr)) => {
                let peer = addr
                    .and_then(|a| SocketAddr::try_from(a).ok())
                    .ok_or_else(|| io::Error::other("accepted a connection with no IP address"))?;
                return Ok((Async::accepted(TcpStream::from(fd)), peer));
            }
            Err(rustix::io::Errno::AGAIN) => {
                socket.clear_readable();
                socket.readable().await?
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// One listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: Async<TcpListener>,
    pub(crate) kind: Kind,
    /// `http`, `https`, `redirect`, or the name systemd gave the socket.
    pub(crate) name: String,
    /// Whether another process also holds it, which decides how it is closed.
    pub(crate) origin: Origin,
    /// Whether the sockets it accepts come with `TCP_NODELAY` on: Linux copies it from
    /// the listener to each connection, so it is set once here instead of by one
    /// `setsockopt` per connection. `false` if the listener refused it; then each
    /// connection sets its own.
    pub(crate) nodelay: bool,
}

/// Takes the sockets systemd (or a binary upgrade) handed over, or binds `--bind:--port`
/// (and `--redirect-http`). `tls`: whether certificates are loaded.
pub(crate) fn open(config: &Config, tls: bool) -> Result<Vec<Listener>, StartError> {
    upgrade::take_parent_pipe();
    let inherited = activation::from_env()?;
    if inherited.is_empty() {
        return bind(config, tls);
    }
    let origin = if upgrade::inherited_sockets_owned() {
        Origin::Owned
    } else {
        Origin::Held
    };
    let tls_port = inherited
        .iter()
        .find(|s| s.is_https())
        .and_then(|s| s.listener.local_addr().ok())
        .map(|a| a.port());
    let mut listeners = Vec::with_capacity(inherited.len());
    for socket in inherited {
        let kind = match (socket.is_https(), tls, tls_port) {
            (true, true, _) => Kind::Tls,
            (true, false, _) => {
                return Err(StartError(format!(
                    "the inherited socket named '{}' is for HTTPS; pass --tls-cert and --tls-key, or name it http (FileDescriptorName=http)",
                    socket.name
                )))
            }
            // With --redirect-http, the cleartext sockets redirect to the HTTPS one.
            (false, true, Some(tls_port)) if config.redirect_http.is_some() => {
                Kind::Redirect { tls_port }
            }
            (false, _, _) => Kind::Http,
        };
        // A previous process may have stopped new connections on it while draining.
        drain::clear_filter(&socket.listener).map_err(|e| {
            StartError(format!(
                "cannot clear the inherited socket '{}': {e}",
                socket.name
            ))
        })?;
        let nodelay = inherit_nodelay(&socket.listener);
        listeners.push(Listener {
            socket: watch(socket.listener)?,
            kind,
            name: socket.name,
            origin,
            nodelay,
        });
    }
    Ok(listeners)
}

/// Binds the `--port` listener (TLS when `tls`) and the `--redirect-http` one.
fn bind(config: &Config, tls: bool) -> Result<Vec<Listener>, StartError> {
    if let Some(port) = config.redirect_http {
        if port == config.port && port != 0 {
            return Err(StartError(format!(
                "--redirect-http {port} is also the HTTPS port; pick another, e.g. --redirect-http 80"
            )));
        }
    }
    let bound = |port: u16, kind: Kind, name: &str| -> Result<Listener, StartError> {
        let addr = SocketAddr::new(config.bind, port);
        let (socket, nodelay) =
            listen(addr, config.reuse_port).map_err(|e| bind_error(addr, &e))?;
        Ok(Listener {
            socket: watch(socket)?,
            kind,
            name: name.to_owned(),
            origin: Origin::Owned,
            nodelay,
        })
    };
    let main = if tls {
        bound(config.port, Kind::Tls, activation::HTTPS_NAME)?
    } else {
        bound(config.port, Kind::Http, "http")?
    };
    let tls_port = main
        .socket
        .get_ref()
        .local_addr()
        .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?
        .port();
    let mut listeners = vec![main];
    if let Some(port) = config.redirect_http {
        listeners.push(bound(port, Kind::Redirect { tls_port }, "redirect")?);
    }
    Ok(listeners)
}

/// Turns `TCP_NODELAY` on for an inherited listening socket, so connections it accepts
/// have it from the start (responses go out as written; a head and a small body never
/// wait for an ACK). Returns whether every connection it will hand us has it: only if it
/// was on already. The kernel copies the option when a handshake completes, so clients
/// that connected before this call (those queued while systemd started us, or at a
/// binary upgrade from a build that did not set it) come without it, and each of this
/// process's connections then sets its own. (deploy/server.socket has `NoDelay=true`.)
fn inherit_nodelay(socket: &TcpListener) -> bool {
    let was_on = sockopt::tcp_nodelay(socket).unwrap_or(false);
    let _ = sockopt::set_tcp_nodelay(socket, true);
    was_on
}

/// Registers a listening socket with the reactor.
fn watch(socket: TcpListener) -> Result<Async<TcpListener>, StartError> {
    Async::new(socket).map_err(|e| StartError(format!("cannot watch the socket: {e}")))
}

/// Creates a listening socket with `SO_REUSEADDR` (and `SO_REUSEPORT` if asked) and a
/// deep backlog. `TCP_NODELAY` is set before it listens, so every connection it accepts
/// has it (Linux copies it from the listener); the flag says whether that took.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<(TcpListener, bool)> {
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
    let nodelay = sockopt::set_tcp_nodelay(&fd, true).is_ok();
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, LISTEN_BACKLOG)?;
    Ok((TcpListener::from(fd), nodelay))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_take_tcp_nodelay_from_a_listener_we_bind() {
        let mut config = <Config as clap::Parser>::try_parse_from(["server"]).unwrap();
        for addr in ["127.0.0.1", "::1"] {
            config.bind = addr.parse().unwrap();
            config.port = 0;
            let Ok(listeners) = bind(&config, false) else {
                continue; // No IPv6 on this machine.
            };
            let listener = listeners[0].socket.get_ref();
            assert!(listeners[0].nodelay, "{addr}");
            let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            assert!(accepted.nodelay().unwrap(), "{addr}");
        }
    }

    #[test]
    fn an_inherited_listener_without_tcp_nodelay_leaves_it_to_each_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // Queued before the server set it: comes without it.
        let _early = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(!inherit_nodelay(&listener));
        let _late = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (early, _) = listener.accept().unwrap();
        let (late, _) = listener.accept().unwrap();
        assert!(
            !early.nodelay().unwrap(),
            "the kernel copied it at the handshake"
        );
        assert!(late.nodelay().unwrap());
        // The next process (a binary upgrade) finds it on, and its connections all have it.
        assert!(inherit_nodelay(&listener));
    }

    #[test]
    fn port_80_hint_mentions_socket_activation() {
        let addr: SocketAddr = "0.0.0.0:80".parse().unwrap();
        let e = bind_error(addr, &io::ErrorKind::PermissionDenied.into());
        assert!(
            e.0.starts_with("port 80 needs root; try --port 8080"),
            "{e}"
        );
        assert!(e.0.contains("socket activation"), "{e}");
    }
}
