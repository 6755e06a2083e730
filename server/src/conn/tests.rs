//! Unit tests of `conn/mod.rs`.

use super::*;

/// An idle connection costs its task: keep the future small (the goal is <= 1 KiB
/// of memory per idle connection). Large buffers belong on the heap, only while in
/// use, and rare paths are boxed.
#[test]
fn connection_future_stays_small() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, peer) = listener.accept().unwrap();
    let stream = Async::new(server_side).unwrap();
    let config =
        <crate::Config as clap::Parser>::try_parse_from(["server", "--root", "/"]).unwrap();
    let root = crate::files::root::Root::open(std::path::Path::new("/")).unwrap();
    let state = Arc::new(State::new(config, root).unwrap());
    let shutdown = Shutdown::new();
    let fut = serve(stream, peer, &state, &shutdown);
    let size = std::mem::size_of_val(&fut);
    drop(fut);
    drop(client);
    // What an idle connection's task holds: 520 bytes here while a turn's result and
    // the slow paths' state lived across the wait for the next head; 280 once they
    // became one boxed future (`rest`); 216 as an async block, which keeps its
    // arguments once (an async fn keeps them twice). Debug builds (this test) keep
    // more than release.
    assert!(size <= 240, "connection future is {size} bytes");
}

/// What a scripted read does before it returns its piece.
type Hook<'s> = Box<dyn FnMut() + Send + 's>;

/// A scripted peer: each read returns the next piece (an empty piece is end of
/// input), after running its hook; writes are kept.
struct Scripted<'s> {
    pieces: std::collections::VecDeque<(&'static [u8], Hook<'s>)>,
    written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    socket: std::net::UdpSocket,
}

impl AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Some((piece, mut hook)) = self.pieces.pop_front() else {
            return Poll::Ready(Ok(0));
        };
        hook();
        buf[..piece.len()].copy_from_slice(piece);
        Poll::Ready(Ok(piece.len()))
    }
}

impl AsyncWrite for Scripted<'_> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Transport for Scripted<'_> {
    fn socket(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Issue 9 item 7: when the head deadline passed just as the head completed, the
/// server sent its 200 and then an unsolicited 408 on the same connection.
#[test]
fn no_408_once_the_response_is_out_even_if_the_head_deadline_fired_as_it_completed() {
    let root = std::env::temp_dir().join(format!("conn-408-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), "a").unwrap();
    let config = <crate::Config as clap::Parser>::try_parse_from([
        "server",
        "--quiet",
        "--head-timeout",
        "1",
    ])
    .unwrap();
    let state =
        Arc::new(State::new(config, crate::files::root::Root::open(&root).unwrap()).unwrap());
    let shutdown = Shutdown::new();
    let dog = &state.watchdog;
    let stream = Scripted {
        pieces: [
            (
                &b"GET /a.txt HTTP/1.1\r\n"[..],
                Box::new(|| {}) as Box<dyn FnMut() + Send>,
            ),
            (
                b"Host: x\r\n\r\n",
                // The rest of the head arrives as its deadline passes and the
                // sweeper cuts the connection.
                Box::new(move || {
                    std::thread::sleep(Duration::from_millis(1100));
                    dog.sweep(false);
                }),
            ),
            (b"", Box::new(|| {})),
        ]
        .into(),
        written: Default::default(),
        socket: std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
    };
    let written = stream.written.clone();
    let peer = "127.0.0.1:1".parse().unwrap();
    crate::rt::block_on(serve(stream, peer, &state, &shutdown));
    let text = String::from_utf8_lossy(&written.lock().unwrap()).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    std::fs::remove_dir_all(&root).unwrap();
}
