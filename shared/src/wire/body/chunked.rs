//! The chunked transfer coding (RFC 9112 section 7.1): the incremental, bounded state
//! machine under [`super::BodyDecoder`]. Chunk extensions are skipped (bounded by
//! [`MAX_CHUNK_LINE`]); the trailer section is read and dropped (bounded by
//! [`MAX_TRAILERS`]).

use super::{BodyError, Decoded};
use crate::wire::limits::{MAX_CHUNK_LINE, MAX_TRAILERS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a size line; `digits` seen so far.
    Size { digits: u8 },
    /// Whitespace after the size (BWS): only more of it, `;` or the line end may follow.
    SizeWs,
    /// Inside chunk extensions, up to the line end.
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

/// The chunked state machine: feed it bytes as they arrive; it never allocates.
#[derive(Clone, Debug)]
pub(super) struct ChunkedDecoder {
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
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Decoded), BodyError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => return Ok((i, Decoded::Done)),
                State::Data => {
                    let avail = (input.len() - i) as u64;
                    let take = avail.min(self.size) as usize;
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok((i + take, Decoded::Data(i..i + take)));
                }
                State::Size { digits } => {
                    self.bump_line()?;
                    if let Some(d) = hex_value(b) {
                        // Leading zeros are fine; a 17th significant digit overflows.
                        if self.size >> 60 != 0 {
                            return Err(BodyError::ChunkSizeOverflow);
                        }
                        self.size = self.size << 4 | u64::from(d);
                        self.state = State::Size {
                            digits: digits.saturating_add(1),
                        };
                    } else if digits == 0 {
                        return Err(BodyError::BadChunkSize);
                    } else if b == b';' {
                        self.state = State::Extension;
                    } else if b == b' ' || b == b'\t' {
                        self.state = State::SizeWs;
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b == b'\n' && !self.strict {
                        self.end_size_line();
                    } else {
                        return Err(BodyError::BadChunkSize);
                    }
                }
                State::SizeWs => {
                    self.bump_line()?;
                    match b {
                        b' ' | b'\t' => {}
                        b';' => self.state = State::Extension,
                        b'\r' => self.state = State::SizeLf,
                        b'\n' if !self.strict => self.end_size_line(),
                        // `5 x` is no chunk-ext: refuse it rather than guess.
                        _ => return Err(BodyError::BadChunkSize),
                    }
                }
                State::Extension => {
                    self.bump_line()?;
                    if b == b'\n' && !self.strict {
                        self.end_size_line();
                    } else if b == b'\n' {
                        return Err(BodyError::BadChunkSize);
                    } else if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b < 0x20 && b != b'\t' || b == 0x7f {
                        return Err(BodyError::BadChunkSize);
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(BodyError::BadChunkSize);
                    }
                    self.end_size_line();
                }
                State::DataCr => {
                    self.state = match b {
                        b'\r' => State::DataLf,
                        b'\n' if !self.strict => State::Size { digits: 0 },
                        _ => return Err(BodyError::BadChunkEnd),
                    };
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(BodyError::BadChunkEnd);
                    }
                    self.state = State::Size { digits: 0 };
                }
                State::TrailerStart => {
                    self.bump_trailer()?;
                    self.state = match b {
                        b'\r' => State::FinalLf,
                        b'\n' if !self.strict => State::Done,
                        b'\n' => return Err(BodyError::BadChunkEnd),
                        _ => State::TrailerLine,
                    };
                }
                State::TrailerLine => {
                    self.bump_trailer()?;
                    match b {
                        b'\r' => self.state = State::TrailerLf,
                        b'\n' if !self.strict => self.state = State::TrailerStart,
                        b'\n' => return Err(BodyError::BadChunkEnd),
                        _ => {}
                    }
                }
                State::TrailerLf => {
                    self.bump_trailer()?;
                    if b != b'\n' {
                        return Err(BodyError::BadChunkEnd);
                    }
                    self.state = State::TrailerStart;
                }
                State::FinalLf => {
                    if b != b'\n' {
                        return Err(BodyError::BadChunkEnd);
                    }
                    self.state = State::Done;
                }
            }
            i += 1;
            if self.state == State::Done {
                return Ok((i, Decoded::Done));
            }
        }
        if self.state == State::Done {
            return Ok((i, Decoded::Done));
        }
        if self.state == State::Data && self.size == 0 {
            self.state = State::DataCr;
        }
        Ok((i, Decoded::NeedMore))
    }

    fn bump_line(&mut self) -> Result<(), BodyError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE {
            return Err(BodyError::ChunkLineTooLong);
        }
        Ok(())
    }

    fn bump_trailer(&mut self) -> Result<(), BodyError> {
        self.trailer_len += 1;
        if self.trailer_len > MAX_TRAILERS {
            return Err(BodyError::TrailersTooLarge);
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
