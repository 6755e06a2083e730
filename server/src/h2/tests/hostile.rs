//! Hostile clients, written frame by frame: malformed requests, floods, stalls.

use super::{patient, quick, serve};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PROTOCOL_ERROR: u32 = 0x1;
const ENHANCE_YOUR_CALM: u32 = 0xb;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with a 7-bit prefix (RFC 7541 section 5.1), H bit clear.
fn hpack_len(out: &mut Vec<u8>, mut n: usize) {
    if n < 127 {
        out.push(n as u8);
        return;
    }
    out.push(127);
    n -= 127;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

/// A header block of literal fields without indexing (RFC 7541 section 6.2.2).
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        hpack_len(&mut out, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_len(&mut out, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

fn request(stream: u32, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut fields = vec![
        (":method", "GET"),
        (":scheme", "https"),
        (":path", path),
        (":authority", "localhost"),
    ];
    fields.extend_from_slice(extra);
    frame(HEADERS, END_HEADERS | END_STREAM, stream, &block(&fields))
}

/// A frame the server sent.
#[derive(Debug)]
struct Frame {
    kind: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Frame {
    /// The error code of RST_STREAM and GOAWAY.
    fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

struct Raw(UnixStream);

impl Raw {
    /// Connects and sends the preface and empty SETTINGS.
    fn open(io: UnixStream) -> Raw {
        io.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut raw = Raw(io);
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        raw.send(&hello);
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    /// The next frame; `None` at end of stream (or a reset). Panics if none comes in 20 s.
    fn next(&mut self) -> Option<Frame> {
        let mut head = [0u8; 9];
        match self.0.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => panic!("no frame in 20 s"),
            Err(_) => return None,
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        self.0.read_exact(&mut payload).ok()?;
        Some(Frame {
            kind: head[3],
            stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff,
            payload,
        })
    }

    /// Reads frames until one matches; `None` if the connection ends first.
    fn until(&mut self, want: impl Fn(&Frame) -> bool) -> Option<Frame> {
        while let Some(f) = self.next() {
            if want(&f) {
                return Some(f);
            }
        }
        None
    }

    /// The response HEADERS on `stream`, or the RST_STREAM that refused it.
    fn answer(&mut self, stream: u32) -> Frame {
        self.until(|f| f.stream == stream && (f.kind == HEADERS || f.kind == RST_STREAM))
            .expect("connection ended before the stream was answered")
    }
}

#[test]
fn requests_with_connection_specific_fields_are_malformed() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    let cases = [
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "h2c"),
        ("te", "gzip"),
    ];
    for (i, field) in cases.iter().enumerate() {
        let id = 1 + 2 * i as u32;
        raw.send(&request(id, "/hello", &[*field]));
        let f = raw.answer(id);
        assert_eq!(
            (f.kind, f.error_code()),
            (RST_STREAM, PROTOCOL_ERROR),
            "{field:?}"
        );
    }
    // `TE: trailers` is the one allowed value, and the connection still serves.
    raw.send(&request(101, "/hello", &[("te", "trailers")]));
    assert_eq!(raw.answer(101).kind, HEADERS);
}

#[test]
fn host_disagreeing_with_authority_is_malformed() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    raw.send(&request(1, "/hello", &[("host", "elsewhere.test")]));
    let f = raw.answer(1);
    assert_eq!((f.kind, f.error_code()), (RST_STREAM, PROTOCOL_ERROR));
    raw.send(&request(3, "/hello", &[("host", "LOCALHOST")]));
    assert_eq!(raw.answer(3).kind, HEADERS);
}

#[test]
fn rapid_reset_of_accepted_streams_gets_goaway_enhance_your_calm() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    // Each stream is answered (so accepted and served) before its reset: the shape
    // that gets past the pending-accept limit of `h2`.
    let cancel = 0x8u32.to_be_bytes();
    for i in 0..1000u32 {
        let id = 1 + 2 * i;
        raw.send(&request(id, "/big", &[]));
        let answered = raw.until(|f| f.kind == GOAWAY || f.stream == id && f.kind == HEADERS);
        match answered {
            Some(f) if f.kind == GOAWAY => {
                assert_eq!(f.error_code(), ENHANCE_YOUR_CALM);
                assert!(
                    i > super::super::limits::RESET_BURST,
                    "GOAWAY after {i} resets"
                );
                return;
            }
            Some(_) => {}
            None => panic!("connection closed without GOAWAY after {i} resets"),
        }
        // The client may already be gone: the GOAWAY is read in the next round.
        let _ = raw.0.write_all(&frame(RST_STREAM, 0, id, &cancel));
    }
    panic!("1000 resets and no GOAWAY");
}

#[test]
fn a_reset_burst_before_accept_gets_goaway() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    let mut burst = Vec::new();
    for i in 0..500u32 {
        burst.extend(request(1 + 2 * i, "/hello", &[]));
        burst.extend(frame(RST_STREAM, 0, 1 + 2 * i, &0x8u32.to_be_bytes()));
    }
    let _ = raw.0.write_all(&burst);
    let f = raw.until(|f| f.kind == GOAWAY).expect("no GOAWAY");
    assert_eq!(f.error_code(), ENHANCE_YOUR_CALM);
}

/// Sends `count` copies of `one` while reading what comes back, until GOAWAY.
fn flood_until_goaway(one: Vec<u8>, count: usize) -> Frame {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    let mut writer = raw.0.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        for _ in 0..count {
            if writer.write_all(&one).is_err() {
                break;
            }
        }
    });
    let f = raw
        .until(|f| f.kind == GOAWAY)
        .expect("closed without GOAWAY");
    drop(raw);
    flood.join().unwrap();
    f
}

#[test]
fn a_ping_flood_gets_goaway_enhance_your_calm() {
    let f = flood_until_goaway(frame(PING, 0, 0, &[1; 8]), 100_000);
    assert_eq!(f.error_code(), ENHANCE_YOUR_CALM);
}

#[test]
fn a_settings_flood_gets_goaway_enhance_your_calm() {
    let f = flood_until_goaway(frame(SETTINGS, 0, 0, &[]), 100_000);
    assert_eq!(f.error_code(), ENHANCE_YOUR_CALM);
}

#[test]
fn a_continuation_flood_is_cut_off() {
    // One header block that never ends: CONTINUATION frames of fresh literal fields.
    let mut start = block(&[(":method", "GET"), (":scheme", "https"), (":path", "/")]);
    start.truncate(start.len());
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    raw.send(&frame(HEADERS, END_STREAM, 1, &start));
    let mut writer = raw.0.try_clone().unwrap();
    let filler = block(&[("x-filler", &"a".repeat(16_000))]);
    let flood = std::thread::spawn(move || {
        // 10,000 x 16 KB = 160 MB: far more than any limit allows.
        for _ in 0..10_000 {
            if writer
                .write_all(&frame(CONTINUATION, 0, 1, &filler))
                .is_err()
            {
                break;
            }
        }
    });
    // Either a GOAWAY or the end of the connection, long before the flood is over.
    let f = raw.until(|f| f.kind == GOAWAY);
    if let Some(f) = f {
        assert_ne!(f.error_code(), 0, "GOAWAY without an error");
    }
    drop(raw);
    flood.join().unwrap();
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    // Idle and head timeouts far away: only the stalled socket can end the connection.
    let mut settings = patient();
    settings.send_timeout = Duration::from_millis(500);
    let (io, served) = serve(settings);
    let mut raw = Raw::open(io);
    // Huge windows, then a large download never read.
    let mut open = frame(SETTINGS, 0, 0, &[0, 4, 0x7f, 0xff, 0xff, 0xff]);
    open.extend(frame(WINDOW_UPDATE, 0, 0, &0x7fff_0000u32.to_be_bytes()));
    for i in 0..4 {
        open.extend(request(1 + 2 * i, "/big", &[]));
    }
    raw.send(&open);
    crate::rt::block_on(async {
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
    drop(raw);
}

#[test]
fn a_client_that_reads_under_the_rate_floor_is_dropped() {
    // Each window update comes well within the send timeout, but 100 bytes every 200 ms
    // is 500 B/s, under the 1 KiB/s floor: only the connection's pace can end this.
    let mut settings = patient();
    settings.send_timeout = Duration::from_secs(1);
    let (io, served) = serve(settings);
    let mut raw = Raw::open(io);
    raw.send(&frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 100]));
    raw.send(&request(1, "/big", &[]));
    raw.0
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let trickle = std::thread::spawn(move || {
        let mut scratch = [0u8; 4096];
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < end {
            match raw.0.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
            // The client's pace, not a wait for an event: 100 bytes per 200 ms.
            std::thread::sleep(Duration::from_millis(200));
            if raw
                .0
                .write_all(&frame(WINDOW_UPDATE, 0, 1, &100u32.to_be_bytes()))
                .is_err()
            {
                return;
            }
        }
    });
    crate::rt::block_on(async {
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
    trickle.join().unwrap();
}

#[test]
fn a_client_that_never_sends_the_preface_is_closed() {
    let (io, served) = serve(quick());
    crate::rt::block_on(async {
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
    drop(io);
}

#[test]
fn the_first_request_must_come_within_the_head_timeout() {
    let mut settings = patient();
    settings.head_timeout = Duration::from_millis(300);
    let (io, served) = serve(settings);
    let mut raw = Raw::open(io);
    // Preface and SETTINGS, then nothing: GOAWAY(NO_ERROR), then the end.
    let f = raw
        .until(|f| f.kind == GOAWAY)
        .expect("closed without GOAWAY");
    assert_eq!(f.error_code(), 0);
    crate::rt::block_on(async {
        assert!(served.ended_within(Duration::from_secs(20)).await);
    });
}

const DATA: u8 = 0x0;
const FLOW_CONTROL_ERROR: u32 = 0x3;

/// Between a request's first frames and the rest: long enough for the server to have
/// answered, had it not waited for the body.
const PAUSE: Duration = Duration::from_millis(150);

/// A request whose HEADERS leave the stream open for a body.
fn opening(stream: u32, method: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut fields = vec![
        (":method", method),
        (":scheme", "https"),
        (":path", "/hello"),
        (":authority", "localhost"),
    ];
    fields.extend_from_slice(extra);
    frame(HEADERS, END_HEADERS, stream, &block(&fields))
}

/// h2spec 8.1/1: trailers without END_STREAM make the request malformed (RFC 9113
/// section 8.1). Answering before the body's end used to close the stream first, so
/// the trailers were ignored and the malformed request got an answer.
#[test]
fn trailers_without_end_stream_reset_the_request_unanswered() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    let mut bytes = opening(1, "POST", &[]);
    bytes.extend(frame(DATA, 0, 1, b"test"));
    raw.send(&bytes);
    // Time enough for an answer that does not wait for the body.
    std::thread::sleep(PAUSE);
    raw.send(&frame(HEADERS, END_HEADERS, 1, &block(&[("x-test", "ok")])));
    let f = raw.answer(1);
    assert_eq!((f.kind, f.error_code()), (RST_STREAM, PROTOCOL_ERROR));
    // The connection still serves.
    raw.send(&request(3, "/hello", &[]));
    assert_eq!(raw.answer(3).kind, HEADERS);
}

/// h2spec 8.1.2.6/2 (strict): DATA that does not add up to `content-length`.
#[test]
fn a_body_shorter_than_its_content_length_is_malformed() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    let mut bytes = opening(1, "POST", &[("content-length", "8")]);
    bytes.extend(frame(DATA, 0, 1, b"te"));
    raw.send(&bytes);
    std::thread::sleep(PAUSE);
    raw.send(&frame(DATA, END_STREAM, 1, b"st"));
    let f = raw.answer(1);
    assert_eq!((f.kind, f.error_code()), (RST_STREAM, PROTOCOL_ERROR));
}

/// h2spec 6.9.1/3: a stream's send window above 2^31-1 is its FLOW_CONTROL_ERROR
/// (RFC 9113 section 6.9.1); the stream is still open while its body is awaited.
#[test]
fn a_stream_window_past_the_maximum_is_a_flow_control_error() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    raw.send(&opening(1, "GET", &[]));
    std::thread::sleep(PAUSE);
    let step = 0x7fff_ffffu32.to_be_bytes();
    let mut bytes = frame(WINDOW_UPDATE, 0, 1, &step);
    bytes.extend(frame(WINDOW_UPDATE, 0, 1, &step));
    raw.send(&bytes);
    let f = raw
        .until(|f| f.kind == RST_STREAM && f.stream == 1)
        .expect("no RST_STREAM");
    assert_eq!(f.error_code(), FLOW_CONTROL_ERROR);
}

/// The answer waits for the body's end, as over HTTP/1.1.
#[test]
fn a_request_is_answered_once_its_body_has_ended() {
    let (io, _served) = serve(patient());
    let mut raw = Raw::open(io);
    raw.send(&opening(1, "GET", &[]));
    raw.send(&frame(DATA, 0, 1, b"part"));
    // Stream 3 has no body: it is answered while stream 1 waits.
    raw.send(&request(3, "/hello", &[]));
    let first = raw.until(|f| f.kind == HEADERS).expect("no answer");
    assert_eq!(
        first.stream, 3,
        "stream 1 was answered before its body ended"
    );
    raw.send(&frame(DATA, END_STREAM, 1, b"rest"));
    assert_eq!(raw.answer(1).kind, HEADERS);
}
