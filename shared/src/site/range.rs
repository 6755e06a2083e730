//! Byte ranges (RFC 9110 sections 14.1-14.6): parsing `Range` against a representation's
//! length with anti-amplification limits, `Content-Range` values, and the framing of a
//! `multipart/byteranges` body whose length is known before any file data is read.

use std::cmp::Ordering;

/// Most range-specs honoured in one `Range` header; more and the whole representation
/// is sent with 200. Real clients (PDF viewers, download managers) ask for a handful;
/// Apache (`MaxRanges`) defaults to 200 and nginx (`max_ranges`) to unlimited, and both
/// were hit by many-range attacks (CVE-2011-3192). 16 bounds the parts, seeks and part
/// heads of one response while leaving room for every real client we know.
pub const MAX_RANGES: usize = 16;

/// Ranges separated by a gap smaller than this are merged into one part. A part head
/// (`--boundary`, `Content-Type`, `Content-Range`, blank line) costs about 80 bytes, so
/// sending the gap is no dearer than starting another part (RFC 9110 section 14.6 allows
/// this coalescing).
pub const COALESCE_GAP: u64 = 80;

/// An inclusive, non-empty byte range `first..=last` within a representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// Offset of the first byte.
    pub first: u64,
    /// Offset of the last byte; never less than `first`.
    pub last: u64,
}

impl ByteRange {
    /// Number of bytes in the range (at least 1).
    pub fn byte_count(self) -> u64 {
        // `last >= first` by construction; saturate rather than trust it.
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

/// What to do with a `Range` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Send the whole representation with 200: the header is malformed, names a unit
    /// other than `bytes`, has more than [`MAX_RANGES`] specs, asks for overlapping bytes
    /// adding up to more than the representation, or selects an empty representation.
    Ignore,
    /// 416 with `Content-Range: bytes */LEN` (see [`unsatisfied_content_range`]).
    Unsatisfiable,
    /// Send 206. One range: a plain body with `Content-Range`. Several: `multipart/byteranges`
    /// (see [`Multipart`]). Sorted ascending, non-overlapping, never empty, at most
    /// [`MAX_RANGES`] long, every range within `0..len`.
    Satisfiable(Vec<ByteRange>),
}

/// Parses a `Range` field value for a representation of `len` bytes.
///
/// Accepts `bytes=` (unit case-insensitive) followed by a comma list of `first-last`,
/// `first-` and `-suffix`, with optional whitespace around elements and empty elements
/// (RFC 9110 section 5.6.1). Numbers too large for `u64` are read as "beyond the end":
/// a huge `last` is clamped to `len - 1`, a huge `first` is unsatisfiable, a huge suffix
/// selects the whole representation. Satisfiable ranges are then sorted and merged when
/// they overlap, touch or lie within [`COALESCE_GAP`] of each other.
pub fn parse_range(value: &[u8], len: u64) -> RangeOutcome {
    let Some(set) = strip_unit(value.trim_ascii()) else {
        return RangeOutcome::Ignore;
    };
    let specs = set
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty());
    let mut count = 0usize;
    let mut ranges = Vec::new();
    let mut requested: u64 = 0;
    let mut empty_whole = false;
    for spec in specs {
        count += 1;
        if count > MAX_RANGES {
            return RangeOutcome::Ignore;
        }
        let Some(spec) = parse_spec(spec) else {
            return RangeOutcome::Ignore;
        };
        match resolve(spec, len) {
            Resolved::Range(r) => {
                requested = requested.saturating_add(r.byte_count());
                ranges.push(r);
            }
            Resolved::EmptyWhole => empty_whole = true,
            Resolved::Unsatisfiable => {}
        }
    }
    if count == 0 {
        // `1#range-spec` needs at least one element.
        return RangeOutcome::Ignore;
    }
    if ranges.is_empty() {
        return if empty_whole {
            RangeOutcome::Ignore
        } else {
            RangeOutcome::Unsatisfiable
        };
    }
    if ranges.len() > 1 && requested > len {
        // Overlapping ranges asking for more than the whole: the amplification shape
        // (RFC 9110 section 14.2 lets a server ignore such a header).
        return RangeOutcome::Ignore;
    }
    RangeOutcome::Satisfiable(coalesce(ranges))
}

/// One syntactically valid range-spec, before it meets the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-` (`last` = `u64::MAX`); huge numbers saturate.
    Int { first: u64, last: u64 },
    /// `-suffix`.
    Suffix(u64),
}

/// A spec against a concrete length.
enum Resolved {
    Range(ByteRange),
    /// A non-zero suffix of an empty representation: satisfiable, but selects nothing.
    EmptyWhole,
    Unsatisfiable,
}

/// The range-set after a case-insensitive `bytes=`; `None` for another unit or no `=`.
fn strip_unit(value: &[u8]) -> Option<&[u8]> {
    let eq = value.iter().position(|&b| b == b'=')?;
    value[..eq]
        .eq_ignore_ascii_case(b"bytes")
        .then_some(&value[eq + 1..])
}

/// Parses `first-last`, `first-` or `-suffix`; `None` when malformed or `last < first`.
fn parse_spec(spec: &[u8]) -> Option<Spec> {
    let dash = spec.iter().position(|&b| b == b'-')?;
    let (left, right) = (&spec[..dash], &spec[dash + 1..]);
    if !all_digits(left) || !all_digits(right) {
        return None;
    }
    match (left.is_empty(), right.is_empty()) {
        (true, true) => None,
        (true, false) => Some(Spec::Suffix(saturating_decimal(right))),
        (false, true) => Some(Spec::Int {
            first: saturating_decimal(left),
            last: u64::MAX,
        }),
        (false, false) => {
            // Compare as decimal strings so huge values that both saturate are still
            // ordered correctly (RFC 9110 section 14.1.1: last < first is invalid).
            if cmp_decimal(right, left) == Ordering::Less {
                return None;
            }
            Some(Spec::Int {
                first: saturating_decimal(left),
                last: saturating_decimal(right),
            })
        }
    }
}

/// Applies a spec to a representation of `len` bytes (RFC 9110 section 14.1.2).
fn resolve(spec: Spec, len: u64) -> Resolved {
    match spec {
        Spec::Int { first, .. } if first >= len => Resolved::Unsatisfiable,
        Spec::Int { first, last } => Resolved::Range(ByteRange {
            first,
            last: last.min(len - 1),
        }),
        Spec::Suffix(0) => Resolved::Unsatisfiable,
        Spec::Suffix(_) if len == 0 => Resolved::EmptyWhole,
        Spec::Suffix(n) => Resolved::Range(ByteRange {
            first: len - n.min(len),
            last: len - 1,
        }),
    }
}

/// Merges ranges that overlap, touch, or sit within [`COALESCE_GAP`], and keeps the
/// order they were asked in (RFC 9110 section 14.6: parts SHOULD come in the order of
/// their range-specs): each merged range takes the place of its earliest member.
fn coalesce(ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    let mut sorted: Vec<(ByteRange, usize)> = ranges.into_iter().zip(0..).collect();
    sorted.sort_by_key(|(r, _)| (r.first, r.last));
    let mut merged: Vec<(ByteRange, usize)> = Vec::with_capacity(sorted.len());
    for (r, asked) in sorted {
        match merged.last_mut() {
            Some((prev, first_asked))
                if r.first <= prev.last.saturating_add(1).saturating_add(COALESCE_GAP) =>
            {
                prev.last = prev.last.max(r.last);
                *first_asked = (*first_asked).min(asked);
            }
            _ => merged.push((r, asked)),
        }
    }
    merged.sort_by_key(|&(_, asked)| asked);
    merged.into_iter().map(|(r, _)| r).collect()
}

fn all_digits(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

/// Digits to `u64`, saturating at `u64::MAX` instead of overflowing.
fn saturating_decimal(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |acc, &b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// Orders two digit strings by numeric value, however long.
fn cmp_decimal(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().position(|&d| d != b'0').unwrap_or(s.len()) };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The `Content-Range` value of a 206 part: `bytes FIRST-LAST/LEN`.
pub fn content_range(range: ByteRange, len: u64) -> String {
    format!("bytes {}-{}/{}", range.first, range.last, len)
}

/// The `Content-Range` value of a 416: `bytes */LEN`.
pub fn unsatisfied_content_range(len: u64) -> String {
    format!("bytes */{len}")
}

/// Longest boundary RFC 2046 section 5.1.1 allows.
pub const MAX_BOUNDARY_LEN: usize = 70;

/// A boundary for a `multipart/byteranges` body from a caller-supplied random `seed`.
/// It is a token, so it needs no quoting in the `Content-Type` parameter.
pub fn boundary_from_seed(seed: u64) -> String {
    format!("byteranges-{seed:016x}")
}

/// Whether `b` is a boundary this module can frame: 1 to [`MAX_BOUNDARY_LEN`] token
/// characters that need no quoting (a subset of RFC 2046 `bchars`).
pub fn is_valid_boundary(b: &str) -> bool {
    (1..=MAX_BOUNDARY_LEN).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"'+_-.".contains(&c))
}

/// The framing of a `multipart/byteranges` body (RFC 9110 section 14.6).
///
/// The body is, for each range `i`: [`Multipart::part_head`]`(i, range)` followed by
/// that range's file bytes; then [`Multipart::closing`]. [`Multipart::body_length`] gives
/// the exact total, so the server can send `Content-Length` and stream the file parts.
#[derive(Clone, Copy, Debug)]
pub struct Multipart<'a> {
    /// The boundary, e.g. from [`boundary_from_seed`]; check it with [`is_valid_boundary`].
    pub boundary: &'a str,
    /// The representation's media type, repeated in every part.
    pub content_type: &'a str,
    /// The representation's full length, written after `/` in each `Content-Range`.
    pub complete_length: u64,
}

impl Multipart<'_> {
    /// The response's `Content-Type` value: `multipart/byteranges; boundary=B`.
    pub fn content_type_value(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// The bytes before part `index`'s data: the delimiter (preceded by CRLF for every
    /// part but the first), `Content-Type`, `Content-Range` and the blank line. Control
    /// characters in `content_type` are dropped so it cannot inject a field.
    pub fn part_head(&self, index: usize, range: ByteRange) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.boundary.len() + self.content_type.len());
        if index > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend(
            self.content_type
                .bytes()
                .filter(|&b| b >= b' ' && b != 0x7f),
        );
        out.extend_from_slice(b"\r\nContent-Range: ");
        out.extend_from_slice(content_range(range, self.complete_length).as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    /// The close delimiter after the last part's data: `CRLF--B--CRLF`.
    pub fn closing(&self) -> Vec<u8> {
        format!("\r\n--{}--\r\n", self.boundary).into_bytes()
    }

    /// The exact length of the whole body for `ranges` (saturating, which cannot be
    /// reached with at most [`MAX_RANGES`] ranges within one representation).
    pub fn body_length(&self, ranges: &[ByteRange]) -> u64 {
        let parts = ranges.iter().enumerate().fold(0u64, |acc, (i, r)| {
            acc.saturating_add(self.part_head(i, *r).len() as u64)
                .saturating_add(r.byte_count())
        });
        parts.saturating_add(self.closing().len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RangeOutcome::*;

    fn r(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    fn sat(v: &[(u64, u64)]) -> RangeOutcome {
        Satisfiable(v.iter().map(|&(a, b)| r(a, b)).collect())
    }

    #[test]
    fn table_len_10000() {
        let cases: Vec<(&str, RangeOutcome)> = vec![
            // RFC 9110 section 14.1.2 examples.
            ("bytes=0-499", sat(&[(0, 499)])),
            ("bytes=500-999", sat(&[(500, 999)])),
            ("bytes=-500", sat(&[(9500, 9999)])),
            ("bytes=9500-", sat(&[(9500, 9999)])),
            ("bytes=0-0,-1", sat(&[(0, 0), (9999, 9999)])),
            (
                "bytes= 0-999, 4500-5499, -1000",
                sat(&[(0, 999), (4500, 5499), (9000, 9999)]),
            ),
            ("bytes=500-600,601-999", sat(&[(500, 999)])),
            ("bytes=500-700,601-999", sat(&[(500, 999)])),
            // Unit and syntax.
            ("BYTES=0-1", sat(&[(0, 1)])),
            ("Bytes=0-1", sat(&[(0, 1)])),
            ("  bytes=0-1  ", sat(&[(0, 1)])),
            ("bytes=0-1,,\t, 5-6", sat(&[(0, 6)])),
            ("bytes=0-", sat(&[(0, 9999)])),
            ("bytes=0-9999", sat(&[(0, 9999)])),
            ("bytes=0-10000", sat(&[(0, 9999)])),
            ("bytes=9999-9999", sat(&[(9999, 9999)])),
            ("bytes=-10000", sat(&[(0, 9999)])),
            ("bytes=-10001", sat(&[(0, 9999)])),
            ("bytes=007-008", sat(&[(7, 8)])),
            ("items=0-1", Ignore),
            ("bytes 0-1", Ignore),
            ("bytes =0-1", Ignore),
            ("bytes= ", Ignore),
            ("bytes=", Ignore),
            ("bytes=,", Ignore),
            ("=0-1", Ignore),
            ("", Ignore),
            ("bytes=-", Ignore),
            ("bytes=1", Ignore),
            ("bytes=a-b", Ignore),
            ("bytes=1-2-3", Ignore),
            ("bytes=--1", Ignore),
            ("bytes=+1-2", Ignore),
            ("bytes=0x10-0x20", Ignore),
            ("bytes=1 - 2", Ignore),
            ("bytes=5-4", Ignore),
            ("bytes=0-1,5-4", Ignore),
            ("bytes=0-1;q=1", Ignore),
            ("bytes=0-1,x", Ignore),
            ("bytes=0-1=2", Ignore),
            // Unsatisfiable: first beyond the end, or a zero suffix.
            ("bytes=10000-", Unsatisfiable),
            ("bytes=10000-20000", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=10000-,-0", Unsatisfiable),
            ("bytes=10000-, 0-0", sat(&[(0, 0)])),
            // Overflow: numbers beyond u64.
            ("bytes=0-99999999999999999999", sat(&[(0, 9999)])),
            ("bytes=99999999999999999999-", Unsatisfiable),
            (
                "bytes=99999999999999999999-99999999999999999999",
                Unsatisfiable,
            ),
            ("bytes=99999999999999999999-99999999999999999998", Ignore),
            ("bytes=-99999999999999999999", sat(&[(0, 9999)])),
            (
                "bytes=18446744073709551615-18446744073709551615",
                Unsatisfiable,
            ),
            ("bytes=0-18446744073709551616", sat(&[(0, 9999)])),
            // Coalescing within COALESCE_GAP, and not beyond it.
            ("bytes=0-9,90-99", sat(&[(0, 99)])),
            ("bytes=0-9,91-99", sat(&[(0, 9), (91, 99)])),
            // Parts keep the order asked (RFC 9110 section 14.6); a merged range takes
            // the place of its earliest member.
            ("bytes=200-299,0-9", sat(&[(200, 299), (0, 9)])),
            ("bytes=-5,0-4", sat(&[(9995, 9999), (0, 4)])),
            ("bytes=500-599,0-9,550-700", sat(&[(500, 700), (0, 9)])),
            ("bytes=500-599,0-9,5-20", sat(&[(500, 599), (0, 20)])),
            ("bytes=0-0,0-0", sat(&[(0, 0)])),
            // Amplification: overlapping ranges adding up to more than the file.
            ("bytes=0-,0-", Ignore),
            ("bytes=0-9999,-1", Ignore),
            ("bytes=-6000,-6000", Ignore),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_range(input.as_bytes(), 10_000),
                want,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn count_cap() {
        let specs = |n: u64| -> String {
            let list: Vec<String> = (0..n)
                .map(|i| format!("{}-{}", i * 1000, i * 1000))
                .collect();
            format!("bytes={}", list.join(","))
        };
        let at_cap = parse_range(specs(MAX_RANGES as u64).as_bytes(), 1 << 20);
        assert!(
            matches!(at_cap, Satisfiable(ref v) if v.len() == MAX_RANGES),
            "{at_cap:?}"
        );
        assert_eq!(
            parse_range(specs(MAX_RANGES as u64 + 1).as_bytes(), 1 << 20),
            Ignore
        );
        // Apache Killer shape (CVE-2011-3192): many overlapping ranges.
        let killer = format!("bytes=0-,{}", "5-,".repeat(1300));
        assert_eq!(parse_range(killer.as_bytes(), 1 << 20), Ignore);
        // Under the cap, overlapping ranges that add up to more than the file.
        let overlapping = format!("bytes={}", "0-999999,".repeat(MAX_RANGES));
        assert_eq!(parse_range(overlapping.as_bytes(), 1 << 20), Ignore);
        // Empty elements do not count towards the cap.
        let sparse = format!("bytes=0-0{}", ",".repeat(1000));
        assert_eq!(parse_range(sparse.as_bytes(), 1 << 20), sat(&[(0, 0)]));
    }

    #[test]
    fn empty_and_huge_representations() {
        assert_eq!(parse_range(b"bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-1", 0), Ignore);
        assert_eq!(parse_range(b"bytes=-0", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-0", 1), sat(&[(0, 0)]));
        let five_gib = 5u64 << 30;
        assert_eq!(
            parse_range(b"bytes=4294967296-", five_gib),
            sat(&[(1 << 32, five_gib - 1)])
        );
        assert_eq!(
            parse_range(b"bytes=-1", u64::MAX),
            sat(&[(u64::MAX - 1, u64::MAX - 1)])
        );
        assert_eq!(
            parse_range(b"bytes=0-99999999999999999999", u64::MAX),
            sat(&[(0, u64::MAX - 1)])
        );
        assert_eq!(
            parse_range(b"bytes=18446744073709551614-", u64::MAX),
            sat(&[(u64::MAX - 1, u64::MAX - 1)])
        );
    }

    #[test]
    fn content_range_values() {
        assert_eq!(content_range(r(0, 499), 1234), "bytes 0-499/1234");
        assert_eq!(
            content_range(r(0, u64::MAX - 1), u64::MAX),
            "bytes 0-18446744073709551614/18446744073709551615"
        );
        assert_eq!(unsatisfied_content_range(0), "bytes */0");
        assert_eq!(unsatisfied_content_range(10_000), "bytes */10000");
        assert_eq!(r(5, 5).byte_count(), 1);
        assert_eq!(r(0, u64::MAX).byte_count(), u64::MAX);
    }

    #[test]
    fn boundaries() {
        let b = boundary_from_seed(0xdead_beef);
        assert_eq!(b, "byteranges-00000000deadbeef");
        assert!(is_valid_boundary(&b));
        assert!(is_valid_boundary(&boundary_from_seed(u64::MAX)));
        assert!(!is_valid_boundary(""));
        assert!(!is_valid_boundary(&"a".repeat(MAX_BOUNDARY_LEN + 1)));
        assert!(is_valid_boundary(&"a".repeat(MAX_BOUNDARY_LEN)));
        assert!(!is_valid_boundary("a b"));
        assert!(!is_valid_boundary("a\r\nX: y"));
        assert!(!is_valid_boundary("a\"b"));
    }

    #[test]
    fn multipart_body_matches_rfc_shape_and_length() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mp = Multipart {
            boundary: "THIS_STRING_SEPARATES",
            content_type: "application/pdf",
            complete_length: data.len() as u64,
        };
        let ranges = [r(500, 999), r(0, 0)];
        let mut body = Vec::new();
        for (i, range) in ranges.iter().enumerate() {
            body.extend(mp.part_head(i, *range));
            let (a, b) = (range.first as usize, range.last as usize);
            body.extend_from_slice(&data[a..=b]);
        }
        body.extend(mp.closing());
        assert_eq!(mp.body_length(&ranges), body.len() as u64);
        let head0 = b"--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 500-999/1000\r\n\r\n";
        assert!(body.starts_with(head0));
        let head1 = b"\r\n--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 0-0/1000\r\n\r\n\x00";
        assert!(body.windows(head1.len()).any(|w| w == head1));
        assert!(body.ends_with(b"\r\n--THIS_STRING_SEPARATES--\r\n"));
        assert_eq!(
            mp.content_type_value(),
            "multipart/byteranges; boundary=THIS_STRING_SEPARATES"
        );
        assert_eq!(mp.body_length(&[]), mp.closing().len() as u64);
    }

    #[test]
    fn part_head_drops_control_characters() {
        let mp = Multipart {
            boundary: "b",
            content_type: "text/plain\r\nSet-Cookie: x",
            complete_length: 5,
        };
        let head = mp.part_head(0, r(0, 4));
        assert_eq!(
            head,
            b"--b\r\nContent-Type: text/plainSet-Cookie: x\r\nContent-Range: bytes 0-4/5\r\n\r\n"
        );
    }

    #[test]
    fn decimal_helpers() {
        assert_eq!(saturating_decimal(b""), 0);
        assert_eq!(saturating_decimal(b"18446744073709551615"), u64::MAX);
        assert_eq!(saturating_decimal(b"18446744073709551616"), u64::MAX);
        assert_eq!(cmp_decimal(b"0010", b"9"), Ordering::Greater);
        assert_eq!(cmp_decimal(b"000", b""), Ordering::Equal);
        assert_eq!(cmp_decimal(b"123", b"124"), Ordering::Less);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_stays_in_bounds(
            value in "(?i:bytes)=[0-9 ,\t-]{0,60}|[ -~]{0,40}",
            len in prop_oneof![0u64..50, any::<u64>()],
        ) {
            if let Satisfiable(ranges) = parse_range(value.as_bytes(), len) {
                prop_assert!(!ranges.is_empty());
                prop_assert!(ranges.len() <= MAX_RANGES);
                for w in ranges.windows(2) {
                    prop_assert!(w[0].last < w[1].first, "{ranges:?}");
                }
                for r in &ranges {
                    prop_assert!(r.first <= r.last && r.last < len, "{r:?} len {len}");
                }
                let total = ranges.iter().fold(0u64, |a, r| a.saturating_add(r.byte_count()));
                prop_assert!(total <= len);
            }
        }

        #[test]
        fn structured_specs_stay_in_bounds(
            specs in proptest::collection::vec((proptest::option::of(any::<u64>()), proptest::option::of(any::<u64>())), 1..20),
            len in any::<u64>(),
        ) {
            let list: Vec<String> = specs.iter().map(|(a, b)| {
                format!("{}-{}", a.map(|x| x.to_string()).unwrap_or_default(), b.map(|x| x.to_string()).unwrap_or_default())
            }).collect();
            let value = format!("bytes={}", list.join(", "));
            if let Satisfiable(ranges) = parse_range(value.as_bytes(), len) {
                for r in &ranges {
                    prop_assert!(r.first <= r.last && r.last < len);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(value in proptest::collection::vec(any::<u8>(), 0..80), len in any::<u64>()) {
            let _ = parse_range(&value, len);
        }
    }
}
