//! The chunked transfer coding (RFC 9112 section 7.1): an incremental, bounded decoder.

use crate::limits::{MAX_CHUNK_LINE, MAX_TRAILERS};
use std::ops::Range;

/// Why a chunked body was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkedError {
    /// The chunk size is not hexadecimal.
    BadSize,
    /// The chunk size does not fit in 64 bits.
    SizeOverflow,
    /// A chunk-size line (with extensions) is longer than [`MAX_CHUNK_LINE`].
    LineTooLong,
    /// Chunk data is not followed by CRLF.
    BadChunkEnd,
    /// The trailer section is longer than [`MAX_TRAILERS`].
    TrailersTooLarge,
}

impl ChunkedError {
    /// A short lowercase description for logs and error lines.
    pub fn describe(self) -> &'static str {
        match self {
            ChunkedError::BadSize => "invalid chunk size",
            ChunkedError::SizeOverflow => "chunk size overflows",
            ChunkedError::LineTooLong => "chunk size line too long",
            ChunkedError::BadChunkEnd => "chunk data not followed by CRLF",
            ChunkedError::TrailersTooLarge => "trailer section too large",
        }
    }
}

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Body bytes: this range of the input slice.
    Data(Range<usize>),
    /// The input was used up without finishing; call again with more bytes.
    NeedMore,
    /// The last chunk and the trailer section are done; the body is complete.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a size line; `digits` seen so far.
    Size { digits: u8 },
    /// Inside extensions (or whitespace) after the size, up to LF.
    Extension,
    /// Seen CR at the end of the size line; expect LF.
    SizeLf,
    /// Reading chunk data; this many bytes remain.
    Data,
    /// Expect CR after data.
    DataCr,
    /// Expect LF after data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line, up to CRLF.
    TrailerLine,
    /// Seen CR in a trailer line; expect LF.
    TrailerLf,
    /// Seen CR on an empty trailer line; expect LF.
    FinalLf,
    /// The body is complete.
    Done,
}

/// An incremental decoder: feed it bytes as they arrive; it never allocates.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Refuse a bare LF where the grammar has CRLF (for requests: lenient line endings
    /// inside a body are a request-smuggling shape).
    strict: bool,
    size: u64,
    line_len: usize,
    trailer_len: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        Self {
            state: State::Size { digits: 0 },
            strict: false,
            size: 0,
            line_len: 0,
            trailer_len: 0,
        }
    }

    /// A decoder that insists on CRLF line endings (RFC 9112 section 7.1), for request
    /// bodies; [`ChunkedDecoder::new`] also takes a bare LF, as clients must tolerate
    /// from servers.
    pub fn strict() -> Self {
        Self {
            strict: true,
            ..Self::new()
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, returning how many bytes were consumed and what was found.
    ///
    /// `Data(r)` names body bytes `input[r]` (always within the consumed prefix); call
    /// again with the rest. `NeedMore` means all of `input` was consumed.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Chunk), ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => return Ok((i, Chunk::Done)),
                State::Data => {
                    let avail = (input.len() - i) as u64;
                    let take = avail.min(self.size) as usize;
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok((i + take, Chunk::Data(i..i + take)));
                }
                State::Size { digits } => {
                    self.bump_line()?;
                    if let Some(d) = hex_value(b) {
                        // Leading zeros are fine; a 17th significant digit overflows.
                        if self.size >> 60 != 0 {
                            return Err(ChunkedError::SizeOverflow);
                        }
                        self.size = self.size << 4 | u64::from(d);
                        self.state = State::Size {
                            digits: digits.saturating_add(1),
                        };
                    } else if digits == 0 {
                        return Err(ChunkedError::BadSize);
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = State::Extension;
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b == b'\n' && !self.strict {
                        self.end_size_line();
                    } else {
                        return Err(ChunkedError::BadSize);
                    }
                }
                State::Extension => {
                    self.bump_line()?;
                    if b == b'\n' && !self.strict {
                        self.end_size_line();
                    } else if b == b'\n' {
                        return Err(ChunkedError::BadSize);
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b < 0x20 && b != b'\t' || b == 0x7f {
                        return Err(ChunkedError::BadSize);
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkedError::BadSize);
                    }
                    self.end_size_line();
                }
                State::DataCr => {
                    self.state = match b {
                        b'\r' => State::DataLf,
                        b'\n' if !self.strict => State::Size { digits: 0 },
                        _ => return Err(ChunkedError::BadChunkEnd),
                    };
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkedError::BadChunkEnd);
                    }
                    self.state = State::Size { digits: 0 };
                }
                State::TrailerStart => {
                    self.bump_trailer()?;
                    self.state = match b {
                        b'\r' => State::FinalLf,
                        b'\n' if !self.strict => State::Done,
                        b'\n' => return Err(ChunkedError::BadChunkEnd),
                        _ => State::TrailerLine,
                    };
                }
                State::TrailerLine => {
                    self.bump_trailer()?;
                    match b {
                        b'\r' => self.state = State::TrailerLf,
                        b'\n' if !self.strict => self.state = State::TrailerStart,
                        b'\n' => return Err(ChunkedError::BadChunkEnd),
                        _ => {}
                    }
                }
                State::TrailerLf => {
                    self.bump_trailer()?;
                    if b != b'\n' {
                        return Err(ChunkedError::BadChunkEnd);
                    }
                    self.state = State::TrailerStart;
                }
                State::FinalLf => {
                    if b != b'\n' {
                        return Err(ChunkedError::BadChunkEnd);
                    }
                    self.state = State::Done;
                }
            }
            i += 1;
            if self.state == State::Done {
                return Ok((i, Chunk::Done));
            }
        }
        if self.state == State::Done {
            return Ok((i, Chunk::Done));
        }
        if self.state == State::Data && self.size == 0 {
            self.state = State::DataCr;
        }
        Ok((i, Chunk::NeedMore))
    }

    fn bump_line(&mut self) -> Result<(), ChunkedError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(ChunkedError::LineTooLong);
        }
        Ok(())
    }

    fn bump_trailer(&mut self) -> Result<(), ChunkedError> {
        self.trailer_len += 1;
        if self.trailer_len > MAX_TRAILERS {
            return Err(ChunkedError::TrailersTooLarge);
        }
        Ok(())
    }

    fn end_size_line(&mut self) {
        self.line_len = 0;
        self.state = if self.size == 0 {
            State::TrailerStart
        } else {
            State::Data
        };
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the body and bytes consumed.
    fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, usize, bool), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut pos = 0;
        let mut fed = step.min(input.len());
        loop {
            let (n, chunk) = d.decode(&input[pos..fed])?;
            match chunk {
                Chunk::Data(r) => body.extend_from_slice(&input[pos + r.start..pos + r.end]),
                Chunk::Done => return Ok((body, pos + n, true)),
                Chunk::NeedMore => {
                    if fed == input.len() {
                        return Ok((body, pos + n, false));
                    }
                    fed = (fed + step).min(input.len());
                }
            }
            pos += n;
        }
    }

    #[test]
    fn table() {
        type Case = (&'static [u8], Result<(&'static [u8], bool), ChunkedError>);
        let cases: &[Case] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", Ok((b"hello", true))),
            (
                b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                Ok((b"hello world", true)),
            ),
            (
                b"A\r\n0123456789\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
                Ok((b"0123456789", true)),
            ),
            (b"0\r\n\r\n", Ok((b"", true))),
            (b"5\nhello\n0\n\n", Ok((b"hello", true))),
            (b"5\r\nhel", Ok((b"hel", false))),
            (b"5\r\nhello\r\n", Ok((b"hello", false))),
            (b"x\r\n", Err(ChunkedError::BadSize)),
            (b"\r\n", Err(ChunkedError::BadSize)),
            (b"-1\r\n", Err(ChunkedError::BadSize)),
            (b"5\r\nhelloXX", Err(ChunkedError::BadChunkEnd)),
            (b"10000000000000000\r\n", Err(ChunkedError::SizeOverflow)),
            (b"ffffffffffffffffff\r\n", Err(ChunkedError::SizeOverflow)),
            (b"5;a\x00\r\n", Err(ChunkedError::BadSize)),
        ];
        for (input, want) in cases {
            for step in [1, 2, 3, 7, 1000] {
                let got = decode_all(input, step).map(|(b, _, done)| (b, done));
                let want = want.map(|(b, d)| (b.to_vec(), d));
                assert_eq!(
                    got,
                    want,
                    "input {:?} step {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn strict_mode_refuses_bare_lf() {
        for input in [
            &b"5\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhello\n0\r\n\r\n",
            b"5;e=1\nhello\r\n0\r\n\r\n",
            b"0\r\n\n",
            b"0\r\nX: y\n\r\n",
        ] {
            let mut d = ChunkedDecoder::strict();
            let mut pos = 0;
            let mut failed = false;
            while pos < input.len() {
                match d.decode(&input[pos..]) {
                    Ok((_, Chunk::Done)) => break,
                    Ok((n, _)) => pos += n,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            assert!(
                failed,
                "strict decoder took {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut d = ChunkedDecoder::strict();
        let ok = b"5;e=1\r\nhello\r\n0\r\nX: y\r\n\r\n";
        let mut pos = 0;
        while !d.is_done() {
            let (n, _) = d.decode(&ok[pos..]).expect("valid CRLF body");
            pos += n;
        }
        assert_eq!(pos, ok.len());
    }

    #[test]
    fn stops_at_end_of_body() {
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let (body, used, done) = decode_all(input, 1000).unwrap();
        assert_eq!((body.as_slice(), done), (&b"abc"[..], true));
        assert_eq!(&input[used..], b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn long_extension_is_refused() {
        let mut input = b"1;".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_CHUNK_LINE));
        assert_eq!(
            decode_all(&input, 100).err(),
            Some(ChunkedError::LineTooLong)
        );
    }

    #[test]
    fn endless_trailers_are_refused() {
        let mut input = b"0\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_TRAILERS + 1));
        assert_eq!(
            decode_all(&input, 100).err(),
            Some(ChunkedError::TrailersTooLarge)
        );
    }
}
