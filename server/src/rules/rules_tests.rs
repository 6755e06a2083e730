//! Tests of the compiled rules: one table per kind, and a property that no spelling of a
//! path escapes a rule meant to cover it.

use super::*;
use crate::config_file::tests::ISSUE_SHAPE;
use crate::rules::auth::tests::cheap_hash;
use glob::rule_path;
use proptest::prelude::*;
use shared::site::path::sanitize_path;

/// The issue's shape, with a cheap hash for alice (password "wonderland").
fn rules_from(text: &str) -> Rules {
    let mut config: Config = clap::Parser::try_parse_from(["server"]).unwrap();
    config.site = toml::from_str(text).unwrap();
    config.fallback = Some("index.html".into());
    config.security_headers = true;
    config.allow_insecure_auth = true;
    for rule in &mut config.site.auth {
        rule.users.0[0].1 = cheap_hash("wonderland");
    }
    Rules::build(&config, None).unwrap()
}

fn key(request: &str) -> String {
    rule_path(&sanitize_path(request).unwrap())
}

#[test]
fn redirects_table() {
    let r = rules_from(ISSUE_SHAPE);
    let cases = [
        ("/old/page", Some((308, "/new/page"))),
        ("/OLD/Page", Some((308, "/new/Page"))),
        ("//old/./page", Some((308, "/new/page"))),
        ("/old/a/b", None),
        ("/new/page", None),
    ];
    for (request, want) in cases {
        let got = r.redirect(&key(request), || None);
        assert_eq!(
            got.as_ref().map(|(s, l)| (s.0, l.as_str())),
            want,
            "{request}"
        );
    }
}

#[test]
fn headers_table() {
    let r = rules_from(ISSUE_SHAPE);
    let ok = StatusCode::OK;
    let assets = r.matched("/assets/app.1234.js").edits(ok, None);
    assert_eq!(
        assets.cache_control.map(|v| &**v),
        Some("public, max-age=31536000, immutable")
    );
    let page = r.matched("/index.html").edits(ok, None);
    assert_eq!(
        page.cache_control.map(|v| &**v),
        Some("no-cache"),
        "the global default"
    );
    let not_modified = r
        .matched("/assets/a.js")
        .edits(StatusCode::NOT_MODIFIED, None);
    assert_eq!(
        not_modified.cache_control.map(|v| &**v),
        Some("public, max-age=31536000, immutable")
    );
    let missing = r
        .matched("/assets/gone.js")
        .edits(StatusCode::NOT_FOUND, None);
    assert_eq!(
        missing.cache_control, None,
        "an error is never cached for a year"
    );
    for edits in [&assets, &page, &missing] {
        let names: Vec<&str> = edits.set.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "X-Content-Type-Options",
                "Referrer-Policy",
                "X-Frame-Options"
            ]
        );
    }
}

#[test]
fn a_headers_rule_overrides_the_security_preset() {
    let r = rules_from(
        "[[headers]]\nsource = \"/embed/**\"\nheaders = { \"X-Frame-Options\" = \"ALLOWALL\", \"Content-Security-Policy\" = \"default-src 'self'\" }\n",
    );
    let e = r.matched("/embed/a.html").edits(StatusCode::OK, None);
    let frame: Vec<&(&str, &str)> = e
        .set
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-frame-options"))
        .collect();
    assert_eq!(frame, [&("X-Frame-Options", "ALLOWALL")]);
    assert!(e
        .set
        .contains(&("Content-Security-Policy", "default-src 'self'")));
}

#[test]
fn cors_table() {
    let r = rules_from(ISSUE_SHAPE);
    let allowed = Some(&b"http://127.0.0.1:8080"[..]);
    let refused = Some(&b"http://127.0.0.1:9999"[..]);
    let m = r.matched("/api/items.json");
    let pre = m.preflight("OPTIONS", allowed, Some(b"PUT")).unwrap();
    assert!(pre.contains(&("Access-Control-Allow-Methods", "GET, PUT".into())));
    assert!(pre.contains(&("Vary", "Origin".into())));
    assert!(
        m.preflight("GET", allowed, Some(b"PUT")).is_none(),
        "not a preflight"
    );
    assert!(
        m.preflight("OPTIONS", allowed, None).is_none(),
        "not a preflight"
    );
    let refused_pre = m.preflight("OPTIONS", refused, Some(b"PUT")).unwrap();
    assert!(!refused_pre
        .iter()
        .any(|(n, _)| n.starts_with("Access-Control")));
    let e = m.edits(StatusCode::OK, allowed);
    assert_eq!(
        e.cors,
        [(
            "Access-Control-Allow-Origin",
            "http://127.0.0.1:8080".to_string()
        )]
    );
    assert_eq!(e.vary, Some("Origin"));
    let e = m.edits(StatusCode::NOT_FOUND, allowed);
    assert_eq!(e.cors.len(), 1, "errors are readable cross-origin too");
    let outside = r.matched("/index.html");
    assert!(outside
        .preflight("OPTIONS", allowed, Some(b"PUT"))
        .is_none());
    assert_eq!(outside.edits(StatusCode::OK, allowed).vary, None);
}

#[test]
fn auth_table() {
    let r = rules_from(ISSUE_SHAPE);
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let now = Instant::now();
    let right = b"Basic YWxpY2U6d29uZGVybGFuZA=="; // alice:wonderland
    let wrong = b"Basic YWxpY2U6bm9wZQ=="; // alice:nope
    let cases: [(&str, Option<&[u8]>, bool); 6] = [
        ("/private/", None, false),
        ("/private/a.txt", Some(wrong), false),
        ("/private/a.txt", Some(right), true),
        ("/PRIVATE/a.txt", None, false),
        ("/public.txt", None, true),
        ("/privateer.txt", None, true),
    ];
    for (request, authorization, allowed) in cases {
        let outcome = r.matched(&key(request)).auth(authorization, peer, now);
        assert_eq!(
            outcome == Outcome::Allowed,
            allowed,
            "{request}: {outcome:?}"
        );
    }
}

#[test]
fn fallback_table() {
    let r = rules_from("");
    for (path, want) in [
        ("/app/settings", Some("index.html")),
        ("/app/settings/", Some("index.html")),
        ("/missing.png", None),
    ] {
        assert_eq!(r.fallback(path), want, "{path}");
    }
}

#[test]
fn auth_over_cleartext_is_refused_unless_allowed() {
    let mut config: Config = clap::Parser::try_parse_from(["server"]).unwrap();
    config.site = toml::from_str(ISSUE_SHAPE).unwrap();
    config.site.auth[0].users.0[0].1 = cheap_hash("x");
    let e = Rules::build(&config, None).unwrap_err();
    assert!(e.message.contains("cleartext"), "{e}");
    config.allow_insecure_auth = true;
    assert!(Rules::build(&config, None).is_ok());
}

#[test]
fn errors_say_which_rule() {
    let mut config: Config = clap::Parser::try_parse_from(["server"]).unwrap();
    config.site = toml::from_str(
        "[[redirects]]\nsource = \"/a\"\ndestination = \"/b\"\n[[redirects]]\nsource = \"/c\"\ndestination = \"c\"\n",
    )
    .unwrap();
    let e = Rules::build(&config, None).unwrap_err();
    assert_eq!((e.kind, e.index), ("redirects", 1));
    assert!(
        e.to_string()
            .starts_with("[[redirects]] rule 2: destination \"c\""),
        "{e}"
    );
}

#[test]
fn a_reload_keeps_the_failed_login_record() {
    let r = rules_from(ISSUE_SHAPE);
    let peer: IpAddr = "192.0.2.1".parse().unwrap();
    let now = Instant::now();
    for _ in 0..limiter::MAX_FAILED_ATTEMPTS {
        r.matched("/private/x").auth(Some(b"Basic YTpi"), peer, now);
    }
    let mut config: Config = clap::Parser::try_parse_from(["server"]).unwrap();
    config.site = toml::from_str(ISSUE_SHAPE).unwrap();
    config.site.auth[0].users.0[0].1 = cheap_hash("wonderland");
    config.allow_insecure_auth = true;
    let reloaded = Rules::build(&config, Some(&r)).unwrap();
    assert!(matches!(
        reloaded.matched("/private/x").auth(None, peer, now),
        Outcome::Limited(_)
    ));
}

/// Pieces of request paths: names, other spellings of them, dot segments, escapes.
fn piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("private"),
        Just("PRIVATE"),
        Just("Private"),
        Just("%70rivate"),
        Just("priv%61te"),
        Just("%2e"),
        Just("%2E%2E"),
        Just("."),
        Just(".."),
        Just(""),
        Just("a"),
        Just("x.txt"),
        Just("%2F"),
        Just("private%2F.."),
        Just("privatex"),
        Just("%00"),
        Just(";"),
    ]
}

proptest! {
    /// Whatever the spelling, a request that the file lookup would resolve inside
    /// /private/ is covered by `/private/**`, and nothing outside it is.
    #[test]
    fn no_request_path_escapes_a_rule_meant_to_cover_it(
        pieces in prop::collection::vec(piece(), 1..7),
        trailing in any::<bool>(),
    ) {
        let r = rules_from(ISSUE_SHAPE);
        let mut request = format!("/{}", pieces.join("/"));
        if trailing {
            request.push('/');
        }
        let Ok(safe) = sanitize_path(&request) else {
            return Ok(()); // refused with 400: nothing is served
        };
        let first = safe.relative.split('/').next().unwrap_or("");
        let inside = first.eq_ignore_ascii_case("private");
        let covered = r.matched(&rule_path(&safe)).is_protected();
        prop_assert_eq!(covered, inside, "{} → {:?}", request, safe.relative);
    }
}
