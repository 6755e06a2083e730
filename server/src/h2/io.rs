//! The connection's byte stream as `h2` sees it: every byte read is scanned for frame
//! headers and counted against the flood meters, and every write the socket refuses is
//! timed, so the driver can enforce the send timeout on the whole connection. Once a
//! flood is seen, nothing more is read: the GOAWAY goes out and the rest is ignored.
//! The stream itself stays reachable through [`Kept`], so the driver can linger on it
//! after `h2` is done with it.

use super::flood::{Flood, Meter};
use super::frames::Scanner;
use futures::io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// `blocked_ms` while writes go through.
const NOT_BLOCKED: u64 = u64::MAX;

/// What the driver reads from the stream it handed to `h2`.
#[derive(Debug)]
pub(crate) struct Signals {
    epoch: Instant,
    /// Milliseconds after `epoch` since which the socket has refused our bytes.
    blocked_ms: AtomicU64,
    /// 0 until a flood is seen, then 1 + the [`Flood`] variant.
    flood: AtomicU8,
    /// Bytes the stream took, for the read-rate floor.
    written: AtomicU64,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            epoch: Instant::now(),
            blocked_ms: AtomicU64::new(NOT_BLOCKED),
            flood: AtomicU8::new(0),
            written: AtomicU64::new(0),
        }
    }

    /// How long the socket has refused to take more bytes (`None` while it takes them).
    pub(crate) fn blocked_for(&self) -> Option<Duration> {
        let since = self.blocked_ms.load(Ordering::Relaxed);
        (since != NOT_BLOCKED).then(|| {
            let now = self.epoch.elapsed().as_millis() as u64;
            Duration::from_millis(now.saturating_sub(since))
        })
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The flood the client sent, if any.
    pub(crate) fn flood(&self) -> Option<Flood> {
        match self.flood.load(Ordering::Acquire) {
            1 => Some(Flood::Resets),
            2 => Some(Flood::Control),
            _ => None,
        }
    }

    fn set_flood(&self, flood: Flood) {
        let code = match flood {
            Flood::Resets => 1,
            Flood::Control => 2,
        };
        self.flood.store(code, Ordering::Release);
    }

    fn wrote(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &poll {
            self.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        self.write_result(poll)
    }

    fn write_result<T>(&self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match &poll {
            Poll::Pending => {
                if self.blocked_ms.load(Ordering::Relaxed) == NOT_BLOCKED {
                    let now = self.epoch.elapsed().as_millis() as u64;
                    self.blocked_ms.store(now, Ordering::Relaxed);
                }
            }
            Poll::Ready(_) => self.blocked_ms.store(NOT_BLOCKED, Ordering::Relaxed),
        }
        poll
    }
}

/// A byte stream with its frames counted and its writes timed.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    /// Locked only by this connection's one task, so never contended.
    inner: Arc<Mutex<S>>,
    scanner: Scanner,
    meter: Meter,
    signals: Arc<Signals>,
}

/// The driver's hold on the byte stream, to take it back once `h2` has dropped it.
#[derive(Debug)]
pub(crate) struct Kept<S>(Arc<Mutex<S>>);

impl<S> Kept<S> {
    /// The stream, once the [`Watched`] wrapping it is gone.
    pub(crate) fn take(self) -> Option<S> {
        Arc::into_inner(self.0).map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<S> Watched<S> {
    /// Wraps `inner`; the signals and the hold on the stream are for the driver.
    pub(crate) fn new(inner: S) -> (Watched<S>, Arc<Signals>, Kept<S>) {
        let signals = Arc::new(Signals::new());
        let inner = Arc::new(Mutex::new(inner));
        let watched = Watched {
            inner: inner.clone(),
            scanner: Scanner::default(),
            meter: Meter::new(Instant::now()),
            signals: signals.clone(),
        };
        (watched, signals, Kept(inner))
    }

    fn io(&self) -> MutexGuard<'_, S> {
        // A panic while the lock was held leaves the stream as usable as any other.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.meter.tripped().is_some() {
            // Read no more from a flooding client; the driver closes the connection.
            return Poll::Pending;
        }
        let poll = Pin::new(&mut *this.io()).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            let (meter, signals) = (&mut this.meter, &this.signals);
            let mut now = None;
            this.scanner.feed(&buf[..*n], |frame| {
                let at = *now.get_or_insert_with(Instant::now);
                if let Some(flood) = meter.count(frame, at) {
                    signals.set_flood(flood);
                }
            });
            if this.meter.tripped().is_some() {
                // Wake the driver, which looks at the signals between polls of `h2`.
                cx.waker().wake_by_ref();
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut *this.io()).poll_write(cx, buf);
        this.signals.wrote(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut *this.io()).poll_write_vectored(cx, bufs);
        this.signals.wrote(poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut *this.io()).poll_flush(cx);
        this.signals.write_result(poll)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io()).poll_close(cx)
    }
}
