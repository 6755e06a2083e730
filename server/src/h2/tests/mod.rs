//! The driver against a stub handler over an in-memory socket pair: `h2`'s own client
//! for well-behaved exchanges ([`exchange`]), hand-made frames for hostile ones
//! ([`hostile`]).

mod exchange;
mod hostile;

use super::{Respond, Settings};
use crate::context::Ctx;
use crate::files::Handled;
use crate::response::{Body, Part, Response};
use crate::rt::Async;
use crate::shutdown::Shutdown;
use bytes::Bytes;
use shared::StatusCode;
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

impl Respond for Stub {
    fn respond(&self, ctx: &Ctx<'_>) -> Handled {
        Handled::Ready(self.answer(ctx))
    }
}

impl Stub {
    fn answer(&self, ctx: &Ctx<'_>) -> Response {
        match ctx.target {
            "/hello" => {
                let mut r =
                    Response::page(StatusCode::OK, "text/plain", Bytes::from_static(b"hello"));
                // What an HTTP/1 writer adds; HTTP/2 must never send it.
                r.fields.append("Connection", "keep-alive");
                r.fields.append("Keep-Alive", "timeout=5");
                r.fields.append("Transfer-Encoding", "chunked");
                r
            }
            "/big" => {
                let mut r = Response::new(StatusCode::OK);
                r.body = Body::File {
                    file: self.big.clone(),
                    offset: 0,
                    len: BIG as u64,
                };
                r
            }
            // Bytes and two file ranges, as a multipart body mixes them.
            "/parts" => {
                let mut r = Response::new(StatusCode::PARTIAL_CONTENT);
                r.body = Body::Multipart {
                    file: self.big.clone(),
                    parts: vec![
                        Part::Bytes(Bytes::from_static(b"<a>")),
                        Part::Range { offset: 5, len: 10 },
                        Part::Bytes(Bytes::from_static(b"<b>")),
                        Part::Range {
                            offset: 1_000_000,
                            len: 100_000,
                        },
                        Part::Bytes(Bytes::from_static(b"<c>")),
                    ],
                };
                r
            }
            // A handler that attached a body to a 304 (the writer must drop it).
            "/not-modified" => {
                let mut r = Response::new(StatusCode::NOT_MODIFIED).with("ETag", "\"1\"");
                r.body = Body::Memory(Bytes::from_static(b"stray"));
                r
            }
            "/fields" => {
                let ae: Vec<String> = ctx
                    .fields_named("accept-encoding")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect();
                let host = String::from_utf8_lossy(ctx.field("host").unwrap_or_default());
                let body = format!("{}|{host}", ae.join("+"));
                Response::page(StatusCode::OK, "text/plain", body.into_bytes())
            }
            "/panic" => panic!("a handler bug"),
            _ => Response::error(StatusCode::NOT_FOUND),
        }
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
    done: futures::channel::oneshot::Receiver<()>,
}

impl Served {
    /// Waits (at most `limit`) for the connection task to end; `true` if it did.
    pub(super) async fn ended_within(self, limit: Duration) -> bool {
        let deadline = crate::rt::Timer::after(limit);
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
    let (ended, done) = futures::channel::oneshot::channel();
    // On its own thread, as a serving thread: the test's side may block.
    std::thread::spawn(move || {
        crate::rt::block_on(async move {
            let stub = Stub::new();
            let io = Async::new(theirs).unwrap();
            let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
            super::serve(io, peer, &settings, &stub, &handle).await;
        });
        let _ = ended.send(());
    });
    (ours, Served { shutdown, done })
}
