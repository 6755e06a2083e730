//! A sans-I/O scanner of the frame headers a client sends (RFC 9113 section 4.1): it
//! skips the connection preface and every payload and reports each frame's type, flags,
//! length and stream, so the connection can count frames the `h2` crate gives no hook
//! for (RST_STREAM, PING, SETTINGS, PRIORITY) without parsing anything twice.

/// Length of the client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
pub(crate) const PREFACE_LEN: usize = 24;

/// Length of a frame header: 24-bit length, type, flags, 31-bit stream id.
const FRAME_HEADER_LEN: usize = 9;

/// Frame types this server counts (RFC 9113 section 6).
pub(crate) mod kind {
    pub(crate) const PRIORITY: u8 = 0x2;
    pub(crate) const RST_STREAM: u8 = 0x3;
    pub(crate) const SETTINGS: u8 = 0x4;
    pub(crate) const PING: u8 = 0x6;
    /// The highest type RFC 9113 defines; larger ones are extensions, ignored by h2.
    pub(crate) const CONTINUATION: u8 = 0x9;
}

/// The ACK flag of SETTINGS and PING.
pub(crate) const FLAG_ACK: u8 = 0x1;

/// One frame header as it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHead {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) len: u32,
    pub(crate) stream: u32,
}

/// Where the scanner is in the byte stream.
#[derive(Debug)]
pub(crate) struct Scanner {
    /// Preface bytes still to skip.
    preface_left: usize,
    /// The frame header being gathered.
    head: [u8; FRAME_HEADER_LEN],
    filled: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u32,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            preface_left: PREFACE_LEN,
            head: [0; FRAME_HEADER_LEN],
            filled: 0,
            skip: 0,
        }
    }
}

impl Scanner {
    /// Feeds bytes read from the client, in order; `seen` is called once per frame
    /// header completed by them. Any split of the stream into reads gives the same calls.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut seen: impl FnMut(FrameHead)) {
        let n = self.preface_left.min(bytes.len());
        self.preface_left -= n;
        bytes = &bytes[n..];
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = (self.skip as usize).min(bytes.len());
                self.skip -= n as u32;
                bytes = &bytes[n..];
                continue;
            }
            let n = (FRAME_HEADER_LEN - self.filled).min(bytes.len());
            self.head[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled < FRAME_HEADER_LEN {
                break;
            }
            self.filled = 0;
            let h = &self.head;
            let frame = FrameHead {
                len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
                kind: h[3],
                flags: h[4],
                stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
            };
            self.skip = frame.len;
            seen(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn stream_of_frames() -> (Vec<u8>, Vec<FrameHead>) {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
        bytes.extend(frame(kind::PING, 0, 0, &[7; 8]));
        bytes.extend(frame(kind::RST_STREAM, 0, 1, &[0, 0, 0, 8]));
        bytes.extend(frame(0x1, 0x5, 0x8000_0003, &[0x82; 300]));
        bytes.extend(frame(kind::SETTINGS, FLAG_ACK, 0, &[]));
        let expected = vec![
            FrameHead {
                kind: kind::SETTINGS,
                flags: 0,
                len: 6,
                stream: 0,
            },
            FrameHead {
                kind: kind::PING,
                flags: 0,
                len: 8,
                stream: 0,
            },
            FrameHead {
                kind: kind::RST_STREAM,
                flags: 0,
                len: 4,
                stream: 1,
            },
            // The reserved bit of the stream id is ignored (RFC 9113 section 4.1).
            FrameHead {
                kind: 0x1,
                flags: 0x5,
                len: 300,
                stream: 3,
            },
            FrameHead {
                kind: kind::SETTINGS,
                flags: FLAG_ACK,
                len: 0,
                stream: 0,
            },
        ];
        (bytes, expected)
    }

    #[test]
    fn reports_every_frame_after_the_preface() {
        let (bytes, expected) = stream_of_frames();
        let mut seen = Vec::new();
        Scanner::default().feed(&bytes, |f| seen.push(f));
        assert_eq!(seen, expected);
    }

    #[test]
    fn any_split_into_reads_gives_the_same_frames() {
        let (bytes, expected) = stream_of_frames();
        for size in [1, 2, 5, 9, 10, 23, 24, 25, 64] {
            let mut scanner = Scanner::default();
            let mut seen = Vec::new();
            for piece in bytes.chunks(size) {
                scanner.feed(piece, |f| seen.push(f));
            }
            assert_eq!(seen, expected, "reads of {size} bytes");
        }
    }

    #[test]
    fn a_partial_header_reports_nothing_yet() {
        let mut scanner = Scanner::default();
        let mut seen = 0;
        scanner.feed(&[0; PREFACE_LEN + 8], |_| seen += 1);
        assert_eq!(seen, 0);
        scanner.feed(&[0], |_| seen += 1);
        assert_eq!(seen, 1);
    }
}
