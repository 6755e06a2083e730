//! Fuzzes the path sanitiser: whatever the input, an accepted path is relative, holds no
//! `.`, `..` or empty segment, and no NUL or backslash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::site::path::sanitize_path;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Exercise both the raw input and the input as a request path.
    for candidate in [input.to_string(), format!("/{input}")] {
        let Ok(safe) = sanitize_path(&candidate) else {
            continue;
        };
        let rel = &safe.relative;
        assert!(
            !rel.starts_with('/'),
            "absolute result {rel:?} from {candidate:?}"
        );
        assert!(!rel.contains('\0'), "NUL in {rel:?} from {candidate:?}");
        assert!(
            !rel.contains('\\'),
            "backslash in {rel:?} from {candidate:?}"
        );
        assert!(
            !rel.chars().any(|c| c.is_ascii_control()),
            "control character in {rel:?} from {candidate:?}"
        );
        if !rel.is_empty() {
            for seg in rel.split('/') {
                assert!(
                    !seg.is_empty() && seg != "." && seg != "..",
                    "segment {seg:?} in {rel:?} from {candidate:?}"
                );
            }
        }
        assert_eq!(safe.segments().collect::<Vec<_>>().join("/"), *rel);
        // Normalising is idempotent: the result, as a path, maps to itself.
        let again = sanitize_path(&format!("/{}", shared::site::path::encode_path(rel)))
            .expect("a sanitised path is accepted again");
        assert_eq!(again.relative, *rel, "not idempotent for {candidate:?}");
    }
});
