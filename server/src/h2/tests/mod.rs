//! The driver against a stub handler over an in-memory socket pair: `h2`'s own client
//! for well-behaved exchanges ([`exchange`]), hand-made frames for hostile ones
//! ([`hostile`]).

mod exchange;
mod hostile;

use super::{Answer, Head, Piece, Respond, Settings};
use crate::shutdown::Shutdown;
use async_io::Async;
use bytes::Bytes;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

/// Size of the stub's `/big` file: many windows and many chunks.
pub(super) const BIG: usize = 3 * 1024 * 1024 + 123;

/// The stub's `/big` content: a pattern that shows misplaced bytes.
pub(super) fn big_content() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

/// A handler with a few fixed answers.
pub(super) struct Stub {
    big: Arc<File>,
    _dir: tempfile::TempDir,
}

impl Stub {
    pub(super) fn new() -> Stub {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        File::create(&path)
            .unwrap()
            .write_all(&big_content())
            .unwrap();
        Stub {
            big: Arc::new(File::open(&path).unwrap()),
            _dir: dir,
        }
    }
}

fn answer(status: u16, fields: &[(&str, &[u8])], body: Vec<Piece>) -> Answer {
    Answer {
        head: super::response::head(status, fields.iter().copied()),
        body,
    }
}

impl Respond for Stub {
    fn respond(&self, head: &Head) -> Answer {
        let len = |n: usize| n.to_string().into_bytes();
        match head.target.as_str() {
            "/hello" => answer(
                200,
                &[
                    ("Content-Type", b"text/plain"),
                    ("Content-Length", &len(5)),
                    // What an HTTP/1 writer might add; HTTP/2 must never send it.
                    ("Connection", b"keep-alive"),
                    ("Keep-Alive", b"timeout=5"),
                    ("Transfer-Encoding", b"chunked"),
                ],
                vec![Piece::Bytes(Bytes::from_static(b"hello"))],
            ),
            "/big" => answer(
                200,
                &[("Content-Length", &len(BIG))],
                vec![Piece::File {
                    file: self.big.clone(),
                    offset: 0,
                    len: BIG as u64,
                }],
            ),
            // Bytes and two file ranges, as a multipart body mixes them.
            "/parts" => answer(
                206,
                &[("Content-Length", &len(3 + 10 + 3 + 100_000 + 3))],
                vec![
                    Piece::Bytes(Bytes::from_static(b"<a>")),
                    Piece::File {
                        file: self.big.clone(),
                        offset: 5,
                        len: 10,
                    },
                    Piece::Bytes(Bytes::from_static(b"<b>")),
                    Piece::File {
                        file: self.big.clone(),
                        offset: 1_000_000,
                        len: 100_000,
                    },
                    Piece::Bytes(Bytes::from_static(b"<c>")),
                ],
            ),
            // A handler that attached a body to a 304 (the writer must drop it).
            "/not-modified" => answer(
                304,
                &[("ETag", b"\"1\"")],
                vec![Piece::Bytes(Bytes::from_static(b"stray"))],
            ),
            "/fields" => {
                let ae = head
                    .field("accept-encoding")
                    .unwrap_or_default()
                    .into_owned();
                let authority = head.authority.clone().unwrap_or_default();
                let body = format!("{}|{}", String::from_utf8_lossy(&ae), authority);
                answer(200, &[], vec![Piece::Bytes(Bytes::from(body))])
            }
            "/panic" => panic!("a handler bug"),
            _ => self.error(404, head.method == http::Method::HEAD),
        }
    }

    fn error(&self, status: u16, _head_only: bool) -> Answer {
        answer(
            status,
            &[("Content-Type", b"text/plain")],
            vec![Piece::Bytes(Bytes::from_static(b"error page"))],
        )
    }
}

/// Settings with short timeouts, so the tests that wait for them are quick.
pub(super) fn quick() -> Settings {
    Settings {
        head_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        send_timeout: Duration::from_millis(500),
        max_requests: 1000,
        log: false,
    }
}

/// Settings whose timeouts never fire within a test.
pub(super) fn patient() -> Settings {
    Settings {
        head_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        send_timeout: Duration::from_secs(600),
        max_requests: 1000,
        log: false,
    }
}

/// A server connection running in its own task.
pub(super) struct Served {
    pub(super) shutdown: Shutdown,
    done: async_std::task::JoinHandle<()>,
}

impl Served {
    /// Waits (at most `limit`) for the connection task to end; `true` if it did.
    pub(super) async fn ended_within(self, limit: Duration) -> bool {
        let deadline = async_io::Timer::after(limit);
        matches!(
            futures::future::select(self.done, deadline).await,
            futures::future::Either::Left(_)
        )
    }
}

/// Starts serving one end of a socket pair; returns the other end.
pub(super) fn serve(settings: Settings) -> (UnixStream, Served) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let shutdown = Shutdown::new();
    let handle = shutdown.clone();
    let done = async_std::task::spawn(async move {
        let stub = Stub::new();
        let io = Async::new(theirs).unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        super::serve(io, peer, &settings, &stub, &handle).await;
    });
    (ours, Served { shutdown, done })
}
