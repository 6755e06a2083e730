//! Graceful shutdown: a signal that every task can poll or await, and a count of live
//! connections so the server can wait for in-flight responses.

use async_std::channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The receiving side, cloned into every task.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown {
    rx: Receiver<()>,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fired: AtomicBool,
    live: AtomicUsize,
    tx: Mutex<Option<Sender<()>>>,
}

/// Held by a connection task while it runs; dropping it decrements the live count.
#[derive(Debug)]
pub(crate) struct LiveGuard(Arc<Inner>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A shutdown signal that has not fired.
    pub(crate) fn new() -> Shutdown {
        let (tx, rx) = bounded(1);
        Shutdown {
            rx,
            inner: Arc::new(Inner {
                fired: AtomicBool::new(false),
                live: AtomicUsize::new(0),
                tx: Mutex::new(Some(tx)),
            }),
        }
    }

    /// Fires the signal: every `wait` completes and `is_fired` turns true.
    pub(crate) fn fire(&self) {
        self.inner.fired.store(true, Ordering::Release);
        if let Ok(mut tx) = self.inner.tx.lock() {
            tx.take();
        }
    }

    /// Whether the signal has fired.
    pub(crate) fn is_fired(&self) -> bool {
        self.inner.fired.load(Ordering::Acquire)
    }

    /// Completes when the signal fires.
    pub async fn wait(&self) {
        // recv fails once the sender is dropped, which is exactly the signal.
        let _ = self.rx.recv().await;
    }

    /// Counts a live connection until the guard is dropped.
    pub(crate) fn track(&self) -> LiveGuard {
        self.inner.live.fetch_add(1, Ordering::AcqRel);
        LiveGuard(self.inner.clone())
    }

    /// How many connections are live.
    pub(crate) fn live(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }
}
