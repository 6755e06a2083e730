//! This thread's reactor: one epoll instance with edge-triggered registrations that are
//! never re-armed, the deadlines of this thread's timers, and an eventfd through which
//! other threads wake it.
//!
//! Why our own and not async-io's: async-io has one reactor for the whole process, with
//! one-shot registrations (an `epoll_ctl` to re-arm after every event) and a fallback
//! thread that takes the reactor from a serving thread that stays busy (every HTTP/2
//! readiness then crossed threads with a context switch; see docs/PROFILE.md). Here each
//! serving thread waits on its own epoll instance, between runs of its own tasks, and a
//! socket stays registered for its whole life: a ready socket is handled by the thread
//! that saw it, with one `epoll_wait` for many sockets and no `epoll_ctl` per request.
//!
//! Readiness is kept per source as two flags, set by an event and cleared by the reader
//! or writer that found the socket drained (`EAGAIN`, or a short read or write of a
//! stream). Edge-triggered epoll reports every new arrival after that, so no readiness
//! is lost; a stale flag costs one read that finds nothing, never a hang. The end of the
//! peer's stream is kept apart and never cleared: it can come in the same edge as the
//! last bytes, and the short read of those bytes must not hide it.

use futures::task::AtomicWaker;
use rustix::event::{epoll, eventfd, EventfdFlags};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Events taken from the kernel per `epoll_wait`: a busy thread's batch (nginx takes
/// 512); more wait for the next call, a few microseconds later.
const EVENTS_PER_WAIT: usize = 1024;

/// The epoll key of the eventfd that wakes a waiting thread (sources use slab indexes).
const WAKE_KEY: u64 = u64::MAX;

/// A registered descriptor's readiness and the tasks waiting for it.
#[derive(Debug)]
pub(crate) struct Source {
    /// Its index in the reactor's table (u32: four billion registrations per thread;
    /// 4 bytes of an idle connection's cost).
    key: u32,
    readable: AtomicBool,
    writable: AtomicBool,
    /// The peer has shut down its side (or the socket failed): reads end (in 0 or an
    /// error) without waiting, however short the read before was. Never cleared: the
    /// edge that said so may have come with the last bytes, and will not come again.
    read_closed: AtomicBool,
    /// The socket hung up or failed: writes fail without waiting. Never cleared.
    write_closed: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
}

impl Source {
    /// Whether the last event (or the initial state) says a read may find bytes.
    pub(crate) fn is_readable(&self) -> bool {
        self.readable.load(Ordering::Acquire) || self.read_closed.load(Ordering::Acquire)
    }

    /// Whether the last event (or the initial state) says a write may be taken.
    pub(crate) fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Acquire) || self.write_closed.load(Ordering::Acquire)
    }

    /// The reader found nothing: wait for the next event.
    pub(crate) fn clear_readable(&self) {
        self.readable.store(false, Ordering::Release);
    }

    /// The socket took less than offered: wait for the next event.
    pub(crate) fn clear_writable(&self) {
        self.writable.store(false, Ordering::Release);
    }

    /// Wakes `waker`'s task at the next read event. Returns whether the source became
    /// readable meanwhile (then the caller goes on instead of waiting).
    pub(crate) fn wait_readable(&self, waker: &Waker) -> bool {
        self.reader.register(waker);
        self.is_readable()
    }

    /// Wakes `waker`'s task at the next write event; as [`Source::wait_readable`].
    pub(crate) fn wait_writable(&self, waker: &Waker) -> bool {
        self.writer.register(waker);
        self.is_writable()
    }
}

/// One thread's epoll instance and what is registered with it.
#[derive(Debug)]
pub(crate) struct Reactor {
    epoll: OwnedFd,
    wake: OwnedFd,
    /// Set while this reactor's thread is inside `epoll_wait`, the only time a wake
    /// must go through the eventfd.
    waiting: AtomicBool,
    /// Registrations and timers. Only this thread waits, but a source may be dropped (and
    /// a waker taken) on another thread, so it is behind an uncontended lock.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Indexed by each source's key; `None` marks a free key, listed in `free`.
    sources: Vec<Option<Arc<Source>>>,
    free: Vec<usize>,
    /// Pending timers by deadline (and a number that tells equal deadlines apart).
    timers: BTreeMap<(Instant, u64), Waker>,
    next_timer: u64,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Reactor>>> = const { RefCell::new(None) };
    /// Wakers taken from fired sources, woken after the lock is released.
    static TO_WAKE: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &wake,
            epoll::EventData::new_u64(WAKE_KEY),
            epoll::EventFlags::IN | epoll::EventFlags::ET,
        )?;
        Ok(Reactor {
            epoll,
            wake,
            waiting: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// This thread's reactor, created on first use. Fails only if the kernel refuses
    /// an epoll instance or an eventfd (out of descriptors or memory).
    pub(crate) fn current() -> io::Result<Arc<Reactor>> {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if let Some(reactor) = &*current {
                return Ok(reactor.clone());
            }
            let reactor = Arc::new(Reactor::new()?);
            *current = Some(reactor.clone());
            Ok(reactor)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `fd` for reading and writing, edge-triggered, for as long as it lives.
    /// A new socket starts writable and not readable: the kernel reports bytes already
    /// there at the next wait.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Arc<Source>> {
        let mut inner = self.lock();
        if inner.free.is_empty() && inner.sources.len() >= u32::MAX as usize {
            return Err(io::Error::other("too many registered descriptors"));
        }
        let key = inner.free.pop().unwrap_or(inner.sources.len());
        let source = Arc::new(Source {
            key: key as u32,
            readable: AtomicBool::new(false),
            writable: AtomicBool::new(true),
            read_closed: AtomicBool::new(false),
            write_closed: AtomicBool::new(false),
            reader: AtomicWaker::new(),
            writer: AtomicWaker::new(),
        });
        use epoll::EventFlags as F;
        let added = epoll::add(
            &self.epoll,
            fd,
            epoll::EventData::new_u64(key as u64),
            F::IN | F::OUT | F::RDHUP | F::ET,
        );
        if let Err(e) = added {
            if key < inner.sources.len() {
                inner.free.push(key);
            }
            return Err(e.into());
        }
        if key == inner.sources.len() {
            inner.sources.push(Some(source.clone()));
        } else {
            inner.sources[key] = Some(source.clone());
        }
        Ok(source)
    }

    /// Frees `source`'s key, and removes `fd`'s registration before it is closed (a
    /// duplicate of it would keep the registration alive, and its events would name a
    /// key given to someone else). `None`: the caller knows its close removes it.
    pub(crate) fn deregister(&self, source: &Source, fd: Option<BorrowedFd<'_>>) {
        let mut inner = self.lock();
        if let Some(fd) = fd {
            let _ = epoll::delete(&self.epoll, fd);
        }
        let key = source.key as usize;
        if let Some(slot) = inner.sources.get_mut(key) {
            *slot = None;
            inner.free.push(key);
        }
    }

    /// Adds a timer that wakes `waker` at `at`; returns its id for [`Reactor::remove_timer`].
    pub(crate) fn add_timer(&self, at: Instant, waker: Waker) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_timer;
        inner.next_timer += 1;
        inner.timers.insert((at, id), waker);
        id
    }

    /// Removes a timer that has not fired (a fired one is already gone).
    pub(crate) fn remove_timer(&self, at: Instant, id: u64) {
        // Dropped after the lock is released: it may be a task's last reference.
        let waker = self.lock().timers.remove(&(at, id));
        drop(waker);
    }

    /// Wakes this reactor's thread if it is waiting (a wake from another thread, after
    /// it set what the thread will find when it wakes).
    pub(crate) fn notify(&self) {
        if self.waiting.load(Ordering::SeqCst) {
            let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
        }
    }

    /// Waits for events, sets the sources' readiness, and wakes their tasks and the
    /// timers due. Does not block if `woken` is set (by the thread's waker, which then
    /// calls [`Reactor::notify`]), else waits until an event, a timer's deadline or a
    /// notification.
    pub(crate) fn react(&self, woken: &AtomicBool) -> io::Result<()> {
        self.waiting.store(true, Ordering::SeqCst);
        let block = !woken.load(Ordering::SeqCst);
        let timeout = if block {
            self.lock()
                .timers
                .keys()
                .next()
                .map(|&(at, _)| at.saturating_duration_since(Instant::now()))
        } else {
            Some(Duration::ZERO)
        };
        let timeout = timeout.map(|d| rustix::time::Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: d.subsec_nanos().into(),
        });
        EVENTS.with(|events| {
            let mut events = events.borrow_mut();
            events.clear();
            events.reserve_exact(EVENTS_PER_WAIT);
            let waited = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                timeout.as_ref(),
            );
            self.waiting.store(false, Ordering::SeqCst);
            let result = match waited {
                Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
                Err(e) => Err(e.into()),
            };
            TO_WAKE.with(|to_wake| {
                let mut to_wake = to_wake.borrow_mut();
                self.collect(&events, &mut to_wake);
                for waker in to_wake.drain(..) {
                    waker.wake();
                }
            });
            result
        })
    }

    /// Sets the readiness `events` report and takes the wakers to wake, with the
    /// timers due; they are woken after the lock is released.
    fn collect(&self, events: &[epoll::Event], to_wake: &mut Vec<Waker>) {
        use epoll::EventFlags as F;
        let mut inner = self.lock();
        for event in events {
            let (flags, key) = (event.flags, event.data.u64());
            if key == WAKE_KEY {
                let mut count = [0u8; 8];
                let _ = rustix::io::read(&self.wake, &mut count);
                continue;
            }
            let Some(Some(source)) = inner.sources.get(key as usize) else {
                continue;
            };
            if flags.intersects(F::RDHUP | F::HUP | F::ERR) {
                source.read_closed.store(true, Ordering::Release);
            }
            if flags.intersects(F::HUP | F::ERR) {
                source.write_closed.store(true, Ordering::Release);
            }
            if flags.intersects(F::IN | F::RDHUP | F::HUP | F::ERR | F::PRI) {
                source.readable.store(true, Ordering::Release);
                to_wake.extend(source.reader.take());
            }
            if flags.intersects(F::OUT | F::HUP | F::ERR) {
                source.writable.store(true, Ordering::Release);
                to_wake.extend(source.writer.take());
            }
        }
        if !inner.timers.is_empty() {
            let now = Instant::now();
            while let Some(entry) = inner.timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                to_wake.push(entry.remove());
            }
        }
    }
}

thread_local! {
    /// The event buffer, kept between waits.
    static EVENTS: RefCell<Vec<epoll::Event>> = const { RefCell::new(Vec::new()) };
}

impl AsFd for Reactor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}
