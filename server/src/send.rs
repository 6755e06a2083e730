//! Sending a reply: the head and small bodies in one write, large files by `sendfile`
//! straight from the page cache, every wait for the socket bounded by the send timeout
//! (enforced by the [`crate::watchdog`]).

use crate::reply::{Body, Part};
use crate::watchdog::{Phase, Watch};
use async_io::Async;
use std::io;
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// Files up to this size are read into the head's buffer and sent in one write: one
/// syscall beats write-then-sendfile for small files, and 64 KiB bounds the copy.
pub const SMALL_BODY_MAX: u64 = 64 * 1024;

/// A connection streaming without ever blocking yields to other tasks after this many
/// bytes, so one fast download cannot starve the rest of its thread.
const YIELD_EVERY: usize = 16 * 1024 * 1024;

/// Most bytes one `sendfile` call is asked for; the kernel sends what the socket takes.
const SENDFILE_CHUNK: u64 = 1 << 30;

/// Appends a small body to the head in `out` so both go out in one write, and returns
/// what is left to stream (`Body::Empty` when nothing is).
///
/// A file that shrinks under us fails with `UnexpectedEof`: its length is already in
/// the head, so the caller must close the connection.
pub fn inline_small(out: &mut Vec<u8>, body: Body) -> io::Result<Body> {
    match body {
        Body::Shared { bytes, offset, len } => {
            out.extend_from_slice(bytes.get(offset..offset + len).unwrap_or_default());
            Ok(Body::Empty)
        }
        Body::Bytes(bytes) => {
            out.extend_from_slice(&bytes);
            Ok(Body::Empty)
        }
        Body::File { file, offset, len } if len <= SMALL_BODY_MAX => {
            let head_len = out.len();
            out.resize(head_len + len as usize, 0);
            read_exact_at(&file, &mut out[head_len..], offset)?;
            Ok(Body::Empty)
        }
        other => Ok(other),
    }
}

/// Writes as much of `buf` as the socket takes right now, without waiting.
pub fn write_now(stream: &Async<TcpStream>, buf: &[u8]) -> io::Result<usize> {
    write_now_flags(stream, buf, rustix::net::SendFlags::NOSIGNAL)
}

/// Like [`write_now`] for a head that a `sendfile` body follows: `MSG_MORE` lets the
/// kernel put the head in the same packet as the first file bytes.
pub fn write_head_before_file(stream: &Async<TcpStream>, buf: &[u8]) -> io::Result<usize> {
    write_now_flags(
        stream,
        buf,
        rustix::net::SendFlags::NOSIGNAL | rustix::net::SendFlags::MORE,
    )
}

fn write_now_flags(
    stream: &Async<TcpStream>,
    buf: &[u8],
    flags: rustix::net::SendFlags,
) -> io::Result<usize> {
    let mut sent = 0;
    while sent < buf.len() {
        match rustix::net::send(stream.get_ref(), &buf[sent..], flags) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(rustix::io::Errno::AGAIN) => break,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(sent)
}

/// Streams a body that [`inline_small`] left: file ranges by `sendfile`, with the
/// literal pieces of a multipart body between them.
pub async fn stream_body(
    stream: &Async<TcpStream>,
    body: Body,
    watch: &Watch,
    limit: Duration,
) -> io::Result<()> {
    match body {
        Body::Empty => Ok(()),
        Body::Shared { bytes, offset, len } => {
            write_all(
                stream,
                bytes.get(offset..offset + len).unwrap_or_default(),
                watch,
                limit,
            )
            .await
        }
        Body::Bytes(bytes) => write_all(stream, &bytes, watch, limit).await,
        Body::File { file, offset, len } => {
            send_file(stream, &file, offset, len, watch, limit).await
        }
        Body::Parts { file, parts } => {
            for part in parts {
                match part {
                    Part::Bytes(bytes) => write_all(stream, &bytes, watch, limit).await?,
                    Part::Range { offset, len } => {
                        send_file(stream, &file, offset, len, watch, limit).await?
                    }
                }
            }
            Ok(())
        }
    }
}

/// Like `FileExt::read_exact_at`, reporting a short file as `UnexpectedEof`.
fn read_exact_at(file: &std::fs::File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf`; each wait for the socket longer than `limit` fails.
pub async fn write_all(
    stream: &Async<TcpStream>,
    buf: &[u8],
    watch: &Watch,
    limit: Duration,
) -> io::Result<()> {
    // Try at once: most writes fit the socket buffer and need no wait.
    let mut sent = write_now(stream, buf)?;
    while sent < buf.len() {
        writable(stream, watch, limit).await?;
        sent += write_now(stream, &buf[sent..])?;
    }
    Ok(())
}

/// Waits until the socket takes more bytes, at most `limit`.
async fn writable(stream: &Async<TcpStream>, watch: &Watch, limit: Duration) -> io::Result<()> {
    watch.set_phase(Phase::Send);
    watch.arm(limit);
    let ready = stream.writable().await;
    watch.disarm();
    if watch.fired_in() == Some(Phase::Send) {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "send timeout: the client stopped reading",
        ));
    }
    ready
}

/// Sends `len` bytes of `file` from `offset` with zero-copy `sendfile`.
async fn send_file(
    stream: &Async<TcpStream>,
    file: &std::fs::File,
    mut offset: u64,
    len: u64,
    watch: &Watch,
    limit: Duration,
) -> io::Result<()> {
    let end = offset + len;
    let mut since_yield = 0;
    while offset < end {
        let want = (end - offset).min(SENDFILE_CHUNK) as usize;
        match rustix::fs::sendfile(stream.get_ref(), file, Some(&mut offset), want) {
            // The file was truncated after its length was announced.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                // A reader as fast as us never makes us wait: let other tasks run.
                since_yield += n;
                if since_yield >= YIELD_EVERY {
                    since_yield = 0;
                    futures_lite::future::yield_now().await;
                }
            }
            Err(rustix::io::Errno::AGAIN) => writable(stream, watch, limit).await?,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
