//! A non-blocking descriptor registered with this thread's reactor ([`super::reactor`]):
//! the futures I/O traits for sockets and pipes, readiness waits, and the hooks a caller
//! making its own system calls (`sendfile`, `accept4`, `send` with `MSG_MORE`) uses to
//! say it found the socket drained or full.

use super::reactor::{Reactor, Source};
use futures::io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// `io` made non-blocking and watched by the reactor of the thread that first waits on
/// it (so a listener bound on one thread and served on another is watched where it is
/// served). It stays registered until dropped.
///
/// Until a read or write first finds nothing (or takes less than offered), `io` is not
/// registered at all and counts as ready: a connection answered in one read and one
/// write, then closed, makes no `epoll_ctl` call.
#[derive(Debug)]
pub(crate) struct Async<T: AsFd> {
    registered: OnceLock<Registration>,
    /// No other descriptor refers to the socket, so closing it ends its registration
    /// and dropping it makes no `EPOLL_CTL_DEL` call.
    sole: bool,
    /// Something found `io` drained or full, so readiness comes from the reactor now
    /// (set before registering, so a failed registration is reported, never spun on).
    waits: AtomicBool,
    io: T,
}

#[derive(Debug)]
struct Registration {
    reactor: Arc<Reactor>,
    source: Arc<Source>,
}

impl<T: AsFd> Async<T> {
    /// Makes `io` non-blocking and wraps it.
    pub(crate) fn new(io: T) -> io::Result<Async<T>> {
        rustix::io::ioctl_fionbio(io.as_fd(), true)?;
        Ok(Async {
            registered: OnceLock::new(),
            sole: false,
            waits: AtomicBool::new(false),
            io,
        })
    }

    /// Wraps a socket just accepted with `SOCK_NONBLOCK | SOCK_CLOEXEC`: its descriptor
    /// is the only one (nothing duplicates a connection's), so its close also removes it
    /// from epoll, one system call fewer per connection. (A fork's child holds copies
    /// until its `exec`; an event from such a copy only marks a key ready that is free
    /// or someone else's, which costs that socket one read finding nothing.)
    pub(crate) fn accepted(io: T) -> Async<T> {
        Async {
            registered: OnceLock::new(),
            sole: true,
            waits: AtomicBool::new(false),
            io,
        }
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    fn source(&self) -> io::Result<&Source> {
        if let Some(r) = self.registered.get() {
            return Ok(&r.source);
        }
        let reactor = Reactor::current()?;
        let source = reactor.register(self.io.as_fd())?;
        let registration = Registration { reactor, source };
        if let Err(extra) = self.registered.set(registration) {
            extra
                .reactor
                .deregister(&extra.source, Some(self.io.as_fd()));
        }
        self.registered
            .get()
            .map(|r| &*r.source)
            .ok_or_else(|| io::Error::other("registration lost"))
    }

    /// The reactor's record of `io`, or `None` while nothing has found it drained or
    /// full (then it counts as ready).
    fn watched(&self) -> io::Result<Option<&Source>> {
        if let Some(r) = self.registered.get() {
            return Ok(Some(&r.source));
        }
        if self.waits.load(Ordering::Relaxed) {
            return self.source().map(Some);
        }
        Ok(None)
    }

    /// Ready when the last event says bytes may be there (or the peer closed), or while
    /// no read has found it drained.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(source) = self.watched()? else {
            return Poll::Ready(Ok(()));
        };
        if source.is_readable() || source.wait_readable(cx.waker()) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Ready when the last event says the descriptor takes bytes, or while no write has
    /// found it full.
    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(source) = self.watched()? else {
            return Poll::Ready(Ok(()));
        };
        if source.is_writable() || source.wait_writable(cx.waker()) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// From now on readiness comes from the reactor: registers `io` if it is not yet.
    fn start_waiting(&self) -> Option<&Source> {
        self.waits.store(true, Ordering::Relaxed);
        self.source().ok()
    }

    /// Waits for [`Async::poll_readable`].
    pub(crate) async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Waits for [`Async::poll_writable`].
    pub(crate) async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// A read found nothing (`EAGAIN`): the next [`Async::readable`] waits for an event.
    pub(crate) fn clear_readable(&self) {
        if let Some(source) = self.start_waiting() {
            source.clear_readable();
        }
    }

    /// A read took less than asked for, so the socket is drained: the next
    /// [`Async::readable`] waits for an event. Not yet registered, it stays so: the next
    /// read finding nothing registers it (a connection that closes now never needs to).
    fn drained(&self) {
        if let Some(r) = self.registered.get() {
            r.source.clear_readable();
        }
    }

    /// A write was refused or taken in part: the next [`Async::writable`] waits.
    pub(crate) fn clear_writable(&self) {
        if let Some(source) = self.start_waiting() {
            source.clear_writable();
        }
    }

    /// Runs the read-like `op` until it does not report `WouldBlock`, waiting for
    /// readiness between tries.
    pub(crate) async fn read_with<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            self.readable().await?;
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readable(),
                result => return result,
            }
        }
    }

    /// Runs the write-like `op` until it does not report `WouldBlock`, waiting for
    /// readiness between tries.
    pub(crate) async fn write_with<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            self.writable().await?;
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_writable(),
                result => return result,
            }
        }
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(r) = self.registered.take() {
            let fd = (!self.sole).then(|| self.io.as_fd());
            r.reactor.deregister(&r.source, fd);
        }
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl Async<std::net::TcpStream> {
    /// Peeks at the bytes waiting, without taking them.
    pub(crate) async fn peek(&self, into: &mut [u8]) -> io::Result<usize> {
        self.read_with(|s| s.peek(into)).await
    }
}

/// One read-like call on `this`: a short read of a stream drained it, so the next one
/// waits for an event instead of finding nothing (an end of stream, 0, is not short:
/// it stays readable).
fn poll_read_with<T: AsFd>(
    this: &Async<T>,
    cx: &mut Context<'_>,
    wanted: usize,
    mut op: impl FnMut(&T) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        std::task::ready!(this.poll_readable(cx))?;
        match op(&this.io) {
            Ok(n) => {
                if n > 0 && n < wanted {
                    this.drained();
                }
                return Poll::Ready(Ok(n));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.clear_readable(),
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// One write-like call on `this`: a short write filled the socket's buffer, so the next
/// one waits for an event.
fn poll_write_with<T: AsFd>(
    this: &Async<T>,
    cx: &mut Context<'_>,
    offered: usize,
    mut op: impl FnMut(&T) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        std::task::ready!(this.poll_writable(cx))?;
        match op(&this.io) {
            Ok(n) => {
                if n < offered {
                    this.clear_writable();
                }
                return Poll::Ready(Ok(n));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.clear_writable(),
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsFd> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let wanted = buf.len();
        poll_read_with(&self, cx, wanted, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted = bufs.iter().map(|b| b.len()).sum();
        poll_read_with(&self, cx, wanted, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write_with(&self, cx, buf.len(), |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let offered = bufs.iter().map(|b| b.len()).sum();
        poll_write_with(&self, cx, offered, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
