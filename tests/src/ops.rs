//! Running the server the way a service manager does: with listening sockets handed
//! over in `LISTEN_FDS` (from descriptor 3), `LISTEN_PID` and `LISTEN_FDNAMES`; and
//! sending it signals.

use crate::bin::binary;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Sets `LISTEN_PID` to the PID the exec'd server keeps (known only after fork).
const EXEC_SCRIPT: &str = r#"export LISTEN_PID=$$; exec "$0" "$@""#;

/// Whose PID `LISTEN_PID` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenPid {
    /// The server's own, as systemd sets it.
    Server,
    /// Another process's (PID 1): the server must ignore the sockets.
    Other,
}

/// A command running the server with `args`, handed `sockets` (with their names) at
/// descriptors 3.. as systemd would.
pub fn activated(sockets: &[(&TcpListener, &str)], pid: ListenPid, args: &[&str]) -> Command {
    let n = sockets.len() as i32;
    // Copies above 3..3+n so that placing one never overwrites another.
    let copies: Vec<OwnedFd> = sockets
        .iter()
        .map(|(l, _)| rustix::io::fcntl_dupfd_cloexec(l.as_fd(), 3 + n).expect("dup socket"))
        .collect();
    let names: Vec<&str> = sockets.iter().map(|(_, name)| *name).collect();
    let mut command = match pid {
        ListenPid::Server => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(EXEC_SCRIPT).arg(binary("server"));
            c
        }
        ListenPid::Other => {
            let mut c = Command::new(binary("server"));
            c.env("LISTEN_PID", "1");
            c
        }
    };
    command
        .args(args)
        .env("LISTEN_FDS", n.to_string())
        .env("LISTEN_FDNAMES", names.join(":"))
        .env_remove("NOTIFY_SOCKET");
    let moves: Vec<(i32, i32)> = copies
        .iter()
        .zip(3..)
        .map(|(fd, to)| (fd.as_raw_fd(), to))
        .collect();
    // SAFETY: between fork and exec the closure only calls dup2 on descriptors computed
    // before the fork and allocates nothing; the copies live until the command is dropped.
    unsafe {
        command.pre_exec(move || {
            let _keep = &copies;
            for &(from, to) in &moves {
                let from = rustix::fd::BorrowedFd::borrow_raw(from);
                let mut target = OwnedFd::from_raw_fd(to);
                let r = rustix::io::dup2(from, &mut target);
                std::mem::forget(target);
                r?;
            }
            Ok(())
        });
    }
    command
}

/// Sends signal `name` (`TERM`, `USR2`, `KILL`...) to `pid`.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -s {name} {pid} failed");
}

/// A listening socket on 127.0.0.1 with a port the OS picked.
pub fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// A port that was free a moment ago (for programs that need a number, not a socket).
pub fn free_port() -> u16 {
    loopback_listener().local_addr().expect("local_addr").port()
}
