//! Spreading connections evenly over the serving threads. Every thread waits on every
//! listener, and a thread that wakes accepts until the queue is empty, so a burst of new
//! clients (a load tester's or a browser's connections, opened at once) could all land
//! on one thread while the others idle: measured with two threads and 64 keep-alive
//! connections, splits from 34/34 to 66/2, and the lopsided runs had a fifth less
//! throughput and a p99 latency up to five times longer. A thread with more than its
//! share of live connections leaves a new client to the others, and takes it only if no
//! other thread has within [`BALANCE_WAIT`].

use crate::rt::{Async, Timer};
use futures::FutureExt;
use std::future::Future;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// How long a thread over its share leaves a waiting client to the others before it
/// takes the client itself (a lighter thread may be busy, or descheduled on a shared
/// core). Long enough for a running thread to get to its accept, short next to a
/// handshake over any real network.
pub(crate) const BALANCE_WAIT: Duration = Duration::from_millis(2);

/// One thread's live connections, on a cache line of its own: each thread writes only
/// its own.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Count {
    live: AtomicUsize,
    /// Whether `waiters` holds any: a connection's end looks at the list only then.
    waited: AtomicBool,
    /// This thread's accept loops waiting for one of its connections to end.
    waiters: Mutex<Vec<Waker>>,
}

impl Count {
    fn get(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

/// The live connections of every serving thread.
#[derive(Debug)]
pub(crate) struct Spread {
    counts: Box<[Count]>,
    /// Threads started so far (the first, then one per [`Spread::start`]): a thread
    /// that could not be started must not count as an idle one to leave clients to.
    running: AtomicUsize,
}

impl Spread {
    /// Room for `threads` serving threads, the first of them running.
    pub(crate) fn new(threads: usize) -> Arc<Spread> {
        Arc::new(Spread {
            counts: (0..threads.max(1)).map(|_| Count::default()).collect(),
            running: AtomicUsize::new(1),
        })
    }

    /// Thread `n`'s view, counting it as running from now (threads start in order, 1,
    /// 2, ...).
    pub(crate) fn start(self: &Arc<Spread>, n: usize) -> Share {
        self.running.fetch_add(1, Ordering::Relaxed);
        self.thread(n)
    }

    /// The thread last started could not be.
    pub(crate) fn failed(&self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }

    /// Thread `n`'s view.
    pub(crate) fn thread(self: &Arc<Spread>, n: usize) -> Share {
        Share {
            spread: self.clone(),
            me: n.min(self.counts.len() - 1),
        }
    }

    /// Whether thread `me` may accept: it holds less than its share plus one, so the
    /// thread with the fewest connections always may, and one thread alone always does.
    fn may_accept(&self, me: usize) -> bool {
        let threads = self.running.load(Ordering::Relaxed).min(self.counts.len());
        if threads <= 1 {
            return true;
        }
        let total: usize = self.counts[..threads].iter().map(Count::get).sum();
        self.counts[me].get() * threads < total + threads
    }
}

/// One thread's part in the [`Spread`].
#[derive(Debug, Clone)]
pub(crate) struct Share {
    spread: Arc<Spread>,
    me: usize,
}

impl Share {
    /// Returns when this thread should accept on `socket`: at once while it holds no
    /// more than its share; else once it is back within its share (one of its own
    /// connections ended), or a client has waited [`BALANCE_WAIT`] without another
    /// thread taking it.
    pub(crate) async fn wait_turn(&self, socket: &Async<TcpListener>) {
        // When the client found waiting is this thread's to take: one deadline, however
        // often one of this thread's connections ends meanwhile.
        let mut deadline = None;
        loop {
            if self.spread.may_accept(self.me) {
                return;
            }
            if is_waiting(socket) {
                let at = *deadline.get_or_insert_with(|| Instant::now() + BALANCE_WAIT);
                let ended = futures_lite::future::or(
                    self.one_ends().map(|()| true),
                    Timer::at(at).map(|_| false),
                )
                .await;
                if self.spread.may_accept(self.me) || !ended && is_waiting(socket) {
                    return;
                }
                if !ended {
                    deadline = None;
                }
                continue;
            }
            // No one waiting now: look again at the next client's arrival.
            deadline = None;
            socket.clear_readable();
            let _ = socket.readable().await;
        }
    }

    /// Counts a connection this thread accepted, until the guard is dropped.
    pub(crate) fn count(&self) -> Counted {
        self.mine().live.fetch_add(1, Ordering::Relaxed);
        Counted(self.clone())
    }

    fn mine(&self) -> &Count {
        &self.spread.counts[self.me]
    }

    /// Completes when one of this thread's connections has ended.
    fn one_ends(&self) -> impl Future<Output = ()> + '_ {
        let before = self.mine().get();
        std::future::poll_fn(move |cx| {
            let count = self.mine();
            if count.get() < before {
                return Poll::Ready(());
            }
            let mut waiters = count.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            count.waited.store(true, Ordering::SeqCst);
            drop(waiters);
            // A connection that ended before the flag was up is seen here.
            if count.get() < before {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A live connection counted for its thread.
#[derive(Debug)]
pub(crate) struct Counted(Share);

impl Drop for Counted {
    fn drop(&mut self) {
        let count = self.0.mine();
        count.live.fetch_sub(1, Ordering::SeqCst);
        if count.waited.swap(false, Ordering::SeqCst) {
            let waiters =
                std::mem::take(&mut *count.waiters.lock().unwrap_or_else(|e| e.into_inner()));
            waiters.into_iter().for_each(Waker::wake);
        }
    }
}

/// Whether a client is in `socket`'s queue right now, asked of the kernel: a
/// readiness event can be stale.
pub(crate) fn is_waiting(socket: &Async<TcpListener>) -> bool {
    let mut fd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for a descriptor `socket` holds open; no wait.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready == 1 && fd.revents & libc::POLLIN != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding: threads that were never started counted as idle ones, so the
    /// running thread deferred nearly every client for BALANCE_WAIT.
    #[test]
    fn only_started_threads_share_the_clients() {
        let spread = Spread::new(4);
        let first = spread.thread(0);
        let _held: Vec<_> = (0..10).map(|_| first.count()).collect();
        assert!(spread.may_accept(0), "three threads never started");
        let _second = spread.start(1);
        assert!(!spread.may_accept(0) && spread.may_accept(1));
        spread.failed();
        assert!(spread.may_accept(0));
    }

    #[test]
    fn one_thread_always_accepts() {
        let spread = Spread::new(1);
        let share = spread.thread(0);
        let _held: Vec<_> = (0..100).map(|_| share.count()).collect();
        assert!(spread.may_accept(0));
    }

    #[test]
    fn a_thread_over_its_share_leaves_clients_to_the_lighter_one() {
        let spread = Spread::new(2);
        let (a, b) = (spread.thread(0), spread.start(1));
        let mut held = vec![a.count()];
        // 1 and 0: both may (within one of the share).
        assert!(spread.may_accept(0) && spread.may_accept(1));
        held.push(a.count());
        // 2 and 0: only the lighter one.
        assert!(!spread.may_accept(0) && spread.may_accept(1));
        held.push(b.count());
        assert!(spread.may_accept(0) && spread.may_accept(1));
        // A connection's end gives the share back.
        held.truncate(1);
        assert_eq!(spread.counts[0].get(), 1);
        assert_eq!(spread.counts[1].get(), 0);
    }

    #[test]
    fn the_lightest_of_many_threads_may_always_accept() {
        let spread = Spread::new(4);
        let mut shares = vec![spread.thread(0)];
        shares.extend((1..4).map(|n| spread.start(n)));
        let mut held = Vec::new();
        for (n, count) in [(0, 9), (1, 3), (2, 5), (3, 4)] {
            for _ in 0..count {
                held.push(shares[n].count());
            }
        }
        assert!(spread.may_accept(1));
        assert!(!spread.may_accept(0));
        // 21 in all, 5.25 each: 5 and 4 are within one of it.
        assert!(spread.may_accept(2) && spread.may_accept(3));
    }
}
