//! Unit tests of `cli.rs`.

use super::*;

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("client").chain(args.iter().copied()))
}

fn plan(args: &[&str]) -> Result<Plan, String> {
    parse(args).map_err(|e| e.to_string())?.plan()
}

fn once(args: &[&str]) -> (String, Vec<String>) {
    match plan(args).unwrap() {
        Plan::Once {
            location, items, ..
        } => (location.url(), items),
        other => panic!("{args:?} gave {other:?}"),
    }
}

#[test]
fn the_assignments_forms_still_work() {
    assert_eq!(
        plan(&["127.0.0.1", "6789"]).unwrap(),
        Plan::Repl(Origin::new(Scheme::Http, "127.0.0.1", 6789))
    );
    assert_eq!(
        once(&["127.0.0.1", "6789", "HelloWorld.html"]).0,
        "http://127.0.0.1:6789/HelloWorld.html"
    );
    assert_eq!(once(&["::1", "80", "/a b"]).0, "http://[::1]/a%20b");
    assert_eq!(
        parse(&["h", "1"]).unwrap().timeout(),
        Duration::from_secs(30)
    );
}

#[test]
fn urls_shorthands_and_items() {
    assert_eq!(
        once(&["http://h:1/x", "a==1"]),
        ("http://h:1/x".into(), vec!["a==1".into()])
    );
    assert_eq!(once(&[":6789/x"]).0, "http://localhost:6789/x");
    assert_eq!(once(&["localhost:6789/x", "A:b"]).1, ["A:b"]);
    assert_eq!(once(&["h", "1", "/p", "n=v", "H:v"]).1, ["n=v", "H:v"]);
    assert_eq!(once(&["example.org"]).0, "http://example.org/");
}

#[test]
fn https_from_port_443_or_tls() {
    assert_eq!(
        plan(&["h", "443"]).unwrap(),
        Plan::Repl(Origin::new(Scheme::Https, "h", 443))
    );
    assert_eq!(once(&["--tls", "h", "8443", "/"]).0, "https://h:8443/");
    assert_eq!(once(&["--tls", "h/x"]).0, "https://h/x");
}

#[test]
fn flags() {
    let a = parse(&[
        "h",
        "1",
        "/x",
        "-o",
        "out.bin",
        "--timeout",
        "0.5",
        "-v",
        "--no-color",
        "--headers-only",
    ])
    .unwrap();
    assert!(!a.head && a.verbose && a.no_color && a.headers_only && !a.body_only);
    assert_eq!(a.output, Some(PathBuf::from("out.bin")));
    assert_eq!(a.timeout(), Duration::from_millis(500));
    let a = parse(&[
        "-X",
        "PURGE",
        "-H",
        "A: b",
        "-H",
        "C:",
        "-L",
        "--max-redirects",
        "3",
        "-k",
        ":1",
    ])
    .unwrap();
    assert_eq!(
        (
            a.method.as_deref(),
            a.headers.len(),
            a.follow,
            a.max_redirects,
            a.insecure
        ),
        (Some("PURGE"), 2, true, 3, true)
    );
    assert_eq!(parse(&[":1"]).unwrap().max_redirects, 10);
}

#[test]
fn refusals() {
    for bad in [
        &[][..],
        &["h", "1", "/", "--timeout", "0"],
        &["h", "1", "/", "--timeout", "-3"],
        &["h", "1", "/", "--timeout", "nan"],
        &["h", "1", "/", "--timeout", "1e30"],
        &["h", "1", "/", "--body-only", "--headers-only"],
        &["h", "1", "/", "--print", "hx"],
        &["h", "1", "/", "-C"],
        &["h", "1", "--pretty", "loud"],
        &["-a", "u", "--bearer", "t", "h", "1"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert!(plan(&["h", "0"]).is_err());
    assert!(plan(&["ftp://h/"]).is_err());
    // An out-of-range port is named as one (it was read as a request item).
    for args in [&["127.0.0.1", "99999", "x"][..], &["127.0.0.1", "65536"]] {
        let err = plan(args).err().unwrap_or_default();
        assert!(
            err.contains("out of range") && err.contains("1-65535"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn tiny_timeouts_are_refused_at_parse_time() {
    for tiny in ["1e-10", "0.0000001", "0.0009"] {
        let err = parse(&["--timeout", tiny, ":1"]).unwrap_err().to_string();
        assert!(
            err.contains("is not a number of seconds from 0.001"),
            "{tiny}: {err}"
        );
    }
    assert_eq!(
        parse(&["--timeout", "0.001", ":1"]).unwrap().timeout(),
        Duration::from_millis(1)
    );
}

#[test]
fn help_documents_exit_codes() {
    let help = parse(&["--help"]).unwrap_err().to_string();
    for line in [
        "0  the response was 1xx-3xx",
        "2  the server did not answer",
        "4  the response was 4xx",
        "5  the response was 5xx",
        "6  a redirect loop",
        "7  TLS failed",
    ] {
        assert!(help.contains(line), "help lacks {line:?}");
    }
}

#[test]
fn repl_refuses_one_shot_flags() {
    let a = parse(&["-I", "-X", "PUT", "h", "1"]).unwrap();
    assert_eq!(a.one_shot_only(), ["-I", "-X"]);
    assert!(
        parse(&["-I", "-o", "x", ":1"]).is_err(),
        "a HEAD has no body to save"
    );
    assert!(parse(&["-L", "-H", "A: b", "h", "1"])
        .unwrap()
        .one_shot_only()
        .is_empty());
}
