//! Fuzzes the request-head parser: arbitrary bytes never panic, and a complete head's
//! views stay inside the buffer and agree with the limits the parser promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::wire::limits::{MAX_HEADERS, MAX_REQUEST_HEAD, MAX_URI_LEN};
use shared::wire::message::{BodyFraming, Status, Version, EMPTY_HEADER};
use shared::wire::request::{parse_request, Request, RequestError};

fuzz_target!(|data: &[u8]| {
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    if let Ok(Status::Complete(req)) = parse_request(data, &mut headers) {
        check(&req, data);
    }
    // Every prefix of a buffer is what a slow peer would send first: never a panic,
    // and a prefix shorter than a complete head is never itself complete-and-longer.
    if data.len() <= 512 {
        for cut in 0..data.len() {
            let mut headers = [EMPTY_HEADER; MAX_HEADERS];
            if let Ok(Status::Complete(req)) = parse_request(&data[..cut], &mut headers) {
                assert!(req.head_len <= cut, "head_len beyond the prefix");
            }
        }
    }
});

fn check(req: &Request<'_, '_>, data: &[u8]) {
    assert!(req.head_len <= data.len(), "head_len beyond the buffer");
    assert!(
        req.head_len <= MAX_REQUEST_HEAD,
        "head over the limit accepted"
    );
    assert!(
        req.target.len() <= MAX_URI_LEN,
        "target over the limit accepted"
    );
    assert!(!req.method.is_empty(), "empty method accepted");
    for h in req.headers {
        assert!(
            !h.value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n'),
            "NUL/CR/LF in an accepted field value: {:?}",
            h.value
        );
    }
    let te = req.header("transfer-encoding").is_some();
    let cl = req.header("content-length").is_some();
    assert!(
        !(te && cl),
        "Content-Length with Transfer-Encoding accepted"
    );
    if te {
        assert_eq!(
            req.body,
            BodyFraming::Chunked,
            "Transfer-Encoding not chunked"
        );
    }
    let _ = req.path();
    let _ = req.expects_continue();
    if req.version == Version::Http11 {
        round_trip(req);
    }
}

/// Formats `req` back into a head and checks it parses to the same request.
fn round_trip(req: &Request<'_, '_>) {
    let mut out = Vec::new();
    shared::wire::format::request_line(&mut out, req.method, req.target);
    for h in req.headers {
        shared::wire::format::header(&mut out, h.name, h.value);
    }
    shared::wire::format::end_head(&mut out);
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    match parse_request(&out, &mut headers) {
        Ok(Status::Complete(again)) => {
            assert_eq!((again.method, again.target), (req.method, req.target));
            assert_eq!((again.body, again.keep_alive), (req.body, req.keep_alive));
            assert_eq!(again.headers.len(), req.headers.len());
            for (a, b) in again.headers.iter().zip(req.headers) {
                assert_eq!((a.name, a.value), (b.name, b.value));
            }
        }
        // Formatting may push a head that was just under the limit over it.
        Err(RequestError::HeadTooLarge) => {}
        other => panic!(
            "formatted head {:?} did not parse: {other:?}",
            String::from_utf8_lossy(&out)
        ),
    }
}
