//! Fuzzes the body decoder on chunked input fed in arbitrary splits, with the lenient
//! (response) and strict (request) line rules: never a panic, `Data` ranges lie within
//! the consumed prefix, the body is the same however the input is split, and nothing is
//! consumed past the end of the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::wire::body::{BodyDecoder, BodyError, Decoded};
use shared::wire::message::BodyFraming;

/// The result of decoding: body bytes, bytes consumed, and how it ended.
type Outcome = (Vec<u8>, usize, Result<bool, BodyError>);

/// Decodes `input`, feeding it in pieces whose lengths come from `splits` (cycled).
fn decode(fresh: &BodyDecoder, input: &[u8], splits: &[u8]) -> Outcome {
    let mut d = fresh.clone();
    let mut body = Vec::new();
    let mut pos = 0; // consumed so far
    let mut fed = 0; // made available so far
    let mut k = 0;
    let mut next_split = || {
        let s = if splits.is_empty() {
            1
        } else {
            splits[k % splits.len()].max(1) as usize
        };
        k += 1;
        s
    };
    // A decode that consumes nothing without asking for more would spin: bound the calls.
    for _ in 0..(input.len() * 2 + 16) {
        let window = &input[pos..fed];
        let (n, chunk) = match d.decode(window) {
            Ok(x) => x,
            Err(e) => return (body, pos, Err(e)),
        };
        assert!(n <= window.len(), "consumed {n} of {}", window.len());
        match chunk {
            Decoded::Data(r) => {
                assert!(
                    r.start <= r.end && r.end <= n,
                    "Data {r:?} outside consumed {n}"
                );
                body.extend_from_slice(&window[r]);
            }
            Decoded::NeedMore => {
                assert_eq!(n, window.len(), "NeedMore left input unconsumed");
                if fed == input.len() {
                    return (body, pos + n, Ok(false));
                }
                fed = (fed + next_split()).min(input.len());
            }
            Decoded::Done => {
                assert!(d.is_done());
                return (body, pos + n, Ok(true));
            }
        }
        pos += n;
    }
    panic!("decoder made no progress");
}

fuzz_target!(|data: &[u8]| {
    // First byte: how many split lengths follow; then the split lengths; then the body.
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = (k as usize % 8).min(rest.len());
    let (splits, input) = rest.split_at(k);
    let lenient = BodyDecoder::response(BodyFraming::Chunked);
    let strict = BodyDecoder::request(BodyFraming::Chunked);
    for fresh in [&lenient, &strict] {
        let whole = decode(fresh, input, &[u8::MAX]);
        let split = decode(fresh, input, splits);
        let bytewise = decode(fresh, input, &[1]);
        // Errors may be reported at different offsets; bodies and endings must agree.
        match (&whole.2, &split.2, &bytewise.2) {
            (Ok(a), Ok(b), Ok(c)) => {
                assert_eq!((a, &whole.0, whole.1), (b, &split.0, split.1));
                assert_eq!((a, &whole.0, whole.1), (c, &bytewise.0, bytewise.1));
            }
            (Err(a), Err(b), Err(c)) => {
                assert_eq!(a, b);
                assert_eq!(a, c);
            }
            other => panic!("splitting changed the outcome: {other:?}"),
        }
        if let Ok(true) = whole.2 {
            assert!(whole.1 <= input.len());
            assert!(whole.0.len() < whole.1, "body longer than its framing");
        }
    }
    // What the strict decoder accepts, the lenient one accepts the same way.
    let (s, l) = (
        decode(&strict, input, &[u8::MAX]),
        decode(&lenient, input, &[u8::MAX]),
    );
    if let Ok(true) = s.2 {
        assert_eq!(s, l, "strict and lenient disagree on a CRLF body");
    }
});
