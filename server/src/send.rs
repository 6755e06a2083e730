//! Sending a reply: the head and small bodies in one write, large files by `sendfile`
//! straight from the page cache, every write bounded by the send timeout.

use crate::deadline::timeout;
use crate::reply::{Body, Part};
use async_io::Async;
use std::io::{self, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// Files up to this size are read into the head's buffer and sent in one write: one
/// syscall beats write-then-sendfile for small files, and 64 KiB bounds the copy.
pub const SMALL_BODY_MAX: u64 = 64 * 1024;

/// Most bytes one `sendfile` call is asked for; the kernel sends what the socket takes.
const SENDFILE_CHUNK: u64 = 1 << 30;

/// Sends the finished head in `out` followed by `body`. Returns the body bytes sent.
///
/// A file that shrinks while it is sent fails with `UnexpectedEof`: the length is
/// already promised, so the caller must close the connection.
pub async fn send(
    stream: &Async<TcpStream>,
    out: &mut Vec<u8>,
    body: Body,
    limit: Duration,
) -> io::Result<u64> {
    match body {
        Body::Empty => {
            write_all(stream, out, limit).await?;
            Ok(0)
        }
        Body::Shared { bytes, offset, len } => {
            let slice = bytes.get(offset..offset + len).unwrap_or_default();
            out.extend_from_slice(slice);
            write_all(stream, out, limit).await?;
            Ok(slice.len() as u64)
        }
        Body::Bytes(bytes) => {
            out.extend_from_slice(&bytes);
            write_all(stream, out, limit).await?;
            Ok(bytes.len() as u64)
        }
        Body::File { file, offset, len } if len <= SMALL_BODY_MAX => {
            let head_len = out.len();
            out.resize(head_len + len as usize, 0);
            read_exact_at(&file, &mut out[head_len..], offset)?;
            write_all(stream, out, limit).await?;
            Ok(len)
        }
        Body::File { file, offset, len } => {
            write_all(stream, out, limit).await?;
            send_file(stream, &file, offset, len, limit).await?;
            Ok(len)
        }
        Body::Parts { file, parts } => {
            write_all(stream, out, limit).await?;
            let mut sent = 0;
            for part in parts {
                match part {
                    Part::Bytes(bytes) => {
                        write_all(stream, &bytes, limit).await?;
                        sent += bytes.len() as u64;
                    }
                    Part::Range { offset, len } => {
                        send_file(stream, &file, offset, len, limit).await?;
                        sent += len;
                    }
                }
            }
            Ok(sent)
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

/// Writes all of `buf`; each write that makes no progress for `limit` fails.
pub async fn write_all(stream: &Async<TcpStream>, buf: &[u8], limit: Duration) -> io::Result<()> {
    let mut sent = 0;
    while sent < buf.len() {
        let n = timeout(limit, stream.write_with(|s| (&*s).write(&buf[sent..]))).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
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
    limit: Duration,
) -> io::Result<()> {
    let end = offset + len;
    while offset < end {
        let want = (end - offset).min(SENDFILE_CHUNK) as usize;
        let n = timeout(
            limit,
            stream.write_with(|s| {
                rustix::fs::sendfile(s, file, Some(&mut offset), want).map_err(io::Error::from)
            }),
        )
        .await?;
        if n == 0 {
            // The file was truncated after its length was announced.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}
