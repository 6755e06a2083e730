//! Sending a reply: the head and small bodies in one write, large files by `sendfile`
//! straight from the page cache, every wait for the socket bounded by the send timeout
//! (enforced by the [`crate::watchdog`]).

use crate::reply::{Body, Part};
use crate::watchdog::{Phase, Watch};
use async_io::Async;
use std::io;
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// Files up to this size are read into the head's buffer and sent in one write: one
/// syscall beats write-then-sendfile for small files, and 64 KiB bounds the copy.
pub const SMALL_BODY_MAX: u64 = 64 * 1024;

/// A connection streaming without ever blocking yields to other tasks after this many
/// bytes, so one fast download cannot starve the rest of its thread.
const YIELD_EVERY: usize = 16 * 1024 * 1024;

/// Most bytes one `sendfile` call is asked for, so one call never holds the thread long
/// (lighttpd uses the same size); the kernel sends what the socket takes.
const SENDFILE_CHUNK: u64 = 256 * 1024;

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
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    match body {
        Body::Empty => Ok(()),
        Body::Shared { bytes, offset, len } => {
            write_all(
                stream,
                bytes.get(offset..offset + len).unwrap_or_default(),
                pacer,
            )
            .await
        }
        Body::Bytes(bytes) => write_all(stream, &bytes, pacer).await,
        Body::File { file, offset, len } => {
            // Cork while streaming: full-sized segments instead of one push per chunk
            // (TCP_NODELAY is on for the small responses); uncorking flushes the tail.
            let _ = rustix::net::sockopt::set_tcp_cork(stream.get_ref(), true);
            let result = send_file(stream, &file, offset, len, pacer).await;
            let _ = rustix::net::sockopt::set_tcp_cork(stream.get_ref(), false);
            result
        }
        Body::Parts { file, parts } => {
            for part in parts {
                match part {
                    Part::Bytes(bytes) => write_all(stream, &bytes, pacer).await?,
                    Part::Range { offset, len } => {
                        send_file(stream, &file, offset, len, pacer).await?
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

/// The slowest average rate a client may read a response at, after the send timeout's
/// grace: 1 KiB/s is below any real network (GPRS manages 5 KiB/s), yet it drops a
/// slow-read attacker that takes a few bytes every few seconds to hold a connection.
pub const MIN_SEND_RATE: u64 = 1024;

/// Bounds the time a response may take: each wait for the socket lasts at most the send
/// timeout, and overall the client must read at least [`MIN_SEND_RATE`] on average
/// (after one send timeout of grace). Enforced through the connection's watchdog entry.
#[derive(Debug)]
pub struct Pacer<'a> {
    watch: &'a Watch,
    limit: Duration,
    start: Instant,
    sent: u64,
}

impl<'a> Pacer<'a> {
    /// Starts timing a response.
    pub fn new(watch: &'a Watch, limit: Duration) -> Pacer<'a> {
        Pacer {
            watch,
            limit,
            start: Instant::now(),
            sent: 0,
        }
    }

    /// Bytes written so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// How long the next wait may last.
    fn allowance(&self) -> Duration {
        let earned = Duration::from_millis(self.sent.saturating_mul(1000) / MIN_SEND_RATE);
        let budget = self.limit.saturating_add(earned);
        budget.saturating_sub(self.start.elapsed()).min(self.limit)
    }

    /// Waits until the socket takes more bytes, within the allowance.
    async fn writable(&self, stream: &Async<TcpStream>) -> io::Result<()> {
        self.watch.set_phase(Phase::Send);
        self.watch.arm(self.allowance());
        let ready = stream.writable().await;
        self.watch.disarm();
        if self.watch.fired_in() == Some(Phase::Send) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "send timeout: the client reads too slowly or not at all",
            ));
        }
        ready
    }
}

/// Writes all of `buf`, waiting for the socket within the pacer's bounds.
pub async fn write_all(
    stream: &Async<TcpStream>,
    buf: &[u8],
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    // Try at once: most writes fit the socket buffer and need no wait.
    let mut sent = write_now(stream, buf)?;
    pacer.sent += sent as u64;
    while sent < buf.len() {
        pacer.writable(stream).await?;
        let n = write_now(stream, &buf[sent..])?;
        pacer.sent += n as u64;
        sent += n;
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `offset` with zero-copy `sendfile`.
async fn send_file(
    stream: &Async<TcpStream>,
    file: &std::fs::File,
    mut offset: u64,
    len: u64,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    let end = offset + len;
    let mut since_yield = 0;
    while offset < end {
        let want = (end - offset).min(SENDFILE_CHUNK) as usize;
        match rustix::fs::sendfile(stream.get_ref(), file, Some(&mut offset), want) {
            // The file was truncated after its length was announced.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                pacer.sent += n as u64;
                // A reader as fast as us never makes us wait: let other tasks run.
                since_yield += n;
                if since_yield >= YIELD_EVERY {
                    since_yield = 0;
                    futures_lite::future::yield_now().await;
                }
            }
            Err(rustix::io::Errno::AGAIN) => pacer.writable(stream).await?,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::Watchdog;

    #[test]
    fn pacer_allows_one_timeout_then_demands_the_minimum_rate() {
        let dog = Watchdog::new();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let reg = dog.register(&socket, Duration::from_secs(1));
        let mut p = Pacer::new(&reg, Duration::from_secs(30));
        // At the start: the whole send timeout.
        assert!(p.allowance() > Duration::from_secs(29));
        // Pretend 40 s passed with only 1 KiB sent: the client is below the floor.
        p.start -= Duration::from_secs(40);
        p.sent = 1024;
        assert_eq!(p.allowance(), Duration::ZERO);
        // A client that read 1 MiB in those 40 s (26 KiB/s) keeps the full timeout.
        p.sent = 1024 * 1024;
        assert_eq!(p.allowance(), Duration::from_secs(30));
    }
}
