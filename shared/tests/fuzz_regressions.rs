//! Inputs the fuzz targets in `fuzz/` found, each pinned as a test named after the bug.

use shared::wire::limits::MAX_HEADERS;
use shared::wire::message::{Status, EMPTY_HEADER};
use shared::wire::request::{parse_request, target_path};

/// `fuzz/artifacts/request_head/crash-cc635b50f9986b9774fd6c0793042a904f94916e`
/// (found 2026-11-25): a request target whose 7th or 8th byte falls inside a multi-byte
/// UTF-8 character made `target_path` slice a `str` off a char boundary while checking
/// for `http://`/`https://`: a panic on a peer's input (the server's `catch_unwind`
/// only limits the damage to that connection; nothing a peer sends may panic).
#[test]
fn target_path_with_a_multibyte_char_across_the_scheme_length_is_not_a_panic() {
    let cases: [(&str, Option<&str>); 7] = [
        ("abcdef\u{e9}", None),  // é at bytes 6..8: `[..7]` splits it
        ("abcdefg\u{e9}", None), // é at bytes 7..9: `[..8]` splits it
        ("http:/\u{45d}xample.:80/a/b?q=1", None), // the fuzzer's target
        ("\u{e9}\u{e9}\u{e9}\u{e9}", None), // every slice point inside a character
        ("http://\u{e9}/a?q", Some("/a")), // non-ASCII after the scheme is fine
        ("HTTPS://\u{e9}", Some("/")),
        ("/caf\u{e9}", Some("/caf\u{e9}")),
    ];
    for (target, want) in cases {
        assert_eq!(target_path(target), want, "target {target:?}");
    }
}

/// The same bug through the parser, with the fuzzer's whole input: the head parses and
/// asking for its path (as the server's handler does first) must not panic.
#[test]
fn fuzzed_head_with_a_multibyte_char_in_an_absolute_target_parses_and_has_no_path() {
    let input: &[u8] = b"\nHEAD http:/\xd1\x9dxample.:80/a/b?q=1 HTTP/1.1\r\nHost:tinue\r\n\
        Content-Lengtb: 5\r\n\r\nentL-negth\xdc\n\n";
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    match parse_request(input, &mut headers) {
        Ok(Status::Complete(req)) => assert_eq!(req.path(), None),
        other => panic!("expected a complete head, got {other:?}"),
    }
    let minimal = b"GET abcdef\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut headers = [EMPTY_HEADER; MAX_HEADERS];
    match parse_request(minimal, &mut headers) {
        Ok(Status::Complete(req)) => assert_eq!(req.path(), None),
        other => panic!("expected a complete head, got {other:?}"),
    }
}
