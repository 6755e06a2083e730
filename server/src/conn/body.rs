//! Streaming a response body within the pacer's bounds: file ranges by zero-copy
//! `sendfile` on plain TCP, or through a fixed buffer read with `pread` off the
//! executor when bytes must pass through user space (TLS); never whole in memory.

use crate::conn::pacer::Pacer;
use crate::conn::Transport;
use crate::response::{Body, Part};
use crate::rt;
use crate::rt::Async;
use futures::io::{AsyncWrite, AsyncWriteExt};
use std::fs::File;
use std::io;
use std::net::TcpStream;
use std::sync::Arc;

/// A connection streaming without ever blocking yields to other tasks after this many
/// bytes, so one fast download cannot starve the rest of its thread.
const YIELD_EVERY: usize = 16 * 1024 * 1024;

/// Most bytes one `sendfile` call is asked for, so one call never holds the thread long
/// (lighttpd uses the same size); the kernel sends what the socket takes.
const SENDFILE_CHUNK: u64 = 256 * 1024;

/// The buffer a file is copied through when it cannot go zero-copy: one TLS record
/// train's worth, read with one `pread`, and the whole memory a download holds.
pub(crate) const COPY_CHUNK: usize = 64 * 1024;

/// Corks (or uncorks) a plain TCP socket, so a head and the file after it leave in
/// full segments (TCP_NODELAY is on for small responses). Returns whether it could.
pub(crate) fn cork<S: Transport>(stream: &S, on: bool) -> bool {
    stream
        .zero_copy()
        .is_some_and(|tcp| rustix::net::sockopt::set_tcp_cork(tcp.get_ref(), on).is_ok())
}

/// Sends what of `buf` the socket takes now, telling TCP more follows at once
/// (`MSG_MORE`), so a head and the `sendfile` after it share a segment. Never waits: a
/// full socket takes nothing, and the caller writes the rest as usual.
pub(crate) fn send_more(tcp: &Async<TcpStream>, buf: &[u8]) -> io::Result<usize> {
    use rustix::net::SendFlags;
    loop {
        match rustix::net::send(tcp.get_ref(), buf, SendFlags::MORE | SendFlags::NOSIGNAL) {
            Ok(n) => {
                if n < buf.len() {
                    tcp.clear_writable();
                }
                return Ok(n);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                tcp.clear_writable();
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes all of `buf`, each wait bounded by the pacer.
pub(crate) async fn write_all<S: AsyncWrite + Unpin>(
    stream: &mut S,
    mut buf: &[u8],
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = pacer.bounded(stream.write(buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        pacer.add(n);
        buf = &buf[n..];
    }
    Ok(())
}

/// Sends `body`.
pub(crate) async fn send<S: Transport>(
    stream: &mut S,
    body: Body,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    match body {
        Body::Empty => Ok(()),
        Body::Memory(bytes) => write_all(stream, &bytes, pacer).await,
        Body::File { file, offset, len } => send_range(stream, &file, offset, len, pacer).await,
        Body::Multipart { file, parts } => {
            for part in parts {
                match part {
                    Part::Bytes(bytes) => write_all(stream, &bytes, pacer).await?,
                    Part::Range { offset, len } => {
                        send_range(stream, &file, offset, len, pacer).await?
                    }
                }
            }
            Ok(())
        }
    }
}

/// Sends `len` bytes of `file` from `offset`. A file truncated after its length was
/// announced fails with `UnexpectedEof`.
async fn send_range<S: Transport>(
    stream: &mut S,
    file: &Arc<File>,
    offset: u64,
    len: u64,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    match stream.zero_copy() {
        Some(tcp) => send_file(tcp, file, offset, len, pacer).await,
        None => copy_file(stream, file, offset, len, pacer).await,
    }
}

/// Zero-copy: straight from the page cache to the socket.
async fn send_file(
    tcp: &Async<TcpStream>,
    file: &File,
    mut offset: u64,
    len: u64,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    let end = offset + len;
    let mut since_yield = 0;
    while offset < end {
        let want = (end - offset).min(SENDFILE_CHUNK) as usize;
        match rustix::fs::sendfile(tcp.get_ref(), file, Some(&mut offset), want) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                pacer.add(n);
                // A reader as fast as us never makes us wait: let other tasks run.
                since_yield += n;
                if since_yield >= YIELD_EVERY {
                    since_yield = 0;
                    rt::yield_now().await;
                }
            }
            Err(rustix::io::Errno::AGAIN) => {
                tcp.clear_writable();
                pacer.bounded(tcp.writable()).await?
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Through user space: [`COPY_CHUNK`] at a time, each read from the page cache on this
/// thread or, when the bytes are not there, on the blocking pool ([`rt::read_at`]).
async fn copy_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    file: &Arc<File>,
    mut offset: u64,
    len: u64,
    pacer: &mut Pacer<'_>,
) -> io::Result<()> {
    let end = offset + len;
    let mut buf = vec![0u8; COPY_CHUNK];
    while offset < end {
        let want = (end - offset).min(COPY_CHUNK as u64) as usize;
        buf.resize(want, 0);
        let (back, read) = rt::read_at(file, buf, offset).await;
        buf = back;
        let n = match read {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        write_all(stream, &buf[..n], pacer).await?;
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::Watchdog;
    use futures::io::Cursor;
    use std::os::fd::AsFd;
    use std::time::Duration;

    /// A stream with no socket underneath: bytes must go through the copy path.
    struct Memory(Cursor<Vec<u8>>, std::net::UdpSocket);

    impl futures::io::AsyncRead for Memory {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Memory {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            // A small window, as a TLS stream takes one record at a time.
            let n = buf.len().min(5000);
            std::pin::Pin::new(&mut self.0).poll_write(cx, &buf[..n])
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_close(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_close(cx)
        }
    }

    impl Transport for Memory {
        fn socket(&self) -> std::os::fd::BorrowedFd<'_> {
            self.1.as_fd()
        }
    }

    #[test]
    fn a_file_range_without_zero_copy_streams_through_the_buffer() {
        let dir = tempfile_dir();
        let path = dir.join("f.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut stream = Memory(Cursor::new(Vec::new()), socket);
        let dog = Watchdog::new();
        let watch = dog.register(stream.1.as_fd(), Duration::from_secs(30));
        let mut pacer = Pacer::new(&watch, Duration::from_secs(30));
        let body = Body::File {
            file,
            offset: 7,
            len: 150_000,
        };
        rt::block_on(send(&mut stream, body, &mut pacer)).unwrap();
        assert_eq!(pacer.sent(), 150_000);
        assert_eq!(stream.0.get_ref()[..], data[7..150_007]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("body-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
