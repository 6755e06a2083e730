//! Binary upgrade without losing a connection (nginx's SIGUSR2): the running server
//! starts the binary at the path it was started as, handing it the listening sockets
//! through `LISTEN_FDS` (the socket-activation protocol), waits until the new process
//! says its listeners are live, then drains. The sockets are never closed, so the
//! kernel's accept queue is never reset: connections the old process does not take,
//! the new one does.
//!
//! The new process tells the old one it is ready on a pipe whose descriptor is in
//! `SERVER_UPGRADE_READY_FD`; end-of-file on that pipe means it died first, and the old
//! process keeps serving. Under systemd the old process then passes the service to the
//! new one with `MAINPID=`.

use crate::ops::activation::LISTEN_FDS_START;
use crate::ops::drain::Origin;
use crate::ops::notify;
use crate::rt::sleep;
use crate::rt::Async;
use crate::shutdown::Shutdown;
use crate::sockets::Listener;
use async_std::channel::Receiver;
use futures_lite::AsyncReadExt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The variable naming the pipe on which a process started by an upgrade reports ready.
pub(crate) const READY_FD_VAR: &str = "SERVER_UPGRADE_READY_FD";

/// The variable saying whether the handed-over sockets are the new process's alone once
/// the old one exits (`1`), or also held by a service manager (`0`).
pub(crate) const OWNED_VAR: &str = "SERVER_LISTEN_OWNED";

/// What the new process writes when its listeners are live.
const READY_LINE: &[u8] = b"READY=1\n";

/// How long the new process has to start listening before the upgrade is abandoned
/// (and it is stopped). Start-up takes milliseconds; a minute allows a cold disk.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Sets `LISTEN_PID` to the shell's own PID, which the exec'd server keeps: the
/// protocol wants the PID of the process the sockets are for, known only after fork.
const EXEC_SCRIPT: &str = r#"export LISTEN_PID=$$; exec "$0" "$@""#;

/// The shell that runs [`EXEC_SCRIPT`].
const SHELL: &str = "/bin/sh";

/// The pipe to the process that started this one by an upgrade, until ready is sent.
static PARENT: Mutex<Option<File>> = Mutex::new(None);

/// Serves upgrade requests (SIGUSR2) until one hands `listeners` to a new process that
/// says it is ready; then fires `shutdown`, which starts this process's drain, and
/// returns. `handed_on` is set while a new process may hold the sockets. A failed
/// upgrade is logged and this process keeps serving.
pub(crate) async fn serve(
    requests: &Receiver<()>,
    listeners: &[Listener],
    handed_on: &AtomicBool,
    shutdown: &Shutdown,
) {
    while requests.recv().await.is_ok() {
        let owned = listeners.iter().all(|l| l.origin == Origin::Owned);
        let sockets: Vec<(BorrowedFd<'_>, &str)> = listeners
            .iter()
            .map(|l| (l.socket.as_fd(), l.name.as_str()))
            .collect();
        // From the fork on, the new process may hold the sockets: never filter them.
        handed_on.store(true, Ordering::Release);
        let outcome = match spawn(&sockets, owned) {
            Ok(pending) => {
                crate::log_queue::error(format_args!(
                    "upgrade: started process {}; waiting until it is ready",
                    pending.pid()
                ));
                pending.wait_ready().await
            }
            Err(failed) => Err(failed),
        };
        match outcome {
            Ok(pid) => {
                crate::log_queue::error(format_args!(
                    "upgrade: process {pid} is ready; this one drains and exits"
                ));
                if notify::supervised() {
                    notify::main_pid(pid);
                }
                shutdown.fire();
                return;
            }
            Err(Failed(why)) => {
                crate::log_queue::error(format_args!("upgrade failed: {why}; still serving"));
                handed_on.store(false, Ordering::Release);
            }
        }
    }
    // The handle is gone (never, while the server runs): nothing more to do.
    futures_lite::future::pending::<()>().await;
}

/// Takes the pipe named by `SERVER_UPGRADE_READY_FD` when this process was started by
/// an upgrade. Call once at start-up, with the inherited sockets.
pub(crate) fn take_parent_pipe() {
    let Some(fd) = std::env::var(READY_FD_VAR)
        .ok()
        .and_then(|v| v.parse::<RawFd>().ok())
    else {
        return;
    };
    // Only LISTEN_PID marks the variables as ours; a stale copy from an unrelated parent
    // must not make us write into some other descriptor.
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if !for_us || fd < LISTEN_FDS_START {
        return;
    }
    // SAFETY: the previous process placed the pipe at `fd` for us (LISTEN_PID is ours);
    // `fstat` below confirms it is open and a pipe before it is taken.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let is_pipe = rustix::fs::fstat(borrowed)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_fifo());
    if !is_pipe {
        return;
    }
    let _ = rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::CLOEXEC);
    // SAFETY: checked above; nothing else in this process owns this descriptor.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if let Ok(mut parent) = PARENT.lock() {
        *parent = Some(file);
    }
}

/// Whether the inherited sockets are this process's alone once its parent exits.
pub(crate) fn inherited_sockets_owned() -> bool {
    std::env::var(OWNED_VAR).is_ok_and(|v| v == "1")
}

/// Tells the previous process (if an upgrade started this one) that we are ready.
pub(crate) fn tell_parent_ready() {
    let parent = PARENT.lock().ok().and_then(|mut p| p.take());
    if let Some(mut pipe) = parent {
        // The parent may already have given up; nothing to do then.
        let _ = pipe.write_all(READY_LINE);
    }
}

/// How the wait for the new process ended.
enum Wait {
    Ready,
    /// The pipe closed (or carried something else): the new process died or gave up.
    Closed,
    TimedOut,
}

/// After the pipe closes, how often and how many times to look for the exit status.
const REAP_POLL: Duration = Duration::from_millis(10);
const REAP_POLLS: u32 = 200;

/// A new process started by an upgrade, not yet ready.
#[derive(Debug)]
pub(crate) struct Pending {
    child: Child,
    ready: Async<File>,
}

/// Why an upgrade did not happen; the old process keeps serving.
#[derive(Debug)]
pub(crate) struct Failed(pub String);

/// Starts the binary at `argv[0]` with this process's arguments and environment, the
/// listening `sockets` at descriptors 3.. (with their names) and the ready pipe after
/// them. `owned`: whether the sockets are ours alone (not also a service manager's).
pub(crate) fn spawn(sockets: &[(BorrowedFd<'_>, &str)], owned: bool) -> Result<Pending, Failed> {
    let fail = |what: &str, e: io::Error| Failed(format!("{what}: {e}"));
    let (reader, writer) = io::pipe().map_err(|e| fail("cannot create a pipe", e))?;
    let n = sockets.len() as RawFd;
    // Copies above the target range, so placing one at 3.. never clobbers another.
    let above = LISTEN_FDS_START + n + 1;
    let mut sources: Vec<OwnedFd> = Vec::with_capacity(sockets.len() + 1);
    for (fd, _) in sockets {
        sources.push(
            rustix::io::fcntl_dupfd_cloexec(fd, above)
                .map_err(|e| fail("cannot copy a listening socket", e.into()))?,
        );
    }
    sources.push(
        rustix::io::fcntl_dupfd_cloexec(&writer, above)
            .map_err(|e| fail("cannot copy the ready pipe", e.into()))?,
    );
    drop(writer);
    let moves: Vec<(RawFd, RawFd)> = sources
        .iter()
        .zip(LISTEN_FDS_START..)
        .map(|(fd, target)| (fd.as_raw_fd(), target))
        .collect();
    let names: Vec<&str> = sockets.iter().map(|(_, name)| *name).collect();
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_else(|| "server".into());
    let mut command = Command::new(SHELL);
    command
        .arg("-c")
        .arg(EXEC_SCRIPT)
        .arg(&program)
        .args(args)
        .env("LISTEN_FDS", n.to_string())
        .env("LISTEN_FDNAMES", names.join(":"))
        .env(READY_FD_VAR, (LISTEN_FDS_START + n).to_string())
        .env(OWNED_VAR, if owned { "1" } else { "0" })
        .env_remove("LISTEN_PID")
        .stdin(Stdio::null());
    // SAFETY: the closure runs between fork and exec and only calls dup2, which is
    // async-signal-safe, on descriptors computed before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            for &(from, to) in &moves {
                // dup2 onto a different number clears close-on-exec on the copy.
                if libc::dup2(from, to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        fail(
            &format!("cannot start {} again", program.to_string_lossy()),
            e,
        )
    })?;
    drop(sources);
    let ready = Async::new(File::from(OwnedFd::from(reader)))
        .map_err(|e| fail("cannot watch the ready pipe", e))?;
    Ok(Pending { child, ready })
}

impl Pending {
    /// The new process's PID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the new process is ready (its PID) or has failed; on failure or
    /// after [`READY_TIMEOUT`] it is stopped and reaped, and the reason returned.
    pub(crate) async fn wait_ready(mut self) -> Result<u32, Failed> {
        let pid = self.child.id();
        let mut line = Vec::new();
        let reading = async {
            let mut buf = [0u8; 64];
            loop {
                match self.ready.read(&mut buf).await {
                    Ok(0) => return Wait::Closed,
                    Ok(n) => {
                        line.extend_from_slice(&buf[..n]);
                        if line.starts_with(READY_LINE) {
                            return Wait::Ready;
                        }
                        if line.len() >= READY_LINE.len() {
                            return Wait::Closed;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Wait::Closed,
                }
            }
        };
        let timeout = async {
            sleep(READY_TIMEOUT).await;
            Wait::TimedOut
        };
        let why = match futures_lite::future::or(reading, timeout).await {
            Wait::Ready => return Ok(pid),
            Wait::Closed => {
                // The pipe closes as the process exits, a moment before it can be reaped.
                let mut status = None;
                for _ in 0..REAP_POLLS {
                    if let Ok(Some(s)) = self.child.try_wait() {
                        status = Some(s);
                        break;
                    }
                    sleep(REAP_POLL).await;
                }
                match status {
                    Some(s) => format!("the new process exited ({s}) before it was ready"),
                    None => format!(
                        "the new process ({pid}) closed its ready pipe without saying ready"
                    ),
                }
            }
            Wait::TimedOut => {
                if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
                }
                format!(
                    "the new process ({pid}) was not ready within {} s; stopped it",
                    READY_TIMEOUT.as_secs()
                )
            }
        };
        // Reap it off the executor: a stopped process may take a moment to exit.
        let mut child = self.child;
        let _ = std::thread::Builder::new()
            .name("upgrade-reaper".into())
            .spawn(move || child.wait());
        Err(Failed(why))
    }
}
