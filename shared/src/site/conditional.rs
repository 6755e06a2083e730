//! Conditional requests (RFC 9110 section 13): evaluating `If-Match`,
//! `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since` in the order of section
//! 13.2.2, and the `If-Range` condition that decides whether a `Range` applies.

use std::time::{Duration, SystemTime};

use crate::site::validators::{any_matches, Comparison, EntityTag};
use crate::wire::date::{parse_http_date, to_seconds};
use crate::wire::message::Header;

/// The conditional fields of one request, borrowed from its head.
///
/// List fields hold every field line of that name (a client may split a list over
/// lines); an empty `Vec` means the field is absent. Date fields hold the single value,
/// or `None` when absent or sent more than once (a date field with several members is
/// invalid and must be ignored, RFC 9110 section 13.1.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions<'a> {
    /// Every `If-Match` field value.
    pub if_match: Vec<&'a [u8]>,
    /// The `If-Unmodified-Since` value.
    pub if_unmodified_since: Option<&'a [u8]>,
    /// Every `If-None-Match` field value.
    pub if_none_match: Vec<&'a [u8]>,
    /// The `If-Modified-Since` value.
    pub if_modified_since: Option<&'a [u8]>,
}

impl<'a> Preconditions<'a> {
    /// Collects the four conditional fields from a request's headers.
    pub fn from_headers(headers: &[Header<'a>]) -> Self {
        let mut pre = Preconditions::default();
        // Date fields: the value, and how many lines carried one.
        let (mut unmodified, mut modified) = ((None, 0), (None, 0));
        // One pass; most requests have none of these, and every name starts `If-`.
        for h in headers {
            let name = h.name.as_bytes();
            if name.len() < 8 || !name[..3].eq_ignore_ascii_case(b"if-") {
                continue;
            }
            let rest = &name[3..];
            if rest.eq_ignore_ascii_case(b"match") {
                pre.if_match.push(h.value);
            } else if rest.eq_ignore_ascii_case(b"none-match") {
                pre.if_none_match.push(h.value);
            } else if rest.eq_ignore_ascii_case(b"unmodified-since") {
                unmodified = (Some(h.value), unmodified.1 + 1);
            } else if rest.eq_ignore_ascii_case(b"modified-since") {
                modified = (Some(h.value), modified.1 + 1);
            }
        }
        pre.if_unmodified_since = unmodified.0.filter(|_| unmodified.1 == 1);
        pre.if_modified_since = modified.0.filter(|_| modified.1 == 1);
        pre
    }
}

/// What the preconditions say to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Perform the method (then consider `Range` / `If-Range`).
    Proceed,
    /// 304: send `ETag`, `Date`, `Last-Modified`, `Cache-Control`, `Vary`; no body.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

/// Evaluates the preconditions in RFC 9110 section 13.2.2 order for a resource that
/// exists, whose current validators are `etag` (a full header value such as `"1-2-3"`)
/// and `last_modified`.
///
/// 1. `If-Match` present: no strong match → 412.
/// 2. else `If-Unmodified-Since` a valid date: modified after it → 412.
/// 3. `If-None-Match` present: a weak match → 304 for GET/HEAD, 412 otherwise.
/// 4. else for GET/HEAD, `If-Modified-Since` a valid date: not modified after it → 304.
/// 5. Proceed.
///
/// Dates compare as instants at whole-second resolution, never as strings; invalid
/// dates are ignored. An `etag` that is not a valid entity-tag matches no list.
pub fn evaluate(
    method: &str,
    pre: &Preconditions<'_>,
    etag: &str,
    last_modified: SystemTime,
) -> Precondition {
    if *pre == Preconditions::default() {
        // The common case: no precondition, nothing to parse.
        return Precondition::Proceed;
    }
    let get_or_head = method == "GET" || method == "HEAD";
    let current = EntityTag::parse(etag.as_bytes());
    let matches = |fields: &[&[u8]], how| match &current {
        Some(tag) => any_matches(fields, tag, how),
        // Without a usable tag of our own only `*` can match.
        None => fields.iter().any(|f| f.trim_ascii() == b"*"),
    };
    let modified = to_seconds(last_modified);

    if !pre.if_match.is_empty() {
        if !matches(&pre.if_match, Comparison::Strong) {
            return Precondition::PreconditionFailed;
        }
    } else if let Some(since) = pre.if_unmodified_since.and_then(parse_date) {
        if modified > since {
            return Precondition::PreconditionFailed;
        }
    }

    if !pre.if_none_match.is_empty() {
        if matches(&pre.if_none_match, Comparison::Weak) {
            return if get_or_head {
                Precondition::NotModified
            } else {
                Precondition::PreconditionFailed
            };
        }
    } else if get_or_head {
        if let Some(since) = pre.if_modified_since.and_then(parse_date) {
            if modified <= since {
                return Precondition::NotModified;
            }
        }
    }
    Precondition::Proceed
}

/// How long after its modification a `Last-Modified` date counts as a strong validator
/// for `If-Range`. RFC 9110 section 8.8.2.2 lets a date be strong only when the
/// representation cannot have changed twice within that second; one second past the
/// modification time (the same bound the section gives caches for `Date`) guarantees
/// the second named by the date is over.
pub const LAST_MODIFIED_STRONG_AFTER: Duration = Duration::from_secs(1);

/// Whether an `If-Range` value lets the `Range` header apply (RFC 9110 section 13.1.5);
/// `false` means send the whole representation with 200.
///
/// An entity-tag must match `etag` strongly (a weak tag never does). A date must equal
/// `last_modified` to the second, and only counts when that date is a strong validator:
/// `now` (the response's `Date`) is more than [`LAST_MODIFIED_STRONG_AFTER`] past
/// `last_modified`. Anything else (an invalid date, garbage, a list) is `false`.
pub fn if_range_allows(
    if_range: &[u8],
    etag: &str,
    last_modified: SystemTime,
    now: SystemTime,
) -> bool {
    let value = if_range.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return match (EntityTag::parse(value), EntityTag::parse(etag.as_bytes())) {
            (Some(theirs), Some(ours)) => theirs.matches(&ours, Comparison::Strong),
            _ => false,
        };
    }
    let Some(date) = parse_date(value) else {
        return false;
    };
    let strong = now
        .duration_since(last_modified)
        .is_ok_and(|age| age > LAST_MODIFIED_STRONG_AFTER);
    strong && date == to_seconds(last_modified)
}

/// An HTTP-date field value as seconds since the epoch; `None` if invalid.
fn parse_date(value: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(value).ok()?;
    parse_http_date(s).map(to_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::message::Header;
    use std::time::UNIX_EPOCH;
    use Precondition::*;

    const ETAG: &str = "\"a-b-c\"";
    /// Sun, 06 Nov 1994 08:49:37 GMT, plus half a second of nanoseconds.
    fn lm() -> SystemTime {
        UNIX_EPOCH + Duration::new(784_111_777, 500_000_000)
    }
    const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn pre<'a>(fields: &[(&'a str, &'a str)]) -> Preconditions<'a> {
        let headers: Vec<Header<'a>> = fields
            .iter()
            .map(|(n, v)| Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect();
        Preconditions::from_headers(&headers)
    }

    /// One row: method, request fields, expected outcome.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Precondition);

    #[test]
    fn section_13_2_2_table() {
        let cases: &[Case<'_>] = &[
            ("GET", &[], Proceed),
            // If-Match: strong comparison, * matches an existing representation.
            ("GET", &[("If-Match", "\"a-b-c\"")], Proceed),
            ("GET", &[("If-Match", "*")], Proceed),
            ("GET", &[("If-Match", "\"x\", \"a-b-c\"")], Proceed),
            ("GET", &[("If-Match", "\"x\"")], PreconditionFailed),
            ("GET", &[("If-Match", "W/\"a-b-c\"")], PreconditionFailed),
            ("GET", &[("If-Match", "garbage")], PreconditionFailed),
            ("GET", &[("If-Match", "")], PreconditionFailed),
            (
                "GET",
                &[("if-match", "\"x\""), ("IF-MATCH", "\"a-b-c\"")],
                Proceed,
            ),
            // If-Unmodified-Since: ignored when If-Match present or invalid.
            ("GET", &[("If-Unmodified-Since", AT)], Proceed),
            ("GET", &[("If-Unmodified-Since", AFTER)], Proceed),
            (
                "GET",
                &[("If-Unmodified-Since", BEFORE)],
                PreconditionFailed,
            ),
            (
                "GET",
                &[("If-Match", "*"), ("If-Unmodified-Since", BEFORE)],
                Proceed,
            ),
            ("GET", &[("If-Unmodified-Since", "yesterday")], Proceed),
            (
                "GET",
                &[
                    ("If-Unmodified-Since", BEFORE),
                    ("If-Unmodified-Since", BEFORE),
                ],
                Proceed,
            ),
            // If-None-Match: weak comparison, 304 for GET/HEAD, 412 otherwise.
            ("GET", &[("If-None-Match", "\"a-b-c\"")], NotModified),
            ("HEAD", &[("If-None-Match", "W/\"a-b-c\"")], NotModified),
            ("GET", &[("If-None-Match", "*")], NotModified),
            (
                "GET",
                &[("If-None-Match", "\"x\", W/\"a-b-c\"")],
                NotModified,
            ),
            ("GET", &[("If-None-Match", "\"x\"")], Proceed),
            ("GET", &[("If-None-Match", "\"a-b-c")], Proceed),
            ("GET", &[("If-None-Match", "")], Proceed),
            (
                "DELETE",
                &[("If-None-Match", "\"a-b-c\"")],
                PreconditionFailed,
            ),
            ("get", &[("If-None-Match", "\"a-b-c\"")], PreconditionFailed),
            // If-Modified-Since: a real date comparison, GET/HEAD only.
            ("GET", &[("If-Modified-Since", AT)], NotModified),
            ("GET", &[("If-Modified-Since", AFTER)], NotModified),
            ("GET", &[("If-Modified-Since", BEFORE)], Proceed),
            (
                "GET",
                &[("If-Modified-Since", "Sunday, 06-Nov-94 08:49:37 GMT")],
                NotModified,
            ),
            (
                "GET",
                &[("If-Modified-Since", "Sun Nov  6 08:49:37 1994")],
                NotModified,
            ),
            // A string comparison would call this "later" (M > S); as dates it is earlier.
            (
                "GET",
                &[("If-Modified-Since", "Mon, 01 Jan 1990 00:00:00 GMT")],
                Proceed,
            ),
            ("GET", &[("If-Modified-Since", "not a date")], Proceed),
            ("GET", &[("If-Modified-Since", "")], Proceed),
            (
                "GET",
                &[("If-Modified-Since", AT), ("If-Modified-Since", AT)],
                Proceed,
            ),
            ("POST", &[("If-Modified-Since", AT)], Proceed),
            // If-Modified-Since is ignored when If-None-Match is present.
            (
                "GET",
                &[("If-None-Match", "\"x\""), ("If-Modified-Since", AT)],
                Proceed,
            ),
            (
                "GET",
                &[
                    ("If-None-Match", "\"a-b-c\""),
                    ("If-Modified-Since", BEFORE),
                ],
                NotModified,
            ),
            // Order: 412 from If-Match wins over 304 from If-None-Match.
            (
                "GET",
                &[("If-Match", "\"x\""), ("If-None-Match", "\"a-b-c\"")],
                PreconditionFailed,
            ),
            (
                "GET",
                &[("If-Unmodified-Since", BEFORE), ("If-Modified-Since", AT)],
                PreconditionFailed,
            ),
            (
                "GET",
                &[("If-Match", "\"a-b-c\""), ("If-None-Match", "\"a-b-c\"")],
                NotModified,
            ),
        ];
        for (method, fields, want) in cases {
            let got = evaluate(method, &pre(fields), ETAG, lm());
            assert_eq!(got, *want, "{method} {fields:?}");
        }
    }

    #[test]
    fn unusable_own_etag_matches_only_star() {
        let p = pre(&[("If-None-Match", "\"a-b-c\"")]);
        assert_eq!(evaluate("GET", &p, "a-b-c", lm()), Proceed);
        let p = pre(&[("If-None-Match", "*")]);
        assert_eq!(evaluate("GET", &p, "", lm()), NotModified);
    }

    #[test]
    fn if_range() {
        let later = lm() + Duration::from_secs(10);
        let cases: &[(&str, SystemTime, bool)] = &[
            ("\"a-b-c\"", later, true),
            (" \"a-b-c\" ", later, true),
            ("W/\"a-b-c\"", later, false),
            ("\"x\"", later, false),
            ("\"a-b-c\", \"x\"", later, false),
            ("\"a-b-c", later, false),
            (AT, later, true),
            (BEFORE, later, false),
            (AFTER, later, false),
            ("Sunday, 06-Nov-94 08:49:37 GMT", later, true),
            ("garbage", later, false),
            ("", later, false),
            // Modified under a second ago: the date is weak and never allows the range.
            (AT, lm() + Duration::from_millis(900), false),
            (AT, lm(), false),
            (AT, lm() - Duration::from_secs(5), false),
            // An entity-tag does not depend on the clock.
            ("\"a-b-c\"", lm(), true),
        ];
        for (value, now, want) in cases {
            assert_eq!(
                if_range_allows(value.as_bytes(), ETAG, lm(), *now),
                *want,
                "{value:?}"
            );
        }
        assert!(!if_range_allows(b"\xff\xfe", ETAG, lm(), later));
    }

    #[test]
    fn from_headers_collects() {
        let p = pre(&[
            ("If-None-Match", "\"a\""),
            ("Host", "x"),
            ("if-none-match", "\"b\""),
            ("If-Modified-Since", AT),
        ]);
        assert_eq!(p.if_none_match, vec![&b"\"a\""[..], b"\"b\""]);
        assert_eq!(p.if_modified_since, Some(AT.as_bytes()));
        assert!(p.if_match.is_empty());
        assert_eq!(p.if_unmodified_since, None);
    }
}
