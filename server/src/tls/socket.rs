//! The TCP socket under a TLS stream: when a request came with the client's `Finished`,
//! it holds TLS 1.3's session tickets, written as the handshake ends, for the response,
//! and it sends a closing connection's last records with `MSG_MORE`, so a short HTTPS
//! exchange after the handshake leaves in one segment (tickets, response, `close_notify`
//! and FIN) instead of three and a FIN.

use crate::rt::Async;
use futures::io::{AsyncRead, AsyncWrite};
use rustix::net::SendFlags;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The first byte of a TLS record of application data. During the handshake a write that
/// starts with one, and does not carry on where a short send stopped, comes after the
/// handshake has ended under TLS 1.3, where every record is one (RFC 8446 section 5.2):
/// the session tickets (or an encrypted alert). A server's flight starts with a
/// `ServerHello` or `ChangeCipherSpec`, and TLS 1.2's flights and alerts with other types,
/// so they are never held.
const APPLICATION_DATA: u8 = 0x17;

/// Most bytes held for the first write. Two tickets take about 350; anything larger is
/// not what the holding is for, and goes at once.
const MAX_HELD: usize = 4096;

/// A TCP connection as rustls writes to it.
#[derive(Debug)]
pub(crate) struct TlsSocket {
    tcp: Async<TcpStream>,
    /// Until [`TlsSocket::handshake_done`]: writes of application-data records are held.
    handshaking: bool,
    /// Bytes written but not yet sent; they go first, in the same call, with the next
    /// write, flush or close.
    held: Vec<u8>,
    /// Send with `MSG_MORE`: the connection closes after what is being written, and the
    /// close pushes it out with its FIN.
    more: bool,
    /// The last send took less than it was offered: the next write carries on from the
    /// middle of what rustls wrote (perhaps the handshake's flight), so it is never held.
    short: bool,
}

impl TlsSocket {
    /// `tcp`, before its TLS handshake.
    pub(crate) fn new(tcp: Async<TcpStream>) -> TlsSocket {
        TlsSocket {
            tcp,
            handshaking: true,
            held: Vec::new(),
            more: false,
            short: false,
        }
    }

    /// The TCP socket.
    pub(crate) fn tcp(&self) -> &Async<TcpStream> {
        &self.tcp
    }

    /// The handshake is over: from now on every write goes out. With `answer_follows`
    /// (a request already came with the handshake's end), the held tickets go with the
    /// first write, the response; else at once, without waiting: a client that leaves
    /// Nagle on holds its request until its `Finished` is acknowledged, and an answer
    /// from us is what carries the ACK (else the delayed-ACK timer, 40 ms).
    pub(crate) fn handshake_done(&mut self, answer_follows: bool) {
        self.handshaking = false;
        if !answer_follows {
            self.send_held_now();
        }
    }

    /// Sends what is held (the tickets, or the alert of a failed handshake) if the
    /// socket takes it now, without waiting; what it does not take goes with the next
    /// write.
    pub(crate) fn send_held_now(&mut self) {
        self.handshaking = false;
        if !self.held.is_empty() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = self.poll_send(&mut cx, &[]);
        }
    }

    /// What is written from now on is the connection's last: it may wait in the kernel
    /// for the close, which sends it with the FIN in one segment.
    pub(crate) fn close_follows(&mut self) {
        self.more = true;
    }

    /// Sends the held bytes, then `bufs`, in one call; `Ready(Ok(n))` counts `bufs`' bytes
    /// only, and is never 0 for a non-empty `bufs` while the socket takes bytes.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let offered: usize = bufs.iter().map(|b| b.len()).sum();
        let flags = if self.more {
            SendFlags::NOSIGNAL | SendFlags::MORE
        } else {
            SendFlags::NOSIGNAL
        };
        loop {
            ready!(self.tcp.poll_writable(cx))?;
            let held = self.held.len();
            let sent = if held == 0 {
                send(&self.tcp, bufs, flags)
            } else {
                let mut all = Vec::with_capacity(bufs.len() + 1);
                all.push(IoSlice::new(&self.held));
                all.extend_from_slice(bufs);
                send(&self.tcp, &all, flags)
            };
            let n = match sent {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.tcp.clear_writable();
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            self.short = n < held + offered;
            if self.short {
                // A short send filled the socket's buffer: the next one waits for an event.
                self.tcp.clear_writable();
            }
            if n < held {
                self.held.drain(..n);
                continue;
            }
            self.held.clear();
            let mine = n - held;
            if mine > 0 || offered == 0 {
                return Poll::Ready(Ok(mine));
            }
        }
    }
}

fn send(tcp: &Async<TcpStream>, bufs: &[IoSlice<'_>], flags: SendFlags) -> io::Result<usize> {
    let mut control = rustix::net::SendAncillaryBuffer::default();
    rustix::net::sendmsg(tcp.get_ref(), bufs, &mut control, flags).map_err(io::Error::from)
}

impl AsyncRead for TlsSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let offered: usize = bufs.iter().map(|b| b.len()).sum();
        let first = bufs.iter().find_map(|b| b.first().copied());
        if this.handshaking
            && !this.short
            && first == Some(APPLICATION_DATA)
            && this.held.len() + offered <= MAX_HELD
        {
            for b in bufs {
                this.held.extend_from_slice(b);
            }
            return Poll::Ready(Ok(offered));
        }
        this.poll_send(cx, bufs)
    }

    /// Sends the held bytes, except while the handshake runs: the flush that ends it is
    /// the one that would send the tickets on their own.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.handshaking && !this.held.is_empty() {
            ready!(this.poll_send(cx, &[]))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.handshaking = false;
        self::AsyncWrite::poll_flush(Pin::new(this), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::AsyncWriteExt;
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    /// A connected pair: ours wrapped, the peer's plain and blocking.
    fn pair() -> (TlsSocket, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        (TlsSocket::new(Async::new(ours).unwrap()), peer)
    }

    /// Whether the peer can read anything within a short while.
    fn peer_sees_bytes(peer: &mut TcpStream) -> bool {
        peer.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut byte = [0u8; 1];
        peer.peek(&mut byte).is_ok_and(|n| n > 0)
    }

    #[test]
    fn tickets_written_as_the_handshake_ends_go_with_the_first_write() {
        let (mut ours, mut peer) = pair();
        crate::rt::block_on(async {
            // The server's flight goes at once.
            ours.write_all(&[0x16, 3, 3, 0, 1, 9]).await.unwrap();
            ours.flush().await.unwrap();
            let mut flight = [0u8; 6];
            peer.read_exact(&mut flight).unwrap();
            // The tickets, and the flush that ends the handshake, are held.
            ours.write_all(&[0x17, 3, 3, 0, 1, 7]).await.unwrap();
            ours.flush().await.unwrap();
            assert!(!peer_sees_bytes(&mut peer), "the tickets went on their own");
            ours.handshake_done(true);
            ours.write_all(b"response").await.unwrap();
        });
        let mut got = [0u8; 14];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x17\x03\x03\x00\x01\x07response");
    }

    #[test]
    fn a_write_that_carries_on_after_a_short_send_is_never_held() {
        let (mut ours, _peer) = pair();
        // A flight too big for the socket's buffers while the peer reads nothing: its
        // first send is short, and rustls would carry on with what is left, which may
        // begin with any byte.
        let flight = [vec![0x16], vec![0u8; 8 << 20]].concat();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let n = match Pin::new(&mut ours).poll_write(&mut cx, &flight) {
            Poll::Ready(Ok(n)) => n,
            other => panic!("{other:?}"),
        };
        assert!(n < flight.len(), "the socket took all of 8 MiB");
        let rest = [0x17u8, 3, 3, 0, 1, 7];
        assert!(
            Pin::new(&mut ours).poll_write(&mut cx, &rest).is_pending(),
            "the rest of the flight was held as if it were tickets"
        );
        assert!(ours.held.is_empty());
    }

    #[test]
    fn tls_1_2_flights_and_writes_after_the_handshake_go_at_once() {
        let (mut ours, mut peer) = pair();
        crate::rt::block_on(async {
            // TLS 1.2's last flight: a handshake record (NewSessionTicket) and CCS.
            ours.write_all(&[0x16, 3, 3, 0, 1, 4, 0x14, 3, 3, 0, 1, 1])
                .await
                .unwrap();
        });
        assert!(peer_sees_bytes(&mut peer));
        ours.handshake_done(true);
        crate::rt::block_on(ours.write_all(&[0x17, 3, 3, 0, 1, 5])).unwrap();
        let mut got = [0u8; 18];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got[12..], &[0x17, 3, 3, 0, 1, 5]);
    }

    #[test]
    fn without_a_request_waiting_the_tickets_go_at_once() {
        let (mut ours, mut peer) = pair();
        crate::rt::block_on(ours.write_all(&[0x17, 3, 3, 0, 1, 7])).unwrap();
        ours.handshake_done(false);
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, [0x17, 3, 3, 0, 1, 7]);
    }

    #[test]
    fn a_failed_handshake_still_sends_its_alert() {
        let (mut ours, mut peer) = pair();
        let alert = [0x17u8, 3, 3, 0, 2, 2, 40];
        crate::rt::block_on(ours.write_all(&alert)).unwrap();
        ours.send_held_now();
        let mut got = [0u8; 7];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, alert);
    }
}
