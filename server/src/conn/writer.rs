//! The HTTP/1 writer: turns a [`Response`] into bytes on the stream. It alone writes
//! the status line, `Date`, `Server`, `Content-Length` and `Connection`.
//!
//! The head and a small body go out in one write, tried at once within the poll that
//! read the request; whatever the stream does not take then is copied and finished
//! asynchronously, with large bodies streamed by [`crate::conn::body`].

use crate::conn::body;
use crate::conn::pacer::Pacer;
use crate::conn::Transport;
use crate::response::{Body, Response, SERVER_NAME};
use futures::io::AsyncWriteExt;
use shared::wire::date::DateCache;
use shared::wire::format;
use shared::StatusCode;
use std::cell::RefCell;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

/// Bodies up to this size are copied behind the head and sent in one write: one
/// syscall beats two for small files, and 64 KiB bounds the copy.
pub(crate) const SMALL_BODY_MAX: u64 = 64 * 1024;

/// How the connection frames one response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Framing {
    /// Whether the connection closes after it (`Connection: close`).
    pub close: bool,
    /// Whether the request was HTTP/1.0 (a kept-alive one says `Connection: keep-alive`).
    pub http10: bool,
    /// HEAD: the head only.
    pub head_only: bool,
    /// The request's clock reading, for `Date`.
    pub now: SystemTime,
}

/// What the first write left to do.
#[derive(Debug)]
pub(crate) struct Started {
    /// Head (and inline body) bytes the stream did not take yet.
    unsent: Vec<u8>,
    /// A body still to stream.
    rest: Body,
    /// Whether everything written is flushed (TLS buffers; TCP never does).
    flushed: bool,
    /// Whether the socket is corked for a zero-copy body (uncorked when it is sent).
    corked: bool,
    /// Length of the response head.
    pub head_len: usize,
    /// Bytes the first write sent (head and inline body).
    pub sent: usize,
}

impl Started {
    /// Whether the whole response is on its way already.
    pub(crate) fn is_done(&self) -> bool {
        self.unsent.is_empty() && matches!(self.rest, Body::Empty) && self.flushed
    }
}

thread_local! {
    // Used within one poll only, never across an await.
    static OUT: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(16 * 1024));
    static DATE: RefCell<DateCache> = RefCell::new(DateCache::new());
}

/// Formats `response` and writes what the stream takes now, without waiting.
///
/// A small file that shrinks under us fails with `UnexpectedEof` before anything is
/// sent: its length is already in the head, so the caller must close the connection.
pub(crate) fn start<S: Transport>(
    cx: &mut Context<'_>,
    stream: &mut S,
    response: Response,
    framing: &Framing,
) -> io::Result<Started> {
    OUT.with(|out| {
        let mut out = out.borrow_mut();
        out.clear();
        write_head(&mut out, &response, framing);
        let head_len = out.len();
        let rest = if framing.head_only {
            Body::Empty
        } else {
            inline_small(&mut out, response.body)?
        };
        // A file after the head goes by `sendfile`: the head is sent with MSG_MORE, so
        // it leaves in one segment with the file's first bytes (no cork, no uncork).
        // Parts between ranges are writes of their own: those are corked together.
        let corked = matches!(rest, Body::Multipart { .. }) && body::cork(stream, true);
        // A whole response before a close goes with MSG_MORE too: the close that follows
        // at once puts the FIN in the same segment, so the client gets one packet, not
        // two (what nginx's tcp_nopush gets from its cork).
        let last = framing.close && matches!(rest, Body::Empty);
        let (mut sent, mut more) = (0, false);
        let file = matches!(rest, Body::File { .. });
        if let (true, Some(tcp)) = (file || last, stream.zero_copy()) {
            sent = body::send_more(tcp, &out)?;
            more = true;
        } else if framing.close {
            // TLS: the records of a closing connection's response wait for the close.
            stream.close_follows();
        }
        while !more && sent < out.len() {
            match Pin::new(&mut *stream).poll_write(cx, &out[sent..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => sent += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        let unsent = out[sent..].to_vec();
        let flushed = unsent.is_empty()
            && matches!(rest, Body::Empty)
            && match Pin::new(&mut *stream).poll_flush(cx) {
                Poll::Ready(r) => r.map(|()| true)?,
                Poll::Pending => false,
            };
        Ok(Started {
            unsent,
            rest,
            flushed,
            corked,
            head_len,
            sent,
        })
    })
}

/// [`start`] for a response decided outside a read's poll (after skipping a request
/// body, or a 408).
pub(crate) async fn start_later<S: Transport>(
    stream: &mut S,
    response: Response,
    framing: &Framing,
) -> io::Result<Started> {
    let mut response = Some(response);
    std::future::poll_fn(|cx| match response.take() {
        Some(r) => Poll::Ready(start(cx, stream, r, framing)),
        None => Poll::Ready(Err(io::ErrorKind::Other.into())),
    })
    .await
}

/// Sends what [`start`] left: the rest of the head, the body, and a flush.
pub(crate) async fn finish<S: Transport>(
    stream: &mut S,
    started: Started,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    let mut result = body::write_all(stream, &started.unsent, pacer).await;
    if result.is_ok() {
        result = body::send(stream, started.rest, pacer).await;
    }
    if started.corked {
        // Uncorking sends the tail at once.
        body::cork(stream, false);
    }
    result?;
    pacer.bounded(stream.flush()).await
}

/// Status line, `Date`, `Server`, the response's fields, `Content-Length`,
/// `Connection`, and the blank line.
fn write_head(out: &mut Vec<u8>, response: &Response, framing: &Framing) {
    format::status_line(out, response.status);
    DATE.with(|d| format::header(out, "Date", d.borrow_mut().get(framing.now)));
    format::header(out, "Server", SERVER_NAME.as_bytes());
    for (name, value) in response.fields.iter() {
        format::header(out, name, value.as_bytes());
    }
    // RFC 9110 section 8.6: none in 1xx, 204 and 304 (a 304's would be the 200's).
    let status = response.status;
    if status != StatusCode::NOT_MODIFIED && status != StatusCode::NO_CONTENT && status.0 >= 200 {
        format::header_u64(out, "Content-Length", response.body.len());
    }
    if framing.close {
        format::header(out, "Connection", b"close");
    } else if framing.http10 {
        format::header(out, "Connection", b"keep-alive");
    }
    format::end_head(out);
}

/// Appends a small body to the head in `out` so both go out in one write, and returns
/// what is left to stream (`Body::Empty` when nothing is).
fn inline_small(out: &mut Vec<u8>, body: Body) -> io::Result<Body> {
    match body {
        Body::Memory(bytes) if bytes.len() as u64 <= SMALL_BODY_MAX => {
            out.extend_from_slice(&bytes);
            Ok(Body::Empty)
        }
        Body::File { file, offset, len } if len <= SMALL_BODY_MAX => {
            let head_len = out.len();
            out.resize(head_len + len as usize, 0);
            file.read_exact_at(&mut out[head_len..], offset)?;
            Ok(Body::Empty)
        }
        other => Ok(other),
    }
}
