//! The async runtime behind one small seam: spawning tasks, blocking on the top-level
//! future, timers and moving blocking work off the executor. Everything else in the
//! server uses only `futures`' I/O traits, so moving to smol or to per-core executors
//! means changing this file (and the socket type in [`crate::listener`]).

use std::future::Future;

/// A timer that can be re-armed (`set_at`) or never fire, for a task that keeps one
/// deadline across many waits (the HTTP/2 connection driver).
pub(crate) use async_io::Timer;
use std::time::Duration;

/// Runs `task` in the background; it owns everything it uses.
pub(crate) fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    async_std::task::spawn(task);
}

/// Runs `fut` to completion on the current thread, driving the executor meanwhile.
pub(crate) fn block_on<T>(fut: impl Future<Output = T>) -> T {
    async_std::task::block_on(fut)
}

/// Sleeps for `d`. Connection deadlines do not use this (they use the watchdog, which
/// costs no timer per wait); it is for periodic tasks and back-offs.
pub(crate) async fn sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

/// Runs blocking work (a disk read, a big folder's `readdir`) on the blocking thread
/// pool, so a slow disk stalls only the request that waits for it.
pub(crate) async fn unblock<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    async_std::task::spawn_blocking(work).await
}

/// Lets the other tasks on this thread run.
pub(crate) async fn yield_now() {
    futures_lite::future::yield_now().await;
}
