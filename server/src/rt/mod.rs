//! The async runtime behind one small seam: spawning tasks, blocking on the top-level
//! future, timers, the sockets' readiness and moving blocking work off the executor.
//! Everything else in the server uses only `futures`' I/O traits and [`Async`], so
//! moving to smol means changing this module.
//!
//! Thread per core: each serving thread runs its own `async_executor::LocalExecutor`
//! (async-std's executor) under [`block_on`], which waits on the thread's own reactor
//! ([`reactor`]: epoll, edge-triggered) whenever its tasks are idle, and polls it without
//! waiting between runs of tasks when they are not. A connection's task is spawned on
//! the thread that accepted it and never moves, so a ready socket is handled by the
//! thread that saw it become ready: no futex wake, no hop between threads, no other
//! thread taking the reactor (async-std's global pool and async-io's shared reactor do
//! all three; see docs/ARCHITECTURE.md). Blocking work goes to async-std's `blocking`
//! pool.

mod io;
mod reactor;
mod timer;

pub(crate) use io::Async;
pub(crate) use timer::Timer;

use async_executor::LocalExecutor;
use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

thread_local! {
    /// This thread's executor: the tasks it accepted, run by [`block_on`].
    static EXECUTOR: LocalExecutor<'static> = const { LocalExecutor::new() };
}

/// Runs `task` in the background on this thread's executor; it owns everything it
/// uses. Call it from a thread inside [`block_on`] (or before it: the task then starts
/// when `block_on` does).
pub(crate) fn spawn(task: impl Future<Output = ()> + 'static) {
    EXECUTOR.with(|ex| ex.spawn(task).detach());
}

/// Runs `fut` to completion on the current thread, running this thread's tasks and
/// polling its reactor meanwhile.
///
/// # Panics
/// If the kernel refuses the thread an epoll instance or an eventfd (out of
/// descriptors or memory), which happens at start-up, before any connection.
pub(crate) fn block_on<T>(fut: impl Future<Output = T>) -> T {
    let reactor = match reactor::Reactor::current() {
        Ok(reactor) => reactor,
        Err(e) => panic!("cannot create this thread's epoll instance: {e}"),
    };
    let wake = Arc::new(Wake {
        woken: AtomicBool::new(false),
        reactor: reactor.clone(),
    });
    let waker = Waker::from(wake.clone());
    let cx = &mut Context::from_waker(&waker);
    EXECUTOR.with(|ex| {
        let mut fut = pin!(ex.run(fut));
        loop {
            wake.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(t) = fut.as_mut().poll(cx) {
                return t;
            }
            // A wake that came while the tasks ran is often served already (a spawned
            // task wakes the executor, then runs in the same poll): poll once more,
            // which costs no system call, before asking the kernel for events.
            if wake.woken.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(t) = fut.as_mut().poll(cx) {
                    return t;
                }
            }
            // Woken while running (the executor yields every so many tasks): look at the
            // sockets without waiting, then run again. Otherwise wait for an event, a
            // timer or a wake from another thread.
            if let Err(e) = reactor.react(&wake.woken) {
                crate::log_queue::error(format_args!("waiting for sockets failed: {e}"));
                std::thread::sleep(REACT_ERROR_PAUSE);
            }
        }
    })
}

/// The pause after `epoll_wait` fails (it should not: only a bad descriptor or memory
/// fault makes it), so a broken reactor logs a few lines a second, not a flood.
const REACT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The waker of [`block_on`]: marks the thread woken, and if it is waiting on its
/// reactor (a wake from another thread: the blocking pool, the watchdog), wakes it.
struct Wake {
    woken: AtomicBool,
    reactor: Arc<reactor::Reactor>,
}

impl std::task::Wake for Wake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.reactor.notify();
        }
    }
}

/// Starts a serving thread named `name` that runs `make()`'s future to completion
/// with [`block_on`], with its own executor.
pub(crate) fn start_thread<F, M>(
    name: String,
    make: M,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()> + 'static,
{
    std::thread::Builder::new()
        .name(name)
        .spawn(move || block_on(make()))
}

/// Sleeps for `d`. Connection deadlines do not use this (they use the watchdog, which
/// costs no timer per wait); it is for back-offs and the shutdown wait. A pending timer
/// makes every reactor wait arm a timerfd, so nothing on the request path sleeps.
pub(crate) async fn sleep(d: Duration) {
    Timer::after(d).await;
}

/// Runs blocking work (a disk read, a big folder's `readdir`) on the blocking thread
/// pool, so a slow disk stalls only the request that waits for it.
pub(crate) async fn unblock<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    blocking::unblock(work).await
}

/// Reads up to `buf.len()` bytes of `file` at `offset` without stalling this thread:
/// straight from the page cache when the bytes are there (`preadv2` with `RWF_NOWAIT`:
/// no hop to another thread, no wake-up), else on the blocking pool, so a cold disk
/// stalls only the response that waits for it. Returns the buffer with the result.
pub(crate) async fn read_at(
    file: &Arc<File>,
    mut buf: Vec<u8>,
    offset: u64,
) -> (Vec<u8>, std::io::Result<usize>) {
    use rustix::io::{preadv2, Errno, ReadWriteFlags};
    let cached = preadv2(
        &**file,
        &mut [std::io::IoSliceMut::new(&mut buf)],
        offset,
        ReadWriteFlags::NOWAIT,
    );
    match cached {
        Ok(n) => return (buf, Ok(n)),
        // Not in the page cache (or a file system or kernel without RWF_NOWAIT).
        Err(Errno::AGAIN) | Err(Errno::OPNOTSUPP) | Err(Errno::NOSYS) | Err(Errno::INVAL) => {}
        Err(Errno::INTR) => {}
        Err(e) => return (buf, Err(e.into())),
    }
    let file = file.clone();
    unblock(move || {
        let r = file.read_at(&mut buf, offset);
        (buf, r)
    })
    .await
}

/// Lets the other tasks on this thread run.
pub(crate) async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// How many serving threads to start by default: the CPUs this process may run on
/// (the standard library reads `sched_getaffinity` and the cgroup's CPU quota, so
/// `taskset -c 1 server` gets one), at least one.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn tasks_spawned_on_a_thread_run_on_that_thread_under_block_on() {
        let ran = Rc::new(Cell::new(None));
        let seen = ran.clone();
        let here = std::thread::current().id();
        let done = block_on(async move {
            spawn(async move { seen.set(Some(std::thread::current().id())) });
            for _ in 0..10 {
                yield_now().await;
            }
            ran.get()
        });
        assert_eq!(done, Some(here));
    }

    #[test]
    fn the_default_thread_count_is_at_least_one() {
        assert!(default_threads() >= 1);
    }
}
