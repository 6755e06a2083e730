//! Turning an accepted TCP connection into a TLS stream: the handshake under the head
//! deadline (enforced by the watchdog, like every connection deadline), plain HTTP on the
//! TLS port answered with a `400` that says to use https://, and every failure closed with
//! one short log line, never a panic.

use super::sniff;
use super::socket::TlsSocket;
use crate::rt::Async;
use crate::watchdog::{Phase, Watch, Watchdog};
use futures::io::AsyncWriteExt;
use futures_rustls::server::TlsStream;
use futures_rustls::TlsAcceptor;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime};

/// Bytes peeked to tell TLS from plain HTTP; [`sniff::is_plain_http`] needs one.
const SNIFF_BYTES: usize = 8;

/// After a one-shot answer (plain HTTP on the TLS port, a redirect), read and discard the
/// rest for at most this long (and [`DRAIN_MAX_BYTES`]), so closing with unread input does
/// not reset the connection and destroy the answer before the client reads it.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while draining.
const DRAIN_MAX_BYTES: usize = 64 * 1024;

/// A TLS connection over TCP, as the connection loop serves it.
pub(crate) type TlsTcp = TlsStream<TlsSocket>;

/// How long each step may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// For the first byte, then again for the whole handshake from that byte (the absolute
    /// head deadline: a trickled ClientHello cannot extend it).
    pub head: Duration,
    /// For writing a one-shot answer (the `400` to a plain HTTP client).
    pub send: Duration,
}

/// Runs the handshake on `tcp`. `None` when the connection was closed instead: silent,
/// plain HTTP (answered), a failed or too slow handshake (logged).
pub(crate) async fn handshake(
    tcp: Async<TcpStream>,
    peer: SocketAddr,
    acceptor: &TlsAcceptor,
    watchdog: &Watchdog,
    limits: Limits,
) -> Option<TlsTcp> {
    // Idle until the first byte: a silent connection is dropped like a silent plain one
    // (quietly, and at once when the server shuts down).
    let watch = watchdog.register(tcp.get_ref().as_fd(), limits.head);
    let mut first = [0u8; SNIFF_BYTES];
    let n = first_bytes(&tcp, &mut first).await?;
    watch.set_phase(Phase::Head);
    watch.arm(limits.head);
    if sniff::is_plain_http(&first[..n]) {
        crate::log_queue::error(format_args!("{peer}: {}", sniff::PLAIN_ON_TLS_PORT));
        let reply = sniff::plain_http_rejection(SystemTime::now());
        answer_and_close(&tcp, &reply, &watch, limits.send).await;
        return None;
    }
    // On failure the socket comes back, so it closes only after `watch` deregisters.
    let outcome = acceptor.accept(TlsSocket::new(tcp)).into_fallible().await;
    let timed_out = watch.fired_in() == Some(Phase::Head);
    drop(watch);
    let outcome = outcome.map_err(|(e, mut socket)| {
        socket.send_held_now();
        (e, socket)
    });
    match outcome {
        Ok(mut stream) => {
            // A request that came with the client's Finished is already decrypted: its
            // response will carry the tickets.
            let (socket, tls) = stream.get_mut();
            let answer_follows = tls
                .process_new_packets()
                .is_ok_and(|io| io.plaintext_bytes_to_read() > 0);
            socket.handshake_done(answer_follows);
            Some(stream)
        }
        Err((_, _tcp)) if timed_out => {
            crate::log_queue::error(format_args!(
                "{peer}: TLS handshake not finished {} s after its first byte; closed",
                limits.head.as_secs()
            ));
            None
        }
        // The peer hung up mid-handshake: not worth a log line.
        Err((e, _tcp)) if crate::conn::is_peer_gone(&e) => None,
        Err((e, _tcp)) => {
            crate::log_queue::error(format_args!("{peer}: TLS handshake failed: {e}"));
            None
        }
    }
}

/// Waits for the connection's first bytes and peeks at them; `None` if it closed (or the
/// watchdog cut it) before sending any.
async fn first_bytes(tcp: &Async<TcpStream>, into: &mut [u8]) -> Option<usize> {
    match tcp.peek(into).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// Writes `reply` within `send`, then closes our side and reads and discards what the
/// client still sends (bounded), so the close does not reset the connection and destroy
/// the reply before the client reads it. Deadlines are `watch`'s.
pub(crate) async fn answer_and_close(
    tcp: &Async<TcpStream>,
    reply: &[u8],
    watch: &Watch,
    send: Duration,
) {
    watch.set_phase(Phase::Send);
    watch.arm(send);
    let mut written = 0;
    while written < reply.len() {
        match tcp.write_with(|s| (&*s).write(&reply[written..])).await {
            Ok(0) | Err(_) => return,
            Ok(n) => written += n,
        }
    }
    let _ = tcp.get_ref().shutdown(Shutdown::Write);
    watch.set_phase(Phase::Drain);
    watch.arm(DRAIN_TIME);
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    while drained < DRAIN_MAX_BYTES {
        match tcp.read_with(|s| (&*s).read(&mut scratch)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    watch.disarm();
}

/// Ends a TLS connection the connection loop has left (idle timeout, shutdown, the
/// client's own close): a `close_notify` alert (RFC 8446 section 6.1), so the client can
/// tell a complete response from a cut one, bounded by the send timeout.
pub(crate) async fn close(stream: &mut TlsTcp, watchdog: &Watchdog, send: Duration) {
    let watch = watchdog.register(stream.get_ref().0.tcp().get_ref().as_fd(), send);
    watch.set_phase(Phase::Send);
    let _ = stream.close().await;
    drop(watch);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tls::{setup, TlsFiles, ALPN_HTTP1};
    use rcgen::{CertificateParams, KeyPair};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::time::Instant;

    /// A self-signed localhost pair, the acceptor for it, and a client config trusting it.
    fn pair() -> (tempfile::TempDir, TlsAcceptor, Arc<rustls::ClientConfig>) {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        let (tls, _) = setup(files, &[ALPN_HTTP1]).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (dir, TlsAcceptor::from(tls.config), Arc::new(client))
    }

    /// Accepts one connection on loopback and runs the handshake on it while `client`
    /// runs in a thread; returns whether a TLS stream came out, and the client's result.
    fn accept_one<T: Send + 'static>(
        limits: Limits,
        client: impl FnOnce(std::net::TcpStream) -> T + Send + 'static,
    ) -> (bool, T) {
        let (_dir, acceptor, _) = pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || client(std::net::TcpStream::connect(addr).unwrap()));
        let (tcp, from) = listener.accept().unwrap();
        let tcp = Async::new(tcp).unwrap();
        let got = with_watchdog(|dog| handshake(tcp, from, &acceptor, dog, limits));
        let done = got.is_some();
        drop(got);
        (done, peer.join().unwrap())
    }

    /// Runs `f` with a watchdog whose sweeper runs alongside, as in the server.
    pub(crate) fn with_watchdog<'a, F, T>(f: impl FnOnce(&'a Watchdog) -> F) -> T
    where
        F: std::future::Future<Output = T> + 'a,
    {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog::new()));
        let shutdown: &'static crate::shutdown::Shutdown =
            Box::leak(Box::new(crate::shutdown::Shutdown::new()));
        let _sweeper = dog.start_sweeper(shutdown);
        crate::rt::block_on(f(dog))
    }

    const QUICK: Limits = Limits {
        head: Duration::from_secs(1),
        send: Duration::from_secs(5),
    };

    fn read_all(mut s: std::net::TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    #[test]
    fn a_real_client_completes_the_handshake_and_exchanges_data() {
        let (_dir, acceptor, client) = pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let conn = rustls::ClientConnection::new(client, name).unwrap();
            let mut tls =
                rustls::StreamOwned::new(conn, std::net::TcpStream::connect(addr).unwrap());
            tls.write_all(b"ping").unwrap();
            let mut back = [0u8; 4];
            tls.read_exact(&mut back).unwrap();
            back
        });
        let (tcp, from) = listener.accept().unwrap();
        let tcp = Async::new(tcp).unwrap();
        with_watchdog(|dog| async move {
            use futures::{AsyncReadExt, AsyncWriteExt};
            let mut stream = handshake(tcp, from, &acceptor, dog, QUICK).await.unwrap();
            let mut got = [0u8; 4];
            stream.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            stream.write_all(b"pong").await.unwrap();
            stream.flush().await.unwrap();
        });
        assert_eq!(&peer.join().unwrap(), b"pong");
    }

    #[test]
    fn plain_http_on_the_tls_port_gets_a_400_naming_https() {
        let (done, answer) = accept_one(QUICK, |mut s| {
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            read_all(s)
        });
        assert!(!done);
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("https://"), "{answer}");
    }

    #[test]
    fn a_silent_connection_is_closed_after_the_head_timeout() {
        let started = Instant::now();
        let (done, answer) = accept_one(QUICK, read_all);
        assert!(!done);
        assert!(answer.is_empty(), "{answer:?}");
        // Closed by the deadline, not at once.
        assert!(started.elapsed() >= QUICK.head, "{:?}", started.elapsed());
    }

    #[test]
    fn a_trickled_client_hello_is_cut_at_the_deadline_from_its_first_byte() {
        let (done, _) = accept_one(QUICK, |mut s| {
            // Start a ClientHello, then stall; the server must close, not wait forever.
            s.write_all(b"\x16\x03\x01\x02\x00\x01").unwrap();
            read_all(s)
        });
        assert!(!done);
    }

    #[test]
    fn malformed_and_oversized_handshakes_are_closed_without_a_panic() {
        for junk in [
            // A handshake record with a nonsense body.
            b"\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff".to_vec(),
            // A record longer than TLS allows (2^14 + 2048 bytes of ciphertext at most).
            [&b"\x16\x03\x01\xff\xff"[..], &vec![0u8; 0xffff]].concat(),
            // A ClientHello claiming 16 MiB.
            b"\x16\x03\x01\x00\x04\x01\xff\xff\xff".to_vec(),
            // A TLS alert instead of a hello, and raw binary.
            b"\x15\x03\x03\x00\x02\x02\x28".to_vec(),
            vec![0u8; 64],
        ] {
            let (done, _) = accept_one(QUICK, move |mut s| {
                let _ = s.write_all(&junk);
                read_all(s)
            });
            assert!(!done);
        }
    }
}
