//! Properties over arbitrary input: parsers never panic, the path function never yields
//! a path outside the root, and formatting then parsing round-trips.

use proptest::prelude::*;
use shared::site::path::sanitize_path;
use shared::wire::body::{BodyDecoder, Decoded};
use shared::wire::limits::MAX_HEADERS;
use shared::wire::message::BodyFraming;
use shared::wire::message::{Status, EMPTY_HEADER};
use shared::wire::request::parse_request;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut headers = [EMPTY_HEADER; MAX_HEADERS];
        let _ = parse_request(&bytes, &mut headers);
    }

    #[test]
    fn request_parser_never_panics_on_near_valid_heads(
        method in "[A-Z]{1,8}",
        path in "/[ -~]{0,64}",
        fields in proptest::collection::vec(("[!-9;-~]{1,16}", "[ -~\t\r\n\0]{0,32}"), 0..8),
    ) {
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        for (n, v) in &fields {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut headers = [EMPTY_HEADER; MAX_HEADERS];
        let _ = parse_request(head.as_bytes(), &mut headers);
    }

    #[test]
    fn sanitized_paths_never_leave_the_root(path in "/[a-z./%25%2e%2E\\\\]{0,40}") {
        if let Ok(p) = sanitize_path(&path) {
            prop_assert!(!p.relative.starts_with('/'));
            for seg in p.relative.split('/') {
                prop_assert!(seg != ".." && seg != ".");
                prop_assert!(!seg.contains('\\') && !seg.contains('\0'));
            }
            // Joining onto a root and normalising lexically stays beneath it.
            let joined = std::path::Path::new("/root").join(&p.relative);
            let mut depth: i32 = 0;
            for c in joined.components().skip(2) {
                match c {
                    std::path::Component::ParentDir => depth -= 1,
                    std::path::Component::Normal(_) => depth += 1,
                    _ => {}
                }
                prop_assert!(depth >= 0);
            }
        }
    }

    #[test]
    fn sanitize_never_panics(path in any::<String>()) {
        let _ = sanitize_path(&path);
    }

    #[test]
    fn chunked_round_trips(body in proptest::collection::vec(any::<u8>(), 0..4096), sizes in proptest::collection::vec(1usize..300, 1..20), step in 1usize..64) {
        // Encode `body` in chunks of the given sizes, then decode it in pieces of `step`.
        let mut wire = Vec::new();
        let mut rest = &body[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            wire.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            wire.extend_from_slice(&rest[..n]);
            wire.extend_from_slice(b"\r\n");
            rest = &rest[n..];
            i += 1;
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let mut d = BodyDecoder::response(BodyFraming::Chunked);
        let mut out = Vec::new();
        let mut pos = 0;
        let mut end = step.min(wire.len());
        let mut done = false;
        while !done {
            let (n, chunk) = d.decode(&wire[pos..end]).expect("valid encoding");
            match chunk {
                Decoded::Data(r) => out.extend_from_slice(&wire[pos + r.start..pos + r.end]),
                Decoded::Done => done = true,
                Decoded::NeedMore => {
                    prop_assert!(end < wire.len(), "decoder wants more after the end");
                    end = (end + step).min(wire.len());
                }
            }
            pos += n;
        }
        prop_assert_eq!(out, body);
        prop_assert_eq!(pos, wire.len());
    }

    #[test]
    fn chunked_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut d = BodyDecoder::response(BodyFraming::Chunked);
        let mut pos = 0;
        while pos < bytes.len() {
            match d.decode(&bytes[pos..]) {
                Ok((n, Decoded::Data(r))) => { prop_assert!(r.end <= n); pos += n; }
                Ok((n, _)) => { pos += n; if d.is_done() || n == 0 { break; } }
                Err(_) => break,
            }
        }
    }
}

#[test]
fn formatted_request_heads_parse_back() {
    let mut out = Vec::new();
    shared::wire::format::request_line(&mut out, "GET", "/a%20b?x=1");
    shared::wire::format::header(&mut out, "Host", b"example.com:8080");
    shared::wire::format::header_u64(&mut out, "Content-Length", 0);
    shared::wire::format::end_head(&mut out);
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    let Ok(Status::Complete(r)) = parse_request(&out, &mut headers) else {
        panic!("did not parse");
    };
    assert_eq!(
        (r.method, r.target, r.head_len),
        ("GET", "/a%20b?x=1", out.len())
    );
    assert_eq!(r.header("host"), Some(&b"example.com:8080"[..]));
}
