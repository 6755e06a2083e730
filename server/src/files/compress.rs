//! On-the-fly gzip behind `--compress`: which files qualify, and compressing one.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

/// Smallest file worth compressing on the fly: below ~1 KiB, gzip's header and the
/// round of CPU cost more than the bytes saved.
pub(crate) const COMPRESS_MIN: u64 = 1024;

/// Largest file compressed on the fly. Compression runs on the connection's thread
/// (about 30 ms for 1 MiB of text), so this bounds how long one request can hold it, as
/// well as the memory it takes. Bigger text files should ship a precompressed twin.
pub(crate) const COMPRESS_MAX: u64 = 1024 * 1024;

/// Whether a file of `len` bytes is compressed on the fly.
pub(crate) fn worth_it(len: u64) -> bool {
    (COMPRESS_MIN..=COMPRESS_MAX).contains(&len)
}

/// The first `len` bytes of `file`, gzipped. A file that shrank under us fails with
/// `UnexpectedEof`.
pub(crate) fn gzip(file: &File, len: u64) -> std::io::Result<Vec<u8>> {
    let mut input = vec![0u8; len as usize];
    file.read_exact_at(&mut input, 0)?;
    let mut enc = GzEncoder::new(
        Vec::with_capacity(input.len() / 3 + 64),
        Compression::default(),
    );
    enc.write_all(&input)?;
    enc.finish()
}
