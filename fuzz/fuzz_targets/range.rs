//! Fuzzes `Range` parsing against an arbitrary length: never a panic; satisfiable ranges
//! (in the order asked, RFC 9110 section 14.6) are pairwise disjoint and apart by more
//! than `COALESCE_GAP`, non-empty, at most `MAX_RANGES`, and within `0..len`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::site::range::{parse_range, RangeOutcome, COALESCE_GAP, MAX_RANGES};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (len_bytes, value) = data.split_at(8);
    let raw = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
    // Small lengths are where the edge cases are; keep some huge ones too.
    let len = if raw & 1 == 0 {
        (raw >> 1) % 4096
    } else {
        raw >> 1
    };
    if let RangeOutcome::Satisfiable(ranges) = parse_range(value, len) {
        assert!(!ranges.is_empty(), "empty satisfiable set");
        assert!(ranges.len() <= MAX_RANGES, "{} ranges", ranges.len());
        let mut total: u64 = 0;
        for r in &ranges {
            assert!(r.first <= r.last, "{r:?} inverted");
            assert!(r.last < len, "{r:?} beyond length {len}");
            total = total.checked_add(r.byte_count()).expect("total overflows");
        }
        assert!(total <= len, "ranges add up to {total} > {len}");
        for (i, a) in ranges.iter().enumerate() {
            for b in &ranges[i + 1..] {
                let (low, high) = if a.first <= b.first { (a, b) } else { (b, a) };
                assert!(
                    high.first > low.last.saturating_add(COALESCE_GAP),
                    "{low:?} and {high:?} should have been merged"
                );
            }
        }
    }
});
