//! Sending a response body as DATA frames within HTTP/2 flow control: ask `h2` for
//! capacity, wait for the client's window (each wait bounded by the send timeout), and
//! hand over only as many bytes as were granted. File ranges are read in pieces of at
//! most [`BODY_CHUNK`] with `pread` on the blocking pool, so a large file is never held
//! in memory and a slow disk never stalls the connection's other streams.

use super::limits::BODY_CHUNK;
use crate::rt::Timer;
use bytes::Bytes;
use h2::{Reason, SendStream};
use std::fs::File;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// A body piece small enough to read on the executor thread, as the HTTP/1 writer inlines
/// small files: one `pread` of a page-cached file costs less than a hop to the pool.
const INLINE_READ_MAX: u64 = 16 * 1024;

/// One piece of a response body, sent in order.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Bytes in memory (a page, a cached file, part heads of a multipart body).
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset`.
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
}

impl Piece {
    /// Whether the piece has no bytes.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::File { len, .. } => *len,
        }
    }
}

/// Why a body stopped before its end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The client reset the stream, or the connection went away.
    Gone,
    /// The client opened no window for a whole send timeout.
    TimedOut,
    /// The file could not be read (or shrank under us): the announced length cannot be
    /// kept, so the stream is reset.
    Read(io::Error),
}

/// Sends `pieces` on `stream`, ending the stream with the last byte. Returns the body
/// bytes handed to `h2` and, if the body did not complete, why (the stream is then reset
/// where that is ours to do).
pub(crate) async fn send(
    stream: &mut SendStream<Bytes>,
    pieces: Vec<Piece>,
    send_timeout: Duration,
) -> (u64, Result<(), Stop>) {
    let mut left: u64 = pieces.iter().map(Piece::len).sum();
    let mut sent = 0;
    for piece in pieces {
        let result = match piece {
            Piece::Bytes(bytes) => {
                send_bytes(stream, bytes, &mut left, &mut sent, send_timeout).await
            }
            Piece::File { file, offset, len } => {
                send_file(
                    stream,
                    file,
                    offset,
                    len,
                    &mut left,
                    &mut sent,
                    send_timeout,
                )
                .await
            }
        };
        if let Err(stop) = result {
            match &stop {
                Stop::TimedOut => stream.send_reset(Reason::CANCEL),
                Stop::Read(_) => stream.send_reset(Reason::INTERNAL_ERROR),
                Stop::Gone => {}
            }
            return (sent, Err(stop));
        }
    }
    (sent, Ok(()))
}

async fn send_bytes(
    stream: &mut SendStream<Bytes>,
    mut bytes: Bytes,
    left: &mut u64,
    sent: &mut u64,
    send_timeout: Duration,
) -> Result<(), Stop> {
    while !bytes.is_empty() {
        let n = capacity(stream, bytes.len(), send_timeout).await?;
        let piece = bytes.split_to(n.min(bytes.len()));
        data(stream, piece, left, sent)?;
    }
    Ok(())
}

async fn send_file(
    stream: &mut SendStream<Bytes>,
    file: Arc<File>,
    mut offset: u64,
    len: u64,
    left: &mut u64,
    sent: &mut u64,
    send_timeout: Duration,
) -> Result<(), Stop> {
    let end = offset + len;
    while offset < end {
        let want = (end - offset).min(BODY_CHUNK as u64) as usize;
        let n = capacity(stream, want, send_timeout).await?.min(want);
        let chunk = read_at(&file, offset, n).await.map_err(Stop::Read)?;
        offset += n as u64;
        data(stream, chunk, left, sent)?;
    }
    Ok(())
}

/// Hands `chunk` to `h2`, with END_STREAM on the body's last byte.
fn data(
    stream: &mut SendStream<Bytes>,
    chunk: Bytes,
    left: &mut u64,
    sent: &mut u64,
) -> Result<(), Stop> {
    let n = chunk.len() as u64;
    *left -= n;
    stream
        .send_data(chunk, *left == 0)
        .map_err(|_| Stop::Gone)?;
    *sent += n;
    Ok(())
}

/// Waits until the stream may send at least one byte (asking for `want`), at most
/// `limit`; returns how many it may send now.
async fn capacity(
    stream: &mut SendStream<Bytes>,
    want: usize,
    limit: Duration,
) -> Result<usize, Stop> {
    stream.reserve_capacity(want);
    // Capacity left over from an earlier grant is not signalled again: use it first.
    let now = stream.capacity();
    if now > 0 {
        return Ok(now);
    }
    let mut timer: Option<Timer> = None;
    std::future::poll_fn(|cx| {
        match stream.poll_capacity(cx) {
            Poll::Ready(Some(Ok(n))) if n > 0 => return Poll::Ready(Ok(n)),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
            Poll::Ready(Some(Err(_))) => return Poll::Ready(Err(Stop::Gone)),
            Poll::Ready(None) => return Poll::Ready(Err(Stop::Gone)),
        }
        if stream.poll_reset(cx).is_ready() {
            return Poll::Ready(Err(Stop::Gone));
        }
        let timer = timer.get_or_insert_with(|| Timer::after(limit));
        if Pin::new(timer).poll(cx).is_ready() {
            return Poll::Ready(Err(Stop::TimedOut));
        }
        Poll::Pending
    })
    .await
}

/// Reads exactly `n` bytes of `file` at `offset`: small reads inline, larger ones from
/// the page cache or the blocking pool ([`crate::rt::read_at`]). A file shorter than
/// announced is `UnexpectedEof`.
async fn read_at(file: &Arc<File>, offset: u64, n: usize) -> io::Result<Bytes> {
    if n as u64 <= INLINE_READ_MAX {
        return read_exact_at(file, offset, n);
    }
    let (mut buf, read) = crate::rt::read_at(file, vec![0u8; n], offset).await;
    let got = read?;
    if got < n {
        // Part of the range was in the page cache (or the file ended): the rest, exactly,
        // on the blocking pool.
        let file = file.clone();
        let start = offset + got as u64;
        let rest = crate::rt::unblock(move || read_exact_at(&file, start, n - got)).await?;
        buf.truncate(got);
        buf.extend_from_slice(&rest);
    }
    Ok(Bytes::from(buf))
}

fn read_exact_at(file: &File, offset: u64, n: usize) -> io::Result<Bytes> {
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}
