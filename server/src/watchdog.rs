//! Connection deadlines without a timer per wait.
//!
//! Each connection publishes its next deadline in an atomic; one sweeper thread checks
//! every connection a few times a second and cuts an expired one by shutting its socket
//! down, which wakes whatever the connection was waiting on (a read sees end-of-file, a
//! write fails). The same sweep closes idle connections at shutdown. Per request this
//! costs two atomic stores instead of registering and cancelling timers, and an idle
//! connection's task holds no timer at all. The sweeper ([`Watchdog::start_sweeper`]) lives
//! here too: it is the server's one mechanism for connection timeouts.

use crate::shutdown::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the sweeper looks at deadlines: the precision of every timeout. A quarter
/// second is invisible next to timeouts of seconds and costs nothing at 10k connections.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_millis(250);

/// No deadline.
const NEVER: u64 = u64::MAX;

/// What a connection is doing: decides how an expired deadline is enforced, and which
/// connections the shutdown sweep closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Waiting for the first byte of a request after a response (keep-alive): closed
    /// quietly on expiry. At shutdown, once it has waited [`SHUTDOWN_QUIET`]: over plain
    /// TCP sent a FIN and closed after [`SHUTDOWN_LINGER`] (see [`Phase::Closing`]); over
    /// TLS its reading side is cut, so the connection ends with close_notify. Until then
    /// its next request is answered, with `Connection: close`.
    Idle = 0,
    /// Reading a head: its reading side is cut, so the connection can still send 408.
    Head = 1,
    /// Sending a response: both sides are cut, failing the stuck write.
    Send = 2,
    /// Reading input we will not answer (a body to skip, a lingering close): its
    /// reading side is cut, ending the read, on expiry or shutdown.
    Drain = 3,
    /// Accepted, no request yet: closed quietly on expiry, but left alone at shutdown,
    /// since its first request may be on the way (a client cannot safely retry that).
    Fresh = 4,
    /// Idle at shutdown, our FIN sent: reading what the client still sends (a request
    /// that crossed the FIN) so the close is no reset; its reading side is cut on expiry.
    Closing = 5,
}

/// At shutdown, how long a keep-alive connection must have waited for its next request
/// to count as idle and be closed at once. A client in the middle of a run of requests
/// (a browser loading a page, a load generator, a balancer's pooled connection) sends
/// the next one within milliseconds: it gets it answered with `Connection: close`
/// instead of meeting a close that crosses it, which a client like wrk counts as an
/// error. One sweep interval, so a busy connection is looked at twice at most.
pub(crate) const SHUTDOWN_QUIET: Duration = SWEEP_INTERVAL;

/// How long an idle connection is read (and discarded) after shutdown sends its FIN,
/// before it is closed: a request that crossed our FIN is consumed instead of meeting a
/// reset, and the client, seeing end-of-file on a reused connection, retries it
/// elsewhere (RFC 9112 section 9.3.1).
pub(crate) const SHUTDOWN_LINGER: Duration = Duration::from_secs(2);

/// `fired_in` before any deadline fired.
const NOT_FIRED: u8 = u8::MAX;

/// Stops the sweeper thread when dropped.
#[derive(Debug)]
pub(crate) struct Sweeper(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Drop for Sweeper {
    fn drop(&mut self) {
        let (lock, wake) = &*self.0;
        if let Ok(mut done) = lock.lock() {
            *done = true;
        }
        wake.notify_all();
    }
}

/// The instant every deadline counts its milliseconds from: one for the process, not
/// one per connection's entry (16 bytes each, of an idle connection's few hundred).
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// One connection's entry.
#[derive(Debug)]
pub(crate) struct Watch {
    fd: RawFd,
    deadline_ms: AtomicU64,
    /// When the deadline was last armed (for an idle connection: when it became idle).
    armed_ms: AtomicU64,
    phase: AtomicU8,
    fired_in: AtomicU8,
    /// Idle at shutdown: send our FIN and linger ([`Phase::Closing`]) instead of cutting
    /// the reading side. Only for plain TCP: over TLS the FIN must follow close_notify,
    /// which only the connection can send.
    fin_first: AtomicBool,
    /// Has answered a request, so when idle it is a keep-alive connection between
    /// requests, which [`Watchdog::cut_idle`] may close to make room (nginx's
    /// "reusable" connections). Never set before the first response.
    reusable: AtomicBool,
}

impl Watch {
    /// Sets the deadline `after` from now, forgetting any deadline that fired before.
    pub(crate) fn arm(&self, after: Duration) {
        self.fired_in.store(NOT_FIRED, Ordering::Release);
        let now = epoch().elapsed();
        self.armed_ms
            .store(now.as_millis() as u64, Ordering::Relaxed);
        let at = now.saturating_add(after).as_millis() as u64;
        self.deadline_ms.store(at, Ordering::Relaxed);
    }

    /// Removes the deadline.
    pub(crate) fn disarm(&self) {
        self.deadline_ms.store(NEVER, Ordering::Relaxed);
    }

    /// Records what the connection is doing.
    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Lets the shutdown sweep close this connection, when idle, with a FIN and a linger
    /// (see [`Phase::Closing`]); for plain TCP connections.
    pub(crate) fn close_idle_with_fin(&self) {
        self.fin_first.store(true, Ordering::Relaxed);
    }

    /// Lets [`Watchdog::cut_idle`] close this connection while it is idle: it has
    /// answered a request and waits for the next one.
    pub(crate) fn mark_reusable(&self) {
        self.reusable.store(true, Ordering::Relaxed);
    }

    /// The phase in which the sweeper cut this connection for a passed deadline.
    pub(crate) fn fired_in(&self) -> Option<Phase> {
        match self.fired_in.load(Ordering::Acquire) {
            0 => Some(Phase::Idle),
            1 => Some(Phase::Head),
            2 => Some(Phase::Send),
            3 => Some(Phase::Drain),
            4 => Some(Phase::Fresh),
            5 => Some(Phase::Closing),
            _ => None,
        }
    }
}

/// Removes its connection from the watchdog when dropped. Drop it before the socket:
/// the sweeper only touches descriptors of registered connections, under the lock, so
/// a closed and reused descriptor is never shut down by mistake.
#[derive(Debug)]
pub(crate) struct Registration {
    watch: Arc<Watch>,
    slot: usize,
    inner: Arc<Inner>,
}

impl std::ops::Deref for Registration {
    type Target = Watch;
    fn deref(&self) -> &Watch {
        &self.watch
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.inner.slots.lock() {
            slots.entries[self.slot] = None;
            slots.free.push(self.slot);
        }
    }
}

#[derive(Debug, Default)]
struct Slots {
    entries: Vec<Option<Arc<Watch>>>,
    free: Vec<usize>,
}

#[derive(Debug)]
struct Inner {
    slots: Mutex<Slots>,
    /// A serving thread is closing an idle connection for a waiting client (see
    /// [`Watchdog::reclaim`]).
    reclaiming: AtomicBool,
}

/// Held by the one serving thread making room at a full cap; released when dropped.
#[derive(Debug)]
pub(crate) struct Reclaim(Arc<Inner>);

impl Drop for Reclaim {
    fn drop(&mut self) {
        self.0.reclaiming.store(false, Ordering::Release);
    }
}

/// The registry of watched connections, shared by the listener and the sweeper.
#[derive(Clone, Debug)]
pub(crate) struct Watchdog {
    inner: Arc<Inner>,
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::new()
    }
}

impl Watchdog {
    /// An empty registry.
    pub(crate) fn new() -> Watchdog {
        Watchdog {
            inner: Arc::new(Inner {
                slots: Mutex::new(Slots::default()),
                reclaiming: AtomicBool::new(false),
            }),
        }
    }

    /// Watches the connection on `socket`, with a first deadline `after` from now.
    pub(crate) fn register(&self, socket: BorrowedFd<'_>, after: Duration) -> Registration {
        let watch = Arc::new(Watch {
            fd: socket.as_raw_fd(),
            deadline_ms: AtomicU64::new(NEVER),
            armed_ms: AtomicU64::new(0),
            phase: AtomicU8::new(Phase::Idle as u8),
            fired_in: AtomicU8::new(NOT_FIRED),
            fin_first: AtomicBool::new(false),
            reusable: AtomicBool::new(false),
        });
        watch.arm(after);
        let slot = match self.inner.slots.lock() {
            Ok(mut slots) => match slots.free.pop() {
                Some(i) => {
                    slots.entries[i] = Some(watch.clone());
                    i
                }
                None => {
                    slots.entries.push(Some(watch.clone()));
                    slots.entries.len() - 1
                }
            },
            // A poisoned lock only means a sweep panicked; this connection goes unwatched.
            Err(_) => usize::MAX,
        };
        Registration {
            watch,
            slot: if slot == usize::MAX { 0 } else { slot },
            inner: self.inner.clone(),
        }
    }

    /// Starts the sweeper on its own plain thread: every [`SWEEP_INTERVAL`] it cuts
    /// connections past their deadline, and idle ones too once `shutdown` has fired,
    /// until the returned guard is dropped. Not a task: a sleeping task would leave a
    /// timer pending, and every reactor wait of every serving thread would then arm a
    /// timerfd. Cutting a socket wakes its task through the reactor, so the sweeper never
    /// has to wake an executor itself.
    pub(crate) fn start_sweeper(&self, shutdown: &Shutdown) -> Sweeper {
        let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let (dog, shutdown, stopped) = (self.clone(), shutdown.clone(), stop.clone());
        let started = std::thread::Builder::new()
            .name("sweeper".into())
            .spawn(move || {
                let (lock, wake) = &*stopped;
                let Ok(mut done) = lock.lock() else { return };
                while !*done {
                    match wake.wait_timeout(done, SWEEP_INTERVAL) {
                        Ok((guard, _)) => done = guard,
                        Err(_) => return,
                    }
                    if !*done {
                        dog.sweep(shutdown.is_fired());
                    }
                }
            });
        if let Err(e) = started {
            crate::log_queue::error(format_args!(
                "cannot start the deadline sweeper thread ({e}); timeouts are not enforced"
            ));
        }
        Sweeper(stop)
    }

    /// The right to make room for a client waiting at a full cap, if no other serving
    /// thread holds it: every thread sees the same waiting client on its copy of the
    /// listener, and only one may close a connection for it.
    pub(crate) fn reclaim(&self) -> Option<Reclaim> {
        self.inner
            .reclaiming
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .ok()
            .map(|_| Reclaim(self.inner.clone()))
    }

    /// Closes up to `most` idle keep-alive connections (waiting between requests),
    /// those idle longest first, to free their slots for new connections waiting at a
    /// full cap (nginx's ngx_drain_connections; RFC 9112 section 9.5 lets a server close
    /// an idle connection at any time). A connection with a request or response in
    /// flight, or a fresh one whose first request may be on the way, is never chosen.
    /// Each chosen one has its reading side cut, so it sees end of input and closes
    /// quietly. Returns how many were cut.
    pub(crate) fn cut_idle(&self, most: usize) -> usize {
        let Ok(slots) = self.inner.slots.lock() else {
            return 0;
        };
        if most == 0 {
            return 0;
        }
        let mut idle: Vec<&Arc<Watch>> = slots
            .entries
            .iter()
            .flatten()
            .filter(|w| {
                w.reusable.load(Ordering::Relaxed)
                    && w.phase.load(Ordering::Relaxed) == Phase::Idle as u8
            })
            .collect();
        idle.sort_unstable_by_key(|w| w.armed_ms.load(Ordering::Relaxed));
        let mut cut = 0;
        for watch in idle {
            if cut == most {
                break;
            }
            // SAFETY: as in `sweep`: a registered connection's descriptor, under the lock.
            let fd = unsafe { BorrowedFd::borrow_raw(watch.fd) };
            // Bytes already in its socket are a request on the way: leave it.
            let mut probe = [0u8; 1];
            let peeked = rustix::net::recv(
                fd,
                &mut probe,
                rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT,
            );
            if matches!(peeked, Ok((n, _)) if n > 0) {
                continue;
            }
            // Claim it only if still idle: one that just began a request answers it.
            let still_idle = watch.phase.compare_exchange(
                Phase::Idle as u8,
                Phase::Drain as u8,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
            if still_idle.is_err() {
                continue;
            }
            let _ = rustix::net::shutdown(fd, rustix::net::Shutdown::Read);
            cut += 1;
        }
        cut
    }

    /// One sweep: cuts connections whose deadline has passed and, if `closing`, idle ones.
    pub(crate) fn sweep(&self, closing: bool) {
        let now = epoch().elapsed().as_millis() as u64;
        let Ok(slots) = self.inner.slots.lock() else {
            return;
        };
        for watch in slots.entries.iter().flatten() {
            let phase = watch.phase.load(Ordering::Relaxed);
            let deadline = watch.deadline_ms.load(Ordering::Relaxed);
            let expired = deadline <= now;
            // SAFETY: the descriptor belongs to a registered connection, and connections
            // deregister (under this lock) before closing their sockets.
            let fd = unsafe { BorrowedFd::borrow_raw(watch.fd) };
            // At shutdown, an idle keep-alive connection gets our FIN at once, and is
            // read until the client closes or SHUTDOWN_LINGER passes (Phase::Closing).
            // Only if it is still idle: one that just began a request answers it.
            let fin_first = watch.fin_first.load(Ordering::Relaxed);
            let idle = phase == Phase::Idle as u8;
            let quiet = now.saturating_sub(watch.armed_ms.load(Ordering::Relaxed))
                >= SHUTDOWN_QUIET.as_millis() as u64;
            if closing && !expired && idle && !quiet {
                // Used a moment ago: its next request is likely on the way.
                continue;
            }
            if closing && !expired && fin_first && idle {
                let still_idle = watch.phase.compare_exchange(
                    Phase::Idle as u8,
                    Phase::Closing as u8,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                if still_idle.is_ok() {
                    watch.arm(SHUTDOWN_LINGER);
                    let _ = rustix::net::shutdown(fd, rustix::net::Shutdown::Write);
                }
                continue;
            }
            // At shutdown, nothing more will be read from these: cut them at once.
            let cut = phase == Phase::Drain as u8 || !fin_first && idle;
            if !(expired || closing && cut) {
                continue;
            }
            // A connection that re-armed meanwhile keeps its new deadline.
            let taken = watch
                .deadline_ms
                .compare_exchange(deadline, NEVER, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
            if expired && !taken {
                continue;
            }
            if expired {
                watch.fired_in.store(phase, Ordering::Release);
            }
            let how = if phase == Phase::Send as u8 {
                rustix::net::Shutdown::Both
            } else {
                rustix::net::Shutdown::Read
            };
            let _ = rustix::net::shutdown(fd, how);
        }
    }
}

#[cfg(test)]
#[path = "watchdog_tests.rs"]
mod tests;
