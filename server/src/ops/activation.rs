//! Socket activation: listening sockets handed over by systemd (or by the previous
//! process on a binary upgrade) in `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`.
//!
//! The protocol (`sd_listen_fds(3)`): descriptors start at 3; `LISTEN_PID` must be this
//! process, otherwise the variables were meant for another one (a parent that forgot to
//! unset them) and are ignored; `LISTEN_FDNAMES` holds one colon-separated name per
//! socket (`FileDescriptorName=` in the socket unit). A socket named `https` is served
//! with TLS.

use crate::listener::StartError;
use rustix::net::{sockopt, AddressFamily, SocketType};
use std::net::TcpListener;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The first inherited descriptor (`SD_LISTEN_FDS_START`).
pub(crate) const LISTEN_FDS_START: RawFd = 3;

/// Most inherited sockets taken. A number read from the environment is bounded before
/// it is used; 64 is far more listening addresses than one server needs.
const MAX_LISTEN_FDS: usize = 64;

/// The name systemd gives a socket whose unit sets no `FileDescriptorName=`.
const UNNAMED: &str = "unknown";

/// The socket name that means "serve TLS on this one".
pub(crate) const HTTPS_NAME: &str = "https";

/// One listening socket handed to this process.
#[derive(Debug)]
pub(crate) struct Inherited {
    /// The listening socket (close-on-exec from here on).
    pub listener: TcpListener,
    /// Its name from `LISTEN_FDNAMES` (`unknown` when none was given).
    pub name: String,
}

impl Inherited {
    /// Whether the socket unit named this socket `https`.
    pub(crate) fn is_https(&self) -> bool {
        self.name == HTTPS_NAME
    }
}

/// What the environment says about inherited sockets.
#[derive(Debug, PartialEq, Eq)]
enum Handover {
    /// No `LISTEN_FDS`: bind as usual.
    None,
    /// `LISTEN_FDS` is for another process; ignore it and bind as usual.
    OtherProcess(String),
    /// `count` sockets from fd 3, with their names.
    Sockets { count: usize, names: Vec<String> },
}

/// Takes the sockets systemd (or the previous process) handed over, if any are meant for
/// this process. An empty list means "bind --bind:--port as usual".
pub(crate) fn from_env() -> Result<Vec<Inherited>, StartError> {
    let var = |name: &str| std::env::var(name).ok();
    let handover = parse(
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
        std::process::id(),
    )?;
    let (count, names) = match handover {
        Handover::None => return Ok(Vec::new()),
        Handover::OtherProcess(pid) => {
            eprintln!(
                "server: note: ignoring LISTEN_FDS, which is meant for process {pid}, not this one ({}); binding the port instead",
                std::process::id()
            );
            return Ok(Vec::new());
        }
        Handover::Sockets { count, names } => (count, names),
    };
    let mut taken = Vec::with_capacity(count);
    for (i, name) in names.into_iter().enumerate() {
        let fd = LISTEN_FDS_START + i as RawFd;
        taken.push(Inherited {
            listener: take(fd, &name)?,
            name,
        });
    }
    Ok(taken)
}

/// Reads the three variables (pure, for tests).
fn parse(
    fds: Option<&str>,
    pid: Option<&str>,
    names: Option<&str>,
    me: u32,
) -> Result<Handover, StartError> {
    let Some(fds) = fds else {
        return Ok(Handover::None);
    };
    match pid.map(str::trim) {
        Some(p) if p.parse::<u32>().ok() == Some(me) => {}
        other => {
            return Ok(Handover::OtherProcess(
                other.unwrap_or("(unset)").to_owned(),
            ))
        }
    }
    let count: usize = fds.trim().parse().map_err(|_| {
        StartError(format!(
            "LISTEN_FDS={fds:?} is not a number of sockets; unset it, or start the server from a socket unit"
        ))
    })?;
    if count > MAX_LISTEN_FDS {
        return Err(StartError(format!(
            "LISTEN_FDS={count} is more than the {MAX_LISTEN_FDS} sockets the server takes; give the socket unit fewer ListenStream= lines"
        )));
    }
    let names: Vec<String> = match names {
        Some(list) if !list.is_empty() => list.split(':').map(str::to_owned).collect(),
        _ => vec![UNNAMED.to_owned(); count],
    };
    if names.len() != count {
        return Err(StartError(format!(
            "LISTEN_FDNAMES names {} sockets but LISTEN_FDS is {count}; they must match",
            names.len()
        )));
    }
    Ok(Handover::Sockets { count, names })
}

/// Checks that `fd` is an open TCP listening socket, marks it close-on-exec and takes it.
fn take(fd: RawFd, name: &str) -> Result<TcpListener, StartError> {
    let what = format!("inherited socket {fd} ({name})");
    // SAFETY: LISTEN_PID names this process, so by the protocol descriptors 3.. are
    // open and ours; `fcntl_getfd` below fails cleanly if one is not open after all.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let flags = rustix::io::fcntl_getfd(borrowed)
        .map_err(|e| StartError(format!("{what} is not open ({e}); check LISTEN_FDS")))?;
    let stream = sockopt::socket_type(borrowed).map_err(|e| {
        StartError(format!(
            "{what} is not a socket ({e}); use ListenStream= in the socket unit"
        ))
    })?;
    let family = sockopt::socket_domain(borrowed)
        .map_err(|e| StartError(format!("cannot read the family of {what}: {e}")))?;
    let tcp = stream == SocketType::STREAM
        && (family == AddressFamily::INET || family == AddressFamily::INET6);
    if !tcp {
        return Err(StartError(format!(
            "{what} is not a TCP socket; use ListenStream=PORT or ListenStream=ADDRESS:PORT"
        )));
    }
    if !sockopt::socket_acceptconn(borrowed).unwrap_or(false) {
        return Err(StartError(format!(
            "{what} is not listening (a socket unit with Accept=yes?); use Accept=no"
        )));
    }
    rustix::io::fcntl_setfd(borrowed, flags | rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| StartError(format!("cannot mark {what} close-on-exec: {e}")))?;
    // SAFETY: checked above that `fd` is an open listening socket handed to us; nothing
    // else in this process owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(TcpListener::from(owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets(count: usize, names: &[&str]) -> Handover {
        Handover::Sockets {
            count,
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn no_listen_fds_means_bind() {
        assert_eq!(parse(None, Some("7"), None, 7).unwrap(), Handover::None);
    }

    #[test]
    fn wrong_or_missing_listen_pid_is_ignored() {
        assert_eq!(
            parse(Some("1"), Some("8"), None, 7).unwrap(),
            Handover::OtherProcess("8".into())
        );
        assert_eq!(
            parse(Some("1"), None, None, 7).unwrap(),
            Handover::OtherProcess("(unset)".into())
        );
        assert_eq!(
            parse(Some("1"), Some("x"), None, 7).unwrap(),
            Handover::OtherProcess("x".into())
        );
    }

    #[test]
    fn names_default_to_unknown_and_must_match_the_count() {
        assert_eq!(
            parse(Some("2"), Some("7"), None, 7).unwrap(),
            sockets(2, &["unknown", "unknown"])
        );
        assert_eq!(
            parse(Some("2"), Some("7"), Some("http:https"), 7).unwrap(),
            sockets(2, &["http", "https"])
        );
        let e = parse(Some("2"), Some("7"), Some("http"), 7).unwrap_err();
        assert!(e.0.contains("must match"), "{e}");
    }

    #[test]
    fn bad_counts_are_refused_with_a_hint() {
        let e = parse(Some("two"), Some("7"), None, 7).unwrap_err();
        assert!(e.0.contains("not a number"), "{e}");
        let e = parse(Some("65"), Some("7"), None, 7).unwrap_err();
        assert!(e.0.contains("fewer"), "{e}");
        assert_eq!(
            parse(Some("0"), Some("7"), Some("http"), 7).unwrap_err().0,
            "LISTEN_FDNAMES names 1 sockets but LISTEN_FDS is 0; they must match"
        );
        assert_eq!(
            parse(Some("1"), Some("7"), Some(""), 7).unwrap(),
            sockets(1, &["unknown"])
        );
        assert_eq!(
            parse(Some("0"), Some("7"), None, 7).unwrap(),
            sockets(0, &[])
        );
    }
}
