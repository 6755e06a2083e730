//! Fuzzes `Range` parsing against an arbitrary length: never a panic; satisfiable ranges
//! are sorted, disjoint, non-empty, at most `MAX_RANGES`, and within `0..len`.
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
        for w in ranges.windows(2) {
            assert!(
                w[1].first > w[0].last.saturating_add(COALESCE_GAP),
                "{:?} and {:?} should have been merged",
                w[0],
                w[1]
            );
        }
    }
});
