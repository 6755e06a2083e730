//! The one message-body decoder, for every framing (RFC 9112 sections 6 and 7.1):
//! `Content-Length`, chunked (extensions skipped, trailers read and dropped) and
//! until-close. It is driven by bytes and does no I/O: the caller feeds what it read and
//! gets body bytes, "need more", "done" or an error. The server drains request bodies
//! with it; the client reads response bodies with it.

mod chunked;

use chunked::ChunkedDecoder;

use crate::wire::message::BodyFraming;
use crate::StatusCode;
use std::ops::Range;

/// What one call to [`BodyDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes: this range of the input slice, within the bytes consumed.
    Data(Range<usize>),
    /// All the input was used without finishing; call again with more bytes (or call
    /// [`BodyDecoder::finish`] if the peer closed the connection).
    NeedMore,
    /// The body is complete; bytes after the consumed ones belong to the next message.
    Done,
}

/// Why a body was refused or cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// A chunk size is not hexadecimal, or its line is not `size [chunk-ext] CRLF`.
    BadChunkSize,
    /// A chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A chunk-size line (with extensions) is longer than [`crate::wire::limits::MAX_CHUNK_LINE`].
    ChunkLineTooLong,
    /// Chunk data, a trailer line or the final line is not followed by CRLF.
    BadChunkEnd,
    /// The trailer section is longer than [`crate::wire::limits::MAX_TRAILERS`].
    TrailersTooLarge,
    /// The connection closed before `Content-Length` bytes arrived.
    Truncated,
    /// The connection closed before the last chunk of a chunked body.
    MissingLastChunk,
}

impl BodyError {
    /// The status that answers this error in a request body: always 400.
    pub fn status(self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// A short lowercase description for logs and error lines.
    pub fn describe(self) -> &'static str {
        match self {
            BodyError::BadChunkSize => "invalid chunk size line",
            BodyError::ChunkSizeOverflow => "chunk size overflows",
            BodyError::ChunkLineTooLong => "chunk size line too long",
            BodyError::BadChunkEnd => "chunk data not followed by CRLF",
            BodyError::TrailersTooLarge => "trailer section too large",
            BodyError::Truncated => "connection closed before the end of the body",
            BodyError::MissingLastChunk => "connection closed before the last chunk",
        }
    }
}

error_display!(BodyError);

#[derive(Clone, Debug)]
enum Kind {
    /// This many body bytes remain.
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// An incremental decoder for one message body. It never allocates and never reads
/// past the end of the body, so pipelined bytes after it stay with the caller.
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    kind: Kind,
    /// Body bytes handed out so far.
    decoded: u64,
    done: bool,
}

impl BodyDecoder {
    /// A decoder for a request body. Chunked line endings must be CRLF (RFC 9112
    /// section 7.1): a bare LF inside a request body is a request-smuggling shape.
    pub fn request(framing: BodyFraming) -> Self {
        Self::with(framing, ChunkedDecoder::strict)
    }

    /// A decoder for a response body. Chunked line endings may be a bare LF, which a
    /// client tolerates from servers (RFC 9112 section 2.2).
    pub fn response(framing: BodyFraming) -> Self {
        Self::with(framing, ChunkedDecoder::new)
    }

    fn with(framing: BodyFraming, chunked: fn() -> ChunkedDecoder) -> Self {
        let kind = match framing {
            BodyFraming::Length(n) => Kind::Length(n),
            BodyFraming::Chunked => Kind::Chunked(chunked()),
            BodyFraming::UntilClose => Kind::UntilClose,
        };
        Self {
            done: matches!(kind, Kind::Length(0)),
            kind,
            decoded: 0,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Body bytes handed out so far (without chunked framing).
    pub fn body_len(&self) -> u64 {
        self.decoded
    }

    /// Decodes from `input`, returning how many bytes were consumed and what was found.
    ///
    /// `Data(r)` names body bytes `input[r]`, always within the consumed prefix; call
    /// again with the rest. `NeedMore` means all of `input` was consumed. `Done` comes
    /// once the body is complete (at once for an empty `Content-Length` body) and then
    /// on every later call, consuming nothing.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Decoded), BodyError> {
        if self.done {
            return Ok((0, Decoded::Done));
        }
        let (used, found) = match &mut self.kind {
            Kind::Length(remaining) => {
                let take = (*remaining).min(input.len() as u64) as usize;
                *remaining -= take as u64;
                self.done = *remaining == 0;
                if take == 0 {
                    (0, Decoded::NeedMore)
                } else {
                    (take, Decoded::Data(0..take))
                }
            }
            Kind::Chunked(d) => {
                let step = d.decode(input)?;
                self.done = d.is_done();
                step
            }
            Kind::UntilClose if input.is_empty() => (0, Decoded::NeedMore),
            Kind::UntilClose => (input.len(), Decoded::Data(0..input.len())),
        };
        if let Decoded::Data(r) = &found {
            self.decoded += r.len() as u64;
        }
        Ok((used, found))
    }

    /// The peer closed the connection: the end of an until-close body, and a truncation
    /// of any other that is not complete.
    pub fn finish(&mut self) -> Result<(), BodyError> {
        if self.done {
            return Ok(());
        }
        match self.kind {
            Kind::UntilClose => {
                self.done = true;
                Ok(())
            }
            Kind::Length(_) => Err(BodyError::Truncated),
            Kind::Chunked(_) => Err(BodyError::MissingLastChunk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::limits::{MAX_CHUNK_LINE, MAX_TRAILERS};
    use proptest::prelude::*;
    use BodyFraming::*;

    /// What decoding a whole input gave: the body, bytes consumed, and whether it ended.
    type Outcome = Result<(Vec<u8>, usize, bool), BodyError>;

    /// Decodes `input` fed in pieces cut at `cuts` (offsets, any order), then signals
    /// the end of input if the body is not done.
    fn decode_split(mut d: BodyDecoder, input: &[u8], cuts: &[usize]) -> Outcome {
        let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
        ends.push(input.len());
        ends.sort_unstable();
        let mut body = Vec::new();
        let mut pos = 0;
        for end in ends {
            loop {
                let (n, found) = d.decode(&input[pos..end])?;
                assert!(pos + n <= end, "consumed past the input");
                match found {
                    Decoded::Data(r) => {
                        assert!(r.end <= n, "data outside the consumed bytes");
                        body.extend_from_slice(&input[pos + r.start..pos + r.end]);
                        pos += n;
                    }
                    Decoded::NeedMore => {
                        assert_eq!(pos + n, end, "NeedMore left input unconsumed");
                        pos += n;
                        break;
                    }
                    Decoded::Done => return Ok((body, pos + n, true)),
                }
            }
        }
        d.finish()?;
        Ok((body, pos, d.is_done()))
    }

    fn decode_steps(d: &BodyDecoder, input: &[u8], step: usize) -> Outcome {
        let cuts: Vec<usize> = (step..input.len()).step_by(step).collect();
        decode_split(d.clone(), input, &cuts)
    }

    #[test]
    fn chunked_table() {
        use BodyError::*;
        type Case = (&'static [u8], Result<&'static [u8], BodyError>);
        let cases: &[Case] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", Ok(b"hello")),
            (b"0\r\n\r\n", Ok(b"")),
            (b"000\r\n\r\n", Ok(b"")),
            // Chunk extensions, with and without values, with BWS before them.
            (
                b"5;ext=1\r\nhello\r\n6 ;a;b=\"c d\"\r\n world\r\n0\r\n\r\n",
                Ok(b"hello world"),
            ),
            (b"5 \t\r\nhello\r\n0\r\n\r\n", Ok(b"hello")),
            (b"5 x\r\nhello\r\n0\r\n\r\n", Err(BadChunkSize)),
            (b"5;a\x00\r\n", Err(BadChunkSize)),
            // Trailers are read and dropped.
            (
                b"A\r\n0123456789\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
                Ok(b"0123456789"),
            ),
            (b"0\r\nX: y\rz\r\n\r\n", Err(BadChunkEnd)),
            // Sizes: not hex, signed, oversized.
            (b"x\r\n", Err(BadChunkSize)),
            (b"\r\n", Err(BadChunkSize)),
            (b"-1\r\n", Err(BadChunkSize)),
            (b"0x5\r\n", Err(BadChunkSize)),
            (b"10000000000000000\r\n", Err(ChunkSizeOverflow)),
            (b"ffffffffffffffffff\r\n", Err(ChunkSizeOverflow)),
            (b"00000000000000000000001\r\na\r\n0\r\n\r\n", Ok(b"a")),
            // Data not followed by CRLF.
            (b"5\r\nhelloXX", Err(BadChunkEnd)),
            (b"5\r\nhello\rX", Err(BadChunkEnd)),
            // The connection closed early.
            (b"5\r\nhel", Err(MissingLastChunk)),
            (b"5\r\nhello\r\n", Err(MissingLastChunk)),
            (b"5\r\nhello\r\n0\r\n", Err(MissingLastChunk)),
            (b"", Err(MissingLastChunk)),
        ];
        for &(input, want) in cases {
            for step in [1, 2, 3, 7, 1000] {
                for d in [
                    BodyDecoder::request(Chunked),
                    BodyDecoder::response(Chunked),
                ] {
                    let got = decode_steps(&d, input, step).map(|(b, _, _)| b);
                    assert_eq!(
                        got,
                        want.map(<[u8]>::to_vec),
                        "input {:?} step {step}",
                        String::from_utf8_lossy(input)
                    );
                }
            }
        }
    }

    #[test]
    fn response_chunked_takes_bare_lf() {
        let got = decode_steps(&BodyDecoder::response(Chunked), b"5\nhello\n0\n\n", 1);
        assert_eq!(got, Ok((b"hello".to_vec(), 11, true)));
    }

    #[test]
    fn request_chunked_refuses_bare_lf() {
        for input in [
            &b"5\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhello\n0\r\n\r\n",
            b"5;e=1\nhello\r\n0\r\n\r\n",
            b"5 \nhello\r\n0\r\n\r\n",
            b"0\r\n\n",
            b"0\r\nX: y\n\r\n",
        ] {
            let got = decode_steps(&BodyDecoder::request(Chunked), input, 1000);
            assert!(
                matches!(got, Err(BodyError::BadChunkSize | BodyError::BadChunkEnd)),
                "strict decoder gave {got:?} for {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let ok = b"5;e=1\r\nhello\r\n0\r\nX: y\r\n\r\n";
        let got = decode_steps(&BodyDecoder::request(Chunked), ok, 1);
        assert_eq!(got, Ok((b"hello".to_vec(), ok.len(), true)));
    }

    #[test]
    fn chunked_stops_at_end_of_body() {
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let (body, used, done) = decode_steps(&BodyDecoder::request(Chunked), input, 1000).unwrap();
        assert_eq!((body.as_slice(), done), (&b"abc"[..], true));
        assert_eq!(&input[used..], b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn oversized_chunk_extension_is_refused() {
        let mut input = b"1;".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_CHUNK_LINE));
        let got = decode_steps(&BodyDecoder::request(Chunked), &input, 100);
        assert_eq!(got.err(), Some(BodyError::ChunkLineTooLong));
    }

    #[test]
    fn endless_trailers_are_refused() {
        let mut input = b"0\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_TRAILERS + 1));
        let got = decode_steps(&BodyDecoder::request(Chunked), &input, 100);
        assert_eq!(got.err(), Some(BodyError::TrailersTooLarge));
    }

    #[test]
    fn content_length_body() {
        let input = b"helloGET";
        for step in [1, 2, 5, 100] {
            let got = decode_steps(&BodyDecoder::request(Length(5)), input, step);
            assert_eq!(got, Ok((b"hello".to_vec(), 5, true)), "step {step}");
        }
        let mut empty = BodyDecoder::request(Length(0));
        assert!(empty.is_done());
        assert_eq!(empty.decode(b"GET"), Ok((0, Decoded::Done)));
        let short = decode_steps(&BodyDecoder::response(Length(9)), b"hello", 2);
        assert_eq!(short, Err(BodyError::Truncated));
    }

    #[test]
    fn until_close_body_ends_at_close() {
        let mut d = BodyDecoder::response(UntilClose);
        assert_eq!(d.decode(b"abc"), Ok((3, Decoded::Data(0..3))));
        assert_eq!(d.decode(b""), Ok((0, Decoded::NeedMore)));
        assert!(!d.is_done());
        assert_eq!(d.finish(), Ok(()));
        assert!(d.is_done());
        assert_eq!(d.body_len(), 3);
        assert_eq!(d.decode(b"more"), Ok((0, Decoded::Done)));
    }

    #[test]
    fn errors_display_their_description() {
        assert_eq!(
            BodyError::MissingLastChunk.to_string(),
            "connection closed before the last chunk"
        );
        assert_eq!(BodyError::BadChunkEnd.status(), StatusCode::BAD_REQUEST);
    }

    /// A well-formed chunked body built from `pieces`, with optional extensions and
    /// trailers, and some bytes of the next request after it.
    fn chunked_body(pieces: &[Vec<u8>], ext: bool, trailers: bool) -> (Vec<u8>, Vec<u8>) {
        let mut wire = Vec::new();
        let mut body = Vec::new();
        for p in pieces.iter().filter(|p| !p.is_empty()) {
            wire.extend(format!("{:x}", p.len()).bytes());
            if ext {
                wire.extend_from_slice(b" ;name=\"v\"");
            }
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(p);
            wire.extend_from_slice(b"\r\n");
            body.extend_from_slice(p);
        }
        wire.extend_from_slice(b"0\r\n");
        if trailers {
            wire.extend_from_slice(b"X-Sum: 1\r\n");
        }
        wire.extend_from_slice(b"\r\nGET / HTTP/1.1\r\n");
        (wire, body)
    }

    proptest! {
        /// Decoding chunked input in any split gives the same result as decoding it
        /// whole: a well-formed body, and arbitrary bytes (same body or same error).
        #[test]
        fn chunked_in_any_split_decodes_as_whole(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6),
            ext in any::<bool>(),
            trailers in any::<bool>(),
            cuts in proptest::collection::vec(0usize..400, 0..12),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let (wire, body) = chunked_body(&pieces, ext, trailers);
            for d in [BodyDecoder::request(Chunked), BodyDecoder::response(Chunked)] {
                let whole = decode_split(d.clone(), &wire, &[]);
                prop_assert_eq!(&whole, &Ok((body.clone(), wire.len() - 16, true)));
                prop_assert_eq!(decode_split(d.clone(), &wire, &cuts), whole);
                let noisy = decode_split(d.clone(), &noise, &[]);
                prop_assert_eq!(decode_split(d, &noise, &cuts), noisy);
            }
        }
    }
}
