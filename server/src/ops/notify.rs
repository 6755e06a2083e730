//! Telling whoever started the server how it is doing: systemd's `NOTIFY_SOCKET`
//! (`sd_notify(3)`: `READY=1` once the listeners are live, `STOPPING=1` when a stop
//! begins, `MAINPID=` when a binary upgrade hands the service to a new process) and,
//! on a binary upgrade, the previous process waiting on a pipe (see [`super::upgrade`]).
//!
//! Without `NOTIFY_SOCKET` nothing is sent. A datagram that cannot be sent is reported
//! once on stderr and never blocks the server.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a notification failed, so a broken socket is reported once, not per message.
static REPORTED: AtomicBool = AtomicBool::new(false);

/// The listeners are live: `READY=1`, with a `STATUS=` line for `systemctl status`. A
/// process started by a binary upgrade also tells the previous one, which then drains.
pub(crate) fn ready(status: &str) {
    send(&format!("READY=1\nSTATUS={status}\n"));
    super::upgrade::tell_parent_ready();
}

/// A stop has begun (SIGTERM or SIGINT): `STOPPING=1`.
pub(crate) fn stopping() {
    send("STOPPING=1\nSTATUS=Draining: finishing responses in flight\n");
}

/// A binary upgrade succeeded: the service's main process is now `pid`.
pub(crate) fn main_pid(pid: u32) {
    send(&format!(
        "MAINPID={pid}\nSTATUS=Handed over to process {pid}\n"
    ));
}

/// Whether a service manager is listening (`NOTIFY_SOCKET` is set).
pub(crate) fn supervised() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty())
}

fn send(message: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET").filter(|s| !s.is_empty()) else {
        return;
    };
    if let Err(e) = send_to(&path, message.as_bytes()) {
        if !REPORTED.swap(true, Ordering::Relaxed) {
            let _ = writeln!(
                io::stderr(),
                "server: cannot notify the service manager at NOTIFY_SOCKET={}: {e}",
                path.to_string_lossy()
            );
        }
    }
}

/// Sends one datagram to `path`; a leading `@` names an abstract socket.
pub(crate) fn send_to(path: &OsStr, message: &[u8]) -> io::Result<()> {
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(path)?,
    };
    let socket = UnixDatagram::unbound()?;
    // A full queue on the manager's side must not stall the server.
    socket.set_nonblocking(true)?;
    let sent = socket.send_to_addr(message, &addr)?;
    if sent != message.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "datagram cut short",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn datagrams_reach_path_and_abstract_sockets() {
        let dir = std::env::temp_dir().join(format!("notify-test-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::bind(&path).unwrap();
        send_to(path.as_os_str(), b"READY=1\n").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");
        let _ = std::fs::remove_dir_all(&dir);

        let name = format!("notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let receiver = UnixDatagram::bind_addr(&addr).unwrap();
        send_to(
            OsStr::from_bytes(format!("@{name}").as_bytes()),
            b"STOPPING=1\n",
        )
        .unwrap();
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1\n");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_hang() {
        let e = send_to(OsStr::new("/nonexistent/notify"), b"READY=1\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
