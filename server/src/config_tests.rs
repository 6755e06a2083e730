//! Unit tests of `config.rs`.

use super::*;

fn parse(args: &[&str]) -> Result<Config, clap::Error> {
    Config::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
}

fn refusal(args: &[&str]) -> String {
    parse(args).expect_err("should be refused").to_string()
}

#[test]
fn defaults() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.port, 6789);
    assert_eq!(c.root, PathBuf::from("www"));
    assert_eq!(c.bind, "0.0.0.0".parse::<IpAddr>().unwrap());
    assert!(!c.quiet && !c.dotfiles && !c.listing && !c.security_headers);
    assert_eq!((c.config, c.command, c.fallback), (None, None, None));
    assert!(c.site.is_empty());
}

#[test]
fn flags() {
    let c = parse(&["--port", "0", "--bind", "::1", "--root", "/tmp", "-q"]).unwrap();
    assert_eq!((c.port, c.quiet), (0, true));
    assert!(parse(&["--port", "70000"]).is_err());
    assert!(parse(&["--head-timeout", "0"]).is_err());
    assert!(parse(&["--max-requests", "0"]).is_err());
}

#[test]
fn cache_control_with_line_breaks_is_refused() {
    for bad in [
        "no-cache\r\nX-Injected: 1",
        "no-cache\nSet-Cookie: a=b",
        "a\0b",
        "max-age=1\r",
    ] {
        let e = refusal(&["--cache-control", bad]);
        assert!(e.contains("CR, LF or NUL"), "{bad:?}: {e}");
    }
    assert!(refusal(&["--cache-control", "caf\u{e9}"]).contains("US-ASCII"));
    assert!(refusal(&["--cache-control", " no-cache"]).contains("start or end"));
    let c = parse(&["--cache-control", "public, max-age=60"]).unwrap();
    assert_eq!(c.cache_control, "public, max-age=60");
}

#[test]
fn max_connections_zero_is_refused_not_raised_to_one() {
    let e = refusal(&["--max-connections", "0"]);
    assert!(e.contains("at least 1"), "{e}");
    assert_eq!(
        parse(&["--max-connections", "1"]).unwrap().max_connections,
        Some(1)
    );
}

#[test]
fn threads_take_one_to_the_maximum_and_default_to_unset() {
    assert_eq!(parse(&[]).unwrap().threads, None);
    assert_eq!(parse(&["--threads", "3"]).unwrap().threads, Some(3));
    for bad in ["0", "1025", "many"] {
        let e = refusal(&["--threads", bad]);
        assert!(e.contains("threads") || e.contains("invalid"), "{bad}: {e}");
    }
}

#[test]
fn empty_index_names_are_refused() {
    for bad in [
        &["--index", ""][..],
        &["--index", "index.html,"],
        &["--index=,a"],
    ] {
        let e = refusal(bad);
        assert!(e.contains("cannot be empty"), "{bad:?}: {e}");
    }
    assert!(refusal(&["--index", "a/index.html"]).contains("not a path"));
    let c = parse(&["--index", "index.html,index.htm"]).unwrap();
    assert_eq!(c.index, ["index.html", "index.htm"]);
}

#[test]
fn boolean_flags_take_yes_no_on_off_one_zero() {
    for (value, want) in [
        ("1", true),
        ("0", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
        ("true", true),
        ("false", false),
        ("YES", true),
        ("Off", false),
    ] {
        let c = parse(&[&format!("--listing={value}")]).unwrap();
        assert_eq!(c.listing, want, "--listing={value}");
    }
    let c = parse(&["--listing", "--compress", "-q", "--dotfiles"]).unwrap();
    assert!(c.listing && c.compress && c.quiet && c.dotfiles);
    assert!(refusal(&["--listing=maybe"]).contains("maybe"));
    // The value needs `=`: a bare flag never swallows the next argument.
    assert!(parse(&["--listing", "yes"]).is_err());
}

#[test]
fn boolean_environment_variables_take_one_and_zero() {
    // Env values are read when the command is built; use a variable no other test sets.
    let listing_from_env = |value: &str| {
        std::env::set_var("SERVER_TEST_LISTING_BOOLISH", value);
        let cmd = <Config as clap::CommandFactory>::command()
            .mut_arg("listing", |a| a.env("SERVER_TEST_LISTING_BOOLISH"));
        std::env::remove_var("SERVER_TEST_LISTING_BOOLISH");
        let m = cmd.try_get_matches_from(["server"])?;
        Ok::<bool, clap::Error>(m.get_one::<bool>("listing") == Some(&true))
    };
    for (value, want) in [
        ("1", true),
        ("0", false),
        ("yes", true),
        ("off", false),
        ("true", true),
    ] {
        assert_eq!(listing_from_env(value).unwrap(), want, "{value}");
    }
    assert!(listing_from_env("maybe").is_err());
}

#[test]
fn bind_resolves_host_names() {
    let c = parse(&["--bind", "localhost"]).unwrap();
    assert!(c.bind.is_loopback(), "{}", c.bind);
    assert_eq!(
        parse(&["--bind", "[::1]"]).unwrap().bind,
        "::1".parse::<IpAddr>().unwrap()
    );
    assert!(refusal(&["--bind", "127.0.0.1:8080"]).contains("without a port"));
    assert!(refusal(&["--bind", "a b"]).contains("not an IP address or a host name"));
}

#[test]
fn fallback_is_a_file_inside_the_root() {
    assert_eq!(
        parse(&["--fallback", "/app/index.html"])
            .unwrap()
            .fallback
            .as_deref(),
        Some("app/index.html")
    );
    assert!(refusal(&["--fallback", "../index.html"]).contains("inside the root"));
    assert!(refusal(&["--fallback", ""]).contains("inside the root"));
    assert!(refusal(&["--fallback", "app/"]).contains("inside the root"));
}

#[test]
fn hash_password_is_a_subcommand_and_serving_is_the_default() {
    assert_eq!(
        parse(&["hash-password"]).unwrap().command,
        Some(Command::HashPassword)
    );
    assert_eq!(parse(&["--port", "6789"]).unwrap().command, None);
}

#[test]
fn tls_flags_come_as_a_pair_and_the_rest_need_them() {
    let c =
        Config::try_parse_from(["server", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
    assert_eq!(c.tls_cert, Some(PathBuf::from("c.pem")));
    assert_eq!(c.tls_key, Some(PathBuf::from("k.pem")));
    assert!(Config::try_parse_from(["server", "--tls-cert", "c.pem"]).is_err());
    assert!(Config::try_parse_from(["server", "--tls-key", "k.pem"]).is_err());
    assert!(Config::try_parse_from(["server", "--redirect-http", "8080"]).is_err());
    assert!(Config::try_parse_from(["server", "--hsts", "60"]).is_err());
    let c = Config::try_parse_from([
        "server",
        "--tls-cert",
        "c",
        "--tls-key",
        "k",
        "--redirect-http",
        "8080",
        "--hsts",
        "60",
    ])
    .unwrap();
    assert_eq!((c.redirect_http, c.hsts), (Some(8080), Some(60)));
}

#[test]
fn http2_is_on_unless_turned_off() {
    assert!(Config::try_parse_from(["server"]).unwrap().http2);
    for off in [["--http2", "false"], ["--http2", "no"], ["--http2", "0"]] {
        let c = Config::try_parse_from(["server", off[0], off[1]]).unwrap();
        assert!(!c.http2, "{off:?}");
    }
    assert!(
        !Config::try_parse_from(["server", "--http2=off"])
            .unwrap()
            .http2
    );
    assert!(
        Config::try_parse_from(["server", "--http2", "true"])
            .unwrap()
            .http2
    );
    assert!(Config::try_parse_from(["server", "--http2", "maybe"]).is_err());
}
