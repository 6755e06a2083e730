//! Fuzzes the client's response-head parser and framing: arbitrary bytes from a server
//! never panic; an accepted head stays within the limits, has a status in 100-999 and
//! clean field values; bodiless responses are framed as empty; and a head formatted back
//! from what was parsed parses to the same status and fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::wire::limits::MAX_RESPONSE_HEAD;
use shared::wire::message::{BodyFraming, Status};
use shared::wire::response::{parse_response, Response, ResponseError, EMPTY_RESPONSE_HEADERS};

fuzz_target!(|data: &[u8]| {
    let mut headers = EMPTY_RESPONSE_HEADERS;
    let Ok(Status::Complete(res)) = parse_response(data, &mut headers) else {
        return;
    };
    assert!(res.head_len <= data.len() && res.head_len <= MAX_RESPONSE_HEAD);
    assert!(
        (100..=999).contains(&res.status.0),
        "status {}",
        res.status.0
    );
    for h in res.headers {
        // An obs-fold (a line end then SP or HTAB) is accepted in responses (RFC 9112 section
        // 5.2) and read as spaces; no other control byte is.
        let unfolded: Vec<u8> = unfold(h.value);
        assert!(
            !unfolded
                .iter()
                .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f),
            "control byte in an accepted value {:?}",
            h.value
        );
    }
    for method in ["GET", "HEAD", "POST"] {
        let framing = res.framing(method);
        if method == "HEAD" || res.status.forbids_body() {
            assert_eq!(
                framing,
                Ok(BodyFraming::Length(0)),
                "{method} {}",
                res.status.0
            );
        }
    }
    let _ = res.keep_alive();
    round_trip(&res);
});

/// `value` with each obs-fold (CRLF, or a bare LF, followed by SP or HTAB) as one space.
fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let eol = if value[i..].starts_with(b"\r\n") {
            2
        } else if value[i] == b'\n' {
            1
        } else {
            0
        };
        if eol > 0 && matches!(value.get(i + eol), Some(b' ' | b'\t')) {
            out.push(b' ');
            i += eol;
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    out
}

/// Formats `res` back into a head and checks it parses to the same status and fields.
fn round_trip(res: &Response<'_, '_>) {
    let mut out = Vec::new();
    shared::wire::format::status_line(&mut out, res.status);
    for h in res.headers {
        shared::wire::format::header(&mut out, h.name, h.value);
    }
    shared::wire::format::end_head(&mut out);
    let mut headers = EMPTY_RESPONSE_HEADERS;
    match parse_response(&out, &mut headers) {
        Ok(Status::Complete(again)) => {
            assert_eq!(again.status, res.status);
            assert_eq!(again.headers.len(), res.headers.len());
            for (a, b) in again.headers.iter().zip(res.headers) {
                assert_eq!(a.name, b.name);
                assert_eq!(a.value, b.value, "value of {}", a.name);
            }
        }
        // Formatting may push a head that was just under the limit over it.
        Err(ResponseError::HeadTooLarge) => {}
        other => panic!(
            "formatted head {:?} did not parse: {other:?}",
            String::from_utf8_lossy(&out)
        ),
    }
}
