//! Undoing content codings (RFC 9110 8.4): gzip, deflate (zlib or raw), br and zstd,
//! applied in reverse order of `Content-Encoding`, as `Read` adapters over the body so
//! every read yields a bounded amount of output, whatever the compression ratio.

use crate::response::Head;
use std::io::{self, Read};

/// Largest zstd window accepted: RFC 9659 section 3 says HTTP senders keep it within
/// 8 MiB, and a larger one would let a server make the client allocate what it names.
const MAX_ZSTD_WINDOW: u64 = 8 * 1024 * 1024;

/// Largest zstd frame header (magic, descriptor, window, dictionary id, content size).
const ZSTD_HEADER_MAX: usize = 18;

/// Output buffer of the brotli decoder.
const BROTLI_BUFFER: usize = 64 * 1024;

/// The codings to undo, outermost first, from `Content-Encoding` (identity dropped,
/// lowercase). Empty when the body is not coded.
pub(crate) fn codings(head: &Head) -> Vec<String> {
    let mut list: Vec<String> = head
        .all("content-encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|c| String::from_utf8_lossy(c).trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    list.reverse();
    list
}

/// Whether every coding in `codings` can be undone here.
pub(crate) fn supported(codings: &[String]) -> Result<(), String> {
    match codings
        .iter()
        .find(|c| !matches!(c.as_str(), "gzip" | "x-gzip" | "deflate" | "br" | "zstd"))
    {
        Some(unknown) => Err(unknown.clone()),
        None => Ok(()),
    }
}

/// Wraps `body` in a decoder for each coding (outermost first); call [`supported`]
/// first.
pub(crate) fn decoder<'a>(codings: &[String], body: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
    let mut reader = body;
    for coding in codings {
        reader = match coding.as_str() {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            "deflate" => Box::new(Deflate::Undecided(Some(reader))),
            "br" => Box::new(brotli::Decompressor::new(reader, BROTLI_BUFFER)),
            "zstd" => Box::new(Zstd {
                source: Some(Prefixed::new(reader)),
                frame: None,
            }),
            _ => reader,
        };
    }
    reader
}

/// A reader with bytes put back in front of it.
struct Prefixed<'a> {
    head: Vec<u8>,
    at: usize,
    inner: Box<dyn Read + 'a>,
}

impl<'a> Prefixed<'a> {
    fn new(inner: Box<dyn Read + 'a>) -> Self {
        Prefixed {
            head: Vec::new(),
            at: 0,
            inner,
        }
    }

    /// Reads up to `n` bytes (fewer only at the end) and puts them back.
    fn peek(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut got = Vec::with_capacity(n);
        let mut buf = [0u8; ZSTD_HEADER_MAX];
        while got.len() < n {
            let want = (n - got.len()).min(buf.len());
            match self.read(&mut buf[..want])? {
                0 => break,
                k => got.extend_from_slice(&buf[..k]),
            }
        }
        let mut head = got.clone();
        head.extend_from_slice(&self.head[self.at..]);
        self.head = head;
        self.at = 0;
        Ok(got)
    }
}

impl Read for Prefixed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.head.len() {
            let n = buf.len().min(self.head.len() - self.at);
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// `deflate` is meant to be zlib-wrapped (RFC 9110 8.4.1.2), but some servers send raw
/// deflate; the first two bytes tell which.
enum Deflate<'a> {
    Undecided(Option<Box<dyn Read + 'a>>),
    Zlib(flate2::read::ZlibDecoder<Prefixed<'a>>),
    Raw(flate2::read::DeflateDecoder<Prefixed<'a>>),
}

impl Read for Deflate<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Deflate::Undecided(inner) = self {
            let Some(inner) = inner.take() else {
                return Ok(0);
            };
            let mut source = Prefixed::new(inner);
            let first = source.peek(2)?;
            let zlib = matches!(first[..], [cmf, flg] if cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0);
            *self = if zlib {
                Deflate::Zlib(flate2::read::ZlibDecoder::new(source))
            } else {
                Deflate::Raw(flate2::read::DeflateDecoder::new(source))
            };
        }
        match self {
            Deflate::Undecided(_) => Ok(0),
            Deflate::Zlib(d) => d.read(buf),
            Deflate::Raw(d) => d.read(buf),
        }
    }
}

/// zstd, frame after frame, each frame's window checked before ruzstd sees it.
struct Zstd<'a> {
    source: Option<Prefixed<'a>>,
    frame: Option<ruzstd::decoding::StreamingDecoder<Prefixed<'a>, ruzstd::decoding::FrameDecoder>>,
}

impl Read for Zstd<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = &mut self.frame {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                if let Some(done) = self.frame.take() {
                    self.source = Some(done.into_inner());
                }
            }
            let Some(mut source) = self.source.take() else {
                return Ok(0);
            };
            let header = source.peek(ZSTD_HEADER_MAX)?;
            if header.is_empty() {
                return Ok(0);
            }
            zstd_window(&header)?;
            let frame = ruzstd::decoding::StreamingDecoder::new(source)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.frame = Some(frame);
        }
    }
}

/// Checks a zstd frame header's window size (RFC 8878 3.1.1.1.2) against the limit.
fn zstd_window(header: &[u8]) -> io::Result<()> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    if header.len() < 6 || header[..4] != [0x28, 0xb5, 0x2f, 0xfd] {
        return Err(bad("not a zstd frame".into()));
    }
    let descriptor = header[4];
    let single_segment = descriptor & 0x20 != 0;
    let window = if single_segment {
        // The window is the content size, which follows the dictionary id.
        let did = [0, 1, 2, 4][usize::from(descriptor & 3)];
        let fcs = [1, 2, 4, 8][usize::from(descriptor >> 6)];
        let start = 5 + did;
        let bytes = header
            .get(start..start + fcs)
            .ok_or_else(|| bad("short zstd header".into()))?;
        let mut size = bytes
            .iter()
            .rev()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b));
        if fcs == 2 {
            size += 256;
        }
        size
    } else {
        let wd = header[5];
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        base + (base / 8) * u64::from(wd & 7)
    };
    if window > MAX_ZSTD_WINDOW {
        return Err(bad(format!(
            "zstd window of {window} bytes is larger than the {MAX_ZSTD_WINDOW} HTTP allows (RFC 9659)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn decode(codings: &[&str], coded: Vec<u8>) -> io::Result<Vec<u8>> {
        let codings: Vec<String> = codings.iter().map(|c| c.to_string()).collect();
        let mut out = Vec::new();
        decoder(&codings, Box::new(io::Cursor::new(coded))).read_to_end(&mut out)?;
        Ok(out)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn each_coding_round_trips() {
        let text = b"hello hello hello hello".repeat(100);
        assert_eq!(decode(&["gzip"], gzip(&text)).unwrap(), text);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(decode(&["deflate"], z.finish().unwrap()).unwrap(), text);
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&text).unwrap();
        assert_eq!(decode(&["deflate"], raw.finish().unwrap()).unwrap(), text);
        let mut br = Vec::new();
        brotli::BrotliCompress(&mut &text[..], &mut br, &Default::default()).unwrap();
        assert_eq!(decode(&["br"], br).unwrap(), text);
        let zstd = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut two = zstd.clone();
        two.extend_from_slice(&zstd);
        assert_eq!(
            decode(&["zstd"], two).unwrap(),
            [&text[..], &text[..]].concat()
        );
    }

    #[test]
    fn stacked_codings_are_undone_outermost_first() {
        let text = b"stacked".to_vec();
        let mut br = Vec::new();
        brotli::BrotliCompress(&mut &gzip(&text)[..], &mut br, &Default::default()).unwrap();
        assert_eq!(decode(&["br", "gzip"], br).unwrap(), text);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for coding in ["gzip", "deflate", "br", "zstd"] {
            assert!(
                decode(
                    &[coding],
                    b"\x28\xb5\x2f\xfd garbage that is not compressed".to_vec()
                )
                .is_err(),
                "{coding}"
            );
        }
    }

    #[test]
    fn huge_zstd_window_is_refused_before_allocating() {
        // Window descriptor 0xf8: 2^(10+31) bytes.
        let header = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0, 0, 0, 0];
        let err = decode(&["zstd"], header).unwrap_err();
        assert!(err.to_string().contains("window"), "{err}");
    }
}
