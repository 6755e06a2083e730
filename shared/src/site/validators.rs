//! Entity tags (RFC 9110 section 8.8.3): making a strong `ETag` from a file's version,
//! parsing entity-tag lists, and comparing tags strongly or weakly.

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest coding tag copied into an `ETag` suffix. Real tags are `br`, `zstd`, `gzip`;
/// the bound only keeps a caller's mistake from producing an unbounded header.
pub const MAX_CODING_TAG: usize = 16;

/// What tells one version of a file from another, as the file system reports it: which
/// file (device and inode) and which state of it (size, modification and change times).
/// Two files never share a version, and a replaced or rewritten file gets a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileVersion {
    /// The device holding the file.
    pub device: u64,
    /// The inode number on that device.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, shown as `Last-Modified`.
    pub modified: SystemTime,
    /// Status change time (seconds, nanoseconds since 1970; negative before). Unlike the
    /// modification time it cannot be set back (`touch -d`, `cp -p`, `rsync -t`), and it
    /// moves on every write, rename over and `chmod`.
    pub changed: (i64, i64),
}

/// A strong entity tag for a file version, as the full header value with quotes:
/// `"<hex size>-<hex secs>-<hex nanos>-<hex id>"`, where `id` folds the device, the inode
/// and the change time into 64 bits (so the tag changes when a file is replaced by one
/// of the same size and modification time, without showing inode numbers), plus
/// `-<coding>` when `coding` is given so that `x.gz` served as `x` with
/// `Content-Encoding: gzip` never shares a tag with `x`.
///
/// Modification times before 1970 are written with an `n` before the seconds so they
/// cannot collide with times after it. Only ASCII alphanumerics of `coding` are kept
/// (at most [`MAX_CODING_TAG`]), so the result is always a valid entity-tag.
pub fn strong_etag(version: &FileVersion, coding: Option<&str>) -> String {
    let (sign, secs, nanos) = match version.modified.duration_since(UNIX_EPOCH) {
        Ok(d) => ("", d.as_secs(), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            ("n", d.as_secs(), d.subsec_nanos())
        }
    };
    let id = fold(&[
        version.device,
        version.inode,
        version.changed.0 as u64,
        version.changed.1 as u64,
    ]);
    let size = version.size;
    let mut tag = format!("\"{size:x}-{sign}{secs:x}-{nanos:x}-{id:x}");
    if let Some(coding) = coding {
        let clean: String = coding
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(MAX_CODING_TAG)
            .collect();
        if !clean.is_empty() {
            tag.push('-');
            tag.push_str(&clean);
        }
    }
    tag.push('"');
    tag
}

/// FNV-1a over the words' little-endian bytes: stable across builds and runs, so a
/// restarted server sends the same tags (not for security: the inputs are not secret
/// enough to need it, only not worth showing).
fn fold(words: &[u64]) -> u64 {
    words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// One parsed entity-tag, borrowing its opaque part from the field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityTag<'a> {
    /// Whether the tag carried the `W/` prefix.
    pub weak: bool,
    /// The characters between the quotes.
    pub opaque: &'a [u8],
}

/// How two entity-tags are compared (RFC 9110 section 8.8.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Both tags strong and their opaque parts equal (`If-Match`, `If-Range`).
    Strong,
    /// Opaque parts equal, weakness ignored (`If-None-Match`).
    Weak,
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity-tag (`"xyz"` or `W/"xyz"`), surrounding whitespace
    /// allowed; `None` for anything else, including `*`.
    pub fn parse(value: &'a [u8]) -> Option<Self> {
        let (tag, rest) = take_tag(value.trim_ascii())?;
        rest.is_empty().then_some(tag)
    }

    /// Whether `self` and `other` match under `how`.
    pub fn matches(&self, other: &EntityTag<'_>, how: Comparison) -> bool {
        let strength_ok = match how {
            Comparison::Strong => !self.weak && !other.weak,
            Comparison::Weak => true,
        };
        strength_ok && self.opaque == other.opaque
    }
}

/// Whether any of `fields` (the values of every `If-Match` or `If-None-Match` line)
/// matches `current` under `how`. `*` matches, since `current` exists.
///
/// A malformed field matches nothing: for `If-Match` that fails the precondition (the
/// client's condition cannot be shown to hold), for `If-None-Match` it lets the request
/// proceed with a full response. Both are the safe direction.
pub fn any_matches(fields: &[&[u8]], current: &EntityTag<'_>, how: Comparison) -> bool {
    fields.iter().any(|field| {
        let field = field.trim_ascii();
        if field == b"*" {
            return true;
        }
        let mut found = false;
        let well_formed = for_each_tag(field, |t| found |= t.matches(current, how)).is_some();
        well_formed && found
    })
}

/// Calls `f` for each entity-tag in a comma list; `None` if the list is malformed.
fn for_each_tag<'a>(mut rest: &'a [u8], mut f: impl FnMut(EntityTag<'a>)) -> Option<()> {
    loop {
        rest = skip_separators(rest);
        if rest.is_empty() {
            return Some(());
        }
        let (tag, after) = take_tag(rest)?;
        f(tag);
        let after = after.trim_ascii_start();
        match after.first() {
            None => return Some(()),
            Some(b',') => rest = after,
            Some(_) => return None,
        }
    }
}

/// Skips whitespace and commas (empty list elements).
fn skip_separators(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b','))
        .unwrap_or(s.len());
    &s[n..]
}

/// Takes one entity-tag from the front of `s`, returning it and what follows.
fn take_tag(s: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, s) = match s.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let body = s.strip_prefix(b"\"")?;
    let end = body.iter().position(|&b| b == b'"')?;
    let opaque = &body[..end];
    // etagc = %x21 / %x23-7E / obs-text: no controls, no space, no DEL.
    if opaque.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return None;
    }
    Some((EntityTag { weak, opaque }, &body[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    // The list grammar `any_matches` relies on, exposed to the tests only.
    /// A parsed `If-Match` / `If-None-Match` value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum EtagList<'a> {
        /// `*`: any current representation.
        Any,
        /// A list of entity-tags (possibly empty, as `#entity-tag` allows).
        Tags(Vec<EntityTag<'a>>),
    }

    /// Parses one field value as `"*" / #entity-tag` (RFC 9110 sections 13.1.1-13.1.2).
    ///
    /// Empty list elements and whitespace around commas are accepted (section 5.6.1);
    /// commas inside quotes belong to the tag. `None` when the value is malformed:
    /// an unterminated quote, a bare token, `*` mixed with tags, a lowercase `w/`.
    fn parse_etag_list(value: &[u8]) -> Option<EtagList<'_>> {
        let value = value.trim_ascii();
        if value == b"*" {
            return Some(EtagList::Any);
        }
        let mut tags = Vec::new();
        for_each_tag(value, |t| tags.push(t))?;
        Some(EtagList::Tags(tags))
    }

    fn t(weak: bool, opaque: &str) -> EntityTag<'_> {
        EntityTag {
            weak,
            opaque: opaque.as_bytes(),
        }
    }

    fn version(size: u64, modified: SystemTime) -> FileVersion {
        FileVersion {
            device: 1,
            inode: 2,
            size,
            modified,
            changed: (3, 4),
        }
    }

    #[test]
    fn strong_etag_shape() {
        let mtime = UNIX_EPOCH + Duration::new(0x65f0_c3a1, 0x1dcd_6500);
        let id = format!("{:x}", fold(&[1, 2, 3, 4]));
        assert_eq!(
            strong_etag(&version(0x1a2b, mtime), None),
            format!("\"1a2b-65f0c3a1-1dcd6500-{id}\"")
        );
        assert_eq!(
            strong_etag(&version(0x1a2b, mtime), Some("br")),
            format!("\"1a2b-65f0c3a1-1dcd6500-{id}-br\"")
        );
        assert_eq!(
            strong_etag(&version(0, UNIX_EPOCH), Some("")),
            format!("\"0-0-0-{id}\"")
        );
        assert_eq!(
            strong_etag(&version(1, UNIX_EPOCH), Some("g\"z ip\r\n")),
            format!("\"1-0-0-{id}-gzip\"")
        );
        let before = UNIX_EPOCH - Duration::new(16, 5);
        assert_eq!(
            strong_etag(&version(1, before), None),
            format!("\"1-n10-5-{id}\"")
        );
        let long = "z".repeat(1000);
        assert_eq!(
            strong_etag(&version(1, UNIX_EPOCH), Some(&long)).len(),
            format!("\"1-0-0-{id}-\"").len() + MAX_CODING_TAG
        );
    }

    #[test]
    fn etags_differ_by_coding_and_nanos() {
        let m = UNIX_EPOCH + Duration::new(100, 1);
        let plain = strong_etag(&version(10, m), None);
        assert_ne!(plain, strong_etag(&version(10, m), Some("gzip")));
        assert_ne!(
            strong_etag(&version(10, m), Some("br")),
            strong_etag(&version(10, m), Some("gzip"))
        );
        let later = UNIX_EPOCH + Duration::new(100, 2);
        assert_ne!(plain, strong_etag(&version(10, later), None));
        assert_ne!(plain, strong_etag(&version(11, m), None));
    }

    /// Issue 9 item 1: `touch -r`, `cp -p` and tar extraction make files of equal size
    /// and modification time; they must never share a tag.
    #[test]
    fn etags_differ_for_another_file_or_a_replacement_with_the_same_size_and_mtime() {
        let m = UNIX_EPOCH + Duration::new(100, 0);
        let a = version(10, m);
        let b = FileVersion { inode: 3, ..a };
        let replaced = FileVersion {
            changed: (5, 0),
            ..a
        };
        let elsewhere = FileVersion { device: 9, ..a };
        let tags = [a, b, replaced, elsewhere].map(|v| strong_etag(&v, None));
        for (i, x) in tags.iter().enumerate() {
            for y in &tags[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn parse_single() {
        let cases: &[(&str, Option<EntityTag<'_>>)] = &[
            ("\"abc\"", Some(t(false, "abc"))),
            ("W/\"abc\"", Some(t(true, "abc"))),
            ("  \"abc\"\t", Some(t(false, "abc"))),
            ("\"\"", Some(t(false, ""))),
            ("\"a,b\"", Some(t(false, "a,b"))),
            ("w/\"abc\"", None),
            ("W/ \"abc\"", None),
            ("abc", None),
            ("\"abc", None),
            ("\"a b\"", None),
            ("\"a\"b", None),
            ("\"a\" \"b\"", None),
            ("*", None),
            ("", None),
            ("W/", None),
        ];
        for (input, want) in cases {
            assert_eq!(EntityTag::parse(input.as_bytes()), *want, "input {input:?}");
        }
        assert_eq!(EntityTag::parse(b"\"\x7f\""), None);
        assert_eq!(
            EntityTag::parse(b"\"\xff\""),
            Some(EntityTag {
                weak: false,
                opaque: b"\xff"
            })
        );
    }

    #[test]
    fn comparison_table_from_rfc_9110() {
        // RFC 9110 section 8.8.3.2, the example table.
        let cases = [
            (t(true, "1"), t(true, "1"), false, true),
            (t(true, "1"), t(true, "2"), false, false),
            (t(true, "1"), t(false, "1"), false, true),
            (t(false, "1"), t(false, "1"), true, true),
        ];
        for (a, b, strong, weak) in cases {
            assert_eq!(a.matches(&b, Comparison::Strong), strong, "{a:?} {b:?}");
            assert_eq!(a.matches(&b, Comparison::Weak), weak, "{a:?} {b:?}");
            assert_eq!(
                b.matches(&a, Comparison::Strong),
                strong,
                "symmetric {a:?} {b:?}"
            );
        }
    }

    #[test]
    fn lists() {
        let cases: &[(&str, Option<EtagList<'_>>)] = &[
            ("*", Some(EtagList::Any)),
            (" * ", Some(EtagList::Any)),
            ("", Some(EtagList::Tags(vec![]))),
            (" , ,", Some(EtagList::Tags(vec![]))),
            ("\"a\"", Some(EtagList::Tags(vec![t(false, "a")]))),
            (
                "\"a\",W/\"b\" ,  \"c\"",
                Some(EtagList::Tags(vec![
                    t(false, "a"),
                    t(true, "b"),
                    t(false, "c"),
                ])),
            ),
            (
                ",\"a\",,\"b\",",
                Some(EtagList::Tags(vec![t(false, "a"), t(false, "b")])),
            ),
            (
                "\"a,b\", \"c\"",
                Some(EtagList::Tags(vec![t(false, "a,b"), t(false, "c")])),
            ),
            ("*, \"a\"", None),
            ("\"a\" \"b\"", None),
            ("\"a\", b", None),
            ("\"a", None),
            ("a, \"b\"", None),
            ("\"a\";x", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_etag_list(input.as_bytes()), *want, "input {input:?}");
        }
    }

    #[test]
    fn matching_lists() {
        let ours = t(false, "1-2-3");
        let cases: &[(&[&str], bool, bool)] = &[
            // fields, strong result, weak result
            (&["*"], true, true),
            (&["\"1-2-3\""], true, true),
            (&["W/\"1-2-3\""], false, true),
            (&["\"x\", \"1-2-3\""], true, true),
            (&["\"x\"", "\"1-2-3\""], true, true),
            (&["\"x\""], false, false),
            (&[""], false, false),
            (&["\"1-2-3"], false, false),
            (&["1-2-3"], false, false),
            (&["\"1-2-3\" junk"], false, false),
            (&["\"1-2-3\", junk"], false, false),
            (&["junk", "\"1-2-3\""], true, true),
            (&["\"1-2-3\"\"1-2-3\""], false, false),
        ];
        for (fields, strong, weak) in cases {
            let fields: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
            assert_eq!(
                any_matches(&fields, &ours, Comparison::Strong),
                *strong,
                "{fields:?}"
            );
            assert_eq!(
                any_matches(&fields, &ours, Comparison::Weak),
                *weak,
                "{fields:?}"
            );
        }
        assert!(!any_matches(&[], &ours, Comparison::Weak));
    }

    proptest! {
        #[test]
        fn generated_tags_parse_and_match_themselves(
            size in any::<u64>(), secs in any::<u32>(), nanos in 0u32..1_000_000_000,
            coding in proptest::option::of("[ -~]{0,20}"),
        ) {
            let m = UNIX_EPOCH + Duration::new(u64::from(secs), nanos);
            let s = strong_etag(&version(size, m), coding.as_deref());
            let tag = EntityTag::parse(s.as_bytes());
            prop_assert!(tag.is_some(), "{s}");
            let tag = tag.unwrap_or(EntityTag { weak: true, opaque: b"" });
            prop_assert!(!tag.weak);
            prop_assert!(tag.matches(&tag, Comparison::Strong));
        }

        #[test]
        fn list_parsing_never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_etag_list(&s);
            let _ = any_matches(&[&s], &EntityTag { weak: false, opaque: b"a" }, Comparison::Strong);
        }
    }
}
