//! A timer on this thread's reactor: a deadline that can be moved (`set_at`) or never
//! come, for the waits that need one (HTTP/2's connection deadlines, back-offs, the
//! shutdown wait). Connection deadlines on the request path use the watchdog instead.

use super::reactor::Reactor;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Completes at its deadline with the deadline; `Timer::never()` never completes.
#[derive(Debug)]
pub(crate) struct Timer {
    at: Option<Instant>,
    /// The reactor it is registered with, and its id there, while it waits.
    registered: Option<(Arc<Reactor>, Instant, u64)>,
    /// The waker registered, to skip registering again for the same task.
    waker: Option<Waker>,
}

impl Timer {
    pub(crate) fn after(d: Duration) -> Timer {
        Timer::at(Instant::now() + d)
    }

    pub(crate) fn at(at: Instant) -> Timer {
        Timer {
            at: Some(at),
            registered: None,
            waker: None,
        }
    }

    pub(crate) fn never() -> Timer {
        Timer {
            at: None,
            registered: None,
            waker: None,
        }
    }

    /// Moves the deadline to `at`.
    pub(crate) fn set_at(&mut self, at: Instant) {
        self.unregister();
        self.at = Some(at);
    }

    fn unregister(&mut self) {
        if let Some((reactor, at, id)) = self.registered.take() {
            reactor.remove_timer(at, id);
        }
    }
}

impl Future for Timer {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(at) = self.at else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            self.unregister();
            return Poll::Ready(at);
        }
        let same_task = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if same_task && self.registered.as_ref().is_some_and(|r| r.1 == at) {
            return Poll::Pending;
        }
        self.unregister();
        self.waker = Some(cx.waker().clone());
        match Reactor::current() {
            Ok(reactor) => {
                let id = reactor.add_timer(at, cx.waker().clone());
                self.registered = Some((reactor, at, id));
            }
            // No reactor (out of descriptors): come back soon rather than never.
            Err(_) => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.unregister();
    }
}
