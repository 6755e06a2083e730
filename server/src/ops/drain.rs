//! Closing a listener without resetting a connection: Linux resets every connection
//! still in a listener's accept queue when it closes (and `shutdown(SHUT_RD)` on a
//! listener does the same), so a draining server first stops new connections reaching
//! the queue, then accepts what is already there, then closes.
//!
//! New connections are stopped by a socket filter (classic BPF, no privilege needed)
//! that drops bare SYNs: handshakes already answered still complete, and a client whose
//! SYN was dropped sends it again a second later, by when this listener is closed, so
//! the retry reaches another instance in the `SO_REUSEPORT` group (or is refused, and a
//! balancer sends it elsewhere). No client sees a reset.
//!
//! A socket another process also holds (systemd's socket unit, or the new process after
//! a binary upgrade) is never filtered: the holder keeps the queue alive and serves it.

use crate::rt;
use crate::rt::Async;
use async_lock::{Semaphore, SemaphoreGuardArc};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a filtered listener keeps accepting before it closes: long enough for
/// handshakes already answered (one round trip) to complete and be accepted, and
/// shorter than the one second a client waits before sending a dropped SYN again, so
/// that retry already finds this listener gone.
pub(crate) const LISTEN_DRAIN: Duration = Duration::from_millis(500);

/// Where a listening socket came from, which decides how it is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Bound by this process, or inherited from a previous process that has handed it
    /// over for good: this process is its last holder.
    Owned,
    /// Held by someone else too (systemd's socket unit): closing our descriptor leaves
    /// the queue to the holder.
    Held,
}

/// Classic BPF: load the TCP flags byte (offset 13 of the TCP header, where a TCP
/// socket filter starts), keep everything but a SYN without ACK.
const DROP_NEW_CONNECTIONS: [libc::sock_filter; 5] = [
    // ldb [13]
    bpf(0x30, 0, 0, 13),
    // and #(SYN | ACK)
    bpf(0x54, 0, 0, 0x12),
    // jeq #SYN, drop, keep
    bpf(0x15, 1, 0, 0x02),
    // keep: ret #all
    bpf(0x06, 0, 0, u32::MAX),
    // drop: ret #0
    bpf(0x06, 0, 0, 0),
];

const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Stops new connections reaching `listener`'s queue; connections already queued or
/// mid-handshake still arrive and can be accepted.
pub(crate) fn stop_new_connections(listener: &impl AsFd) -> io::Result<()> {
    let program = libc::sock_fprog {
        len: DROP_NEW_CONNECTIONS.len() as u16,
        filter: DROP_NEW_CONNECTIONS.as_ptr().cast_mut(),
    };
    // SAFETY: `program` points at a valid filter array for the duration of the call; the
    // kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&program as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Removes a filter a previous process may have left on an inherited socket (a socket
/// without one is fine).
pub(crate) fn clear_filter(listener: &impl AsFd) -> io::Result<()> {
    let none: libc::c_int = 0;
    // SAFETY: SO_DETACH_FILTER reads no argument beyond an int-sized, valid buffer.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_DETACH_FILTER,
            (&none as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let err = io::Error::last_os_error();
    match rc {
        0 => Ok(()),
        // ENOENT: there was no filter.
        _ if err.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        _ => Err(err),
    }
}

/// Pause when `accept` fails for lack of descriptors or memory while draining.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// After [`stop_new_connections`]: accepts what `socket`'s queue still holds, each with
/// a connection slot, handing it to `serve`, until `settle` has passed and the queue is
/// empty, or `end` (the grace period) comes first. The caller then closes the socket.
pub(crate) async fn accept_queued(
    socket: &Async<TcpListener>,
    slots: &Arc<Semaphore>,
    settle: Instant,
    end: Instant,
    mut serve: impl FnMut(SemaphoreGuardArc, Async<TcpStream>, SocketAddr),
) {
    loop {
        let Some(slot) = before(end, slots.acquire_arc()).await else {
            return;
        };
        let accepted = loop {
            // Not the async accept: "would block" is the answer that the queue is empty.
            match socket.get_ref().accept() {
                Ok(pair) => break Some(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= settle {
                        break None;
                    }
                    socket.clear_readable();
                    let _ = before(settle, socket.readable()).await;
                }
                Err(e) if crate::listener::is_resource_exhaustion(&e) => {
                    if Instant::now() >= end {
                        break None;
                    }
                    rt::sleep(ACCEPT_BACKOFF).await;
                }
                // ECONNABORTED and friends concern one peer only: accept again.
                Err(_) => {}
            }
        };
        let Some((stream, peer)) = accepted else {
            return;
        };
        if let Ok(stream) = Async::new(stream) {
            serve(slot, stream, peer);
        }
    }
}

/// Runs `fut` until `deadline`; `None` if the deadline came first.
async fn before<T>(deadline: Instant, fut: impl std::future::Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        rt::sleep(deadline.saturating_duration_since(Instant::now())).await;
        None
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};

    fn reuseport_listener(addr: SocketAddr) -> TcpListener {
        let fd = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        sockopt::set_socket_reuseport(&fd, true).unwrap();
        rustix::net::bind(&fd, &addr).unwrap();
        rustix::net::listen(&fd, 16).unwrap();
        TcpListener::from(fd)
    }

    /// Whether a connect started on `fd` has completed within `ms` milliseconds.
    fn connected_within(fd: &rustix::fd::OwnedFd, ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) } == 1;
        ready && sockopt::socket_error(fd).unwrap().is_ok()
    }

    /// Starts a non-blocking connect and says whether it completes within `ms`.
    fn connects_within(addr: SocketAddr, ms: i32) -> (rustix::fd::OwnedFd, bool) {
        let fd = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )
        .unwrap();
        let _ = rustix::net::connect(&fd, &addr);
        let connected = connected_within(&fd, ms);
        (fd, connected)
    }

    #[test]
    fn filtered_listener_keeps_its_queue_and_sends_new_connections_to_the_group() {
        let old = reuseport_listener("127.0.0.1:0".parse().unwrap());
        let addr = old.local_addr().unwrap();
        // Connections queued before the drain: all must be accepted, none reset.
        let mut queued: Vec<TcpStream> = (0..4)
            .map(|i| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(&[b'0' + i]).unwrap();
                c
            })
            .collect();
        // A second instance joins the group, then the first stops taking new ones.
        let new = reuseport_listener(addr);
        stop_new_connections(&old).unwrap();
        // The filter must hold every new connection back from the old queue. A SYN
        // hashed to the new listener connects at once; one hashed to the old one waits
        // for the retransmit. Either way the old queue holds only what was queued.
        let attempts: Vec<_> = (0..8).map(|_| connects_within(addr, 0)).collect();
        old.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while got.len() < queued.len() && std::time::Instant::now() < deadline {
            match old.accept() {
                Ok((mut s, _)) => {
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).unwrap();
                    s.write_all(b"ok").unwrap();
                    got.push(b[0]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
        got.sort_unstable();
        assert_eq!(got, b"0123");
        assert_eq!(
            old.accept().map(|_| ()).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "a connection made after the filter reached the old queue"
        );
        drop(old);
        for c in &mut queued {
            let mut b = [0u8; 2];
            c.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"ok");
        }
        // Every attempt completes, on the new listener (after a SYN retransmit for those
        // that hashed to the old one).
        for (fd, _) in &attempts {
            assert!(
                connected_within(fd, 5000),
                "a connection held back was lost"
            );
        }
        new.set_nonblocking(true).unwrap();
        let mut on_new = 0;
        while new.accept().is_ok() {
            on_new += 1;
        }
        assert_eq!(on_new, 8);
    }

    #[test]
    fn clearing_no_filter_is_fine() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        clear_filter(&l).unwrap();
        stop_new_connections(&l).unwrap();
        clear_filter(&l).unwrap();
        let (_fd, connected) = connects_within(l.local_addr().unwrap(), 2000);
        assert!(connected, "a cleared filter must let connections in");
    }
}
