//! Tests of path globs: coverage, first match, captures, and captures agreeing with
//! globset on every path.

use super::*;
use proptest::prelude::*;
use shared::site::path::sanitize_path;

fn key(request_path: &str) -> String {
    rule_path(&sanitize_path(request_path).unwrap())
}

#[test]
fn rule_paths_are_the_normalised_lookup_paths() {
    let cases = [
        ("/", "/"),
        ("/private", "/private"),
        ("/private/", "/private/"),
        ("//private", "/private"),
        ("/./private/", "/private/"),
        ("/%70rivate/x", "/private/x"),
        ("/public/../private/x", "/private/x"),
        ("/private/.", "/private/"),
        ("/a//b/", "/a/b/"),
    ];
    for (request, want) in cases {
        assert_eq!(key(request), want, "{request}");
    }
}

#[test]
fn a_folder_glob_covers_the_folder_every_spelling_and_nothing_beside_it() {
    let m = Matcher::new(["/private/**"]).unwrap();
    for covered in [
        "/private",
        "/private/",
        "/private/a",
        "/private/a/b.txt",
        "/PRIVATE/a",
        "/Private/",
        "//private/a",
        "/./private/a",
        "/x/../private/a",
        "/%70rivate/a",
        "/private/./a",
    ] {
        assert_eq!(m.first(&key(covered)), Some(0), "{covered} must be covered");
    }
    for beside in [
        "/",
        "/privatex",
        "/private.html",
        "/public/private",
        "/a/private/b",
    ] {
        assert_eq!(m.first(&key(beside)), None, "{beside} must not be covered");
    }
}

#[test]
fn the_first_matching_rule_in_file_order_wins() {
    let m = Matcher::new(["/assets/*.js", "/assets/**", "/**"]).unwrap();
    assert_eq!(m.first("/assets/app.js"), Some(0));
    assert_eq!(m.first("/assets/app.css"), Some(1));
    assert_eq!(m.first("/assets/js/app.js"), Some(1));
    assert_eq!(m.first("/index.html"), Some(2));
    let m = Matcher::new(["/**", "/assets/*.js"]).unwrap();
    assert_eq!(m.first("/assets/app.js"), Some(0));
    assert_eq!(Matcher::new(Vec::<&str>::new()).unwrap().first("/"), None);
}

#[test]
fn single_stars_stay_within_a_segment() {
    let m = Matcher::new(["/old/*"]).unwrap();
    assert_eq!(m.first("/old/a"), Some(0));
    assert_eq!(m.first("/old/a/b"), None);
    let m = Matcher::new(["/**/*.html"]).unwrap();
    assert_eq!(m.first("/index.html"), Some(0));
    assert_eq!(m.first("/a/b/c.html"), Some(0));
    assert_eq!(m.first("/a/b/c.htm"), None);
}

#[test]
fn bad_sources_are_refused() {
    assert!(Matcher::new(["private/**"])
        .unwrap_err()
        .1
        .contains("must start with /"));
    assert!(Matcher::new(["/a/[b"]).is_err());
    assert_eq!(Matcher::new(["/ok", "/a/{b"]).unwrap_err().0, 1);
}

#[test]
fn captures_follow_each_wildcard_in_order() {
    let cases: [(&str, &str, Option<Vec<&str>>); 12] = [
        ("/old/*", "/old/page", Some(vec!["page"])),
        ("/old/*", "/old/", Some(vec![""])),
        ("/old/*", "/old/a/b", None),
        ("/old/**", "/old/a/b/c.html", Some(vec!["a/b/c.html"])),
        ("/old/**", "/old/", Some(vec![""])),
        (
            "/blog/*/*.html",
            "/blog/2020/post.html",
            Some(vec!["2020", "post"]),
        ),
        ("/a/**/z", "/a/z", Some(vec![""])),
        ("/a/**/z", "/a/b/c/z", Some(vec!["b/c"])),
        ("/v?/*", "/v2/x", Some(vec!["2", "x"])),
        ("/Old/*", "/oLD/Page", Some(vec!["Page"])),
        ("/caf\u{e9}/*", "/caf\u{e9}/x", Some(vec!["x"])),
        ("/a\\*b", "/a*b", Some(vec![])),
    ];
    for (source, path, want) in cases {
        let c = Captures::new(source).unwrap();
        assert_eq!(c.captures(path), want, "{source} on {path}");
    }
}

#[test]
fn redirect_sources_that_cannot_capture_are_refused() {
    assert!(Captures::new("/a/[bc]").is_err());
    assert!(Captures::new("/a/{b,c}").is_err());
    assert!(Captures::new("/go**")
        .unwrap_err()
        .contains("whole segment"));
    assert!(Captures::new("/*/*/*/*/*/*/*/*/*/*")
        .unwrap_err()
        .contains("at most 9"));
    assert_eq!(Captures::new("/a/*/**").unwrap().count(), 2);
}

#[test]
fn captures_take_bounded_work_on_hostile_paths() {
    // Nine stars in one segment against a long segment that almost matches.
    let c = Captures::new("/*a*a*a*a*a*a*a*a*b").unwrap();
    let path = format!("/{}", "a".repeat(8000));
    assert_eq!(c.captures(&path), None);
    let matching = format!("{path}b");
    assert_eq!(c.captures(&matching).map(|c| c.len()), Some(9));
    let c = Captures::new("/**/a/**/a/**/b").unwrap();
    let path = "/a".repeat(4000);
    assert_eq!(c.captures(&path), None);
    assert_eq!(c.captures(&format!("{path}/b")).map(|c| c.len()), Some(3));
}

/// Redirect sources built from pieces globset and the capture matcher both accept.
fn source() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a".to_string()),
        Just("B".to_string()),
        Just("/".to_string()),
        Just("*".to_string()),
        Just("?".to_string()),
        Just("/**/".to_string()),
        Just(".".to_string()),
    ];
    (prop::collection::vec(piece, 0..6), any::<bool>()).prop_map(|(pieces, deep_end)| {
        let mut s = String::from("/");
        for p in pieces {
            s.push_str(&p);
        }
        if deep_end {
            s.push_str("/**");
        }
        s
    })
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![Just('a'), Just('A'), Just('b'), Just('/'), Just('.')],
        0..10,
    )
    .prop_map(|chars| format!("/{}", chars.into_iter().collect::<String>()))
}

proptest! {
    /// The capture matcher (redirects) and globset (every other kind) read a source the
    /// same way: they agree on every path.
    #[test]
    fn captures_agree_with_globset(source in source(), path in path()) {
        let (Ok(caps), Ok(glob)) = (Captures::new(&source), build(&source)) else {
            return Ok(());
        };
        let by_glob = glob.compile_matcher().is_match(&path);
        let by_captures = caps.captures(&path);
        prop_assert_eq!(by_glob, by_captures.is_some(), "{} on {}", source, path);
        if let Some(found) = by_captures {
            prop_assert_eq!(found.len(), caps.count());
        }
    }
}

/// A `[[redirects]]` source without its leading slash started silently and never
/// matched, while the same mistake in every other rule kind was refused.
#[test]
fn a_redirect_source_without_a_leading_slash_is_refused_like_the_others() {
    let err = Captures::new("x/*").unwrap_err();
    assert!(err.contains("must start with /"), "{err}");
    assert!(Captures::new("/x/*").is_ok());
}
