//! Tests of `--config FILE`: precedence, unknown keys, relative paths, errors with lines.

use super::*;
use std::io::Write;

/// A config file in a fresh temporary folder.
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

fn load_with(text: &str, extra: &[&str]) -> Result<Config, LoadError> {
    let (_dir, path) = file(text);
    let mut args: Vec<OsString> = vec!["server".into(), "--config".into(), path.into()];
    args.extend(extra.iter().map(OsString::from));
    load(args).map(|l| l.config)
}

fn error(text: &str) -> String {
    load_with(text, &[])
        .expect_err("should be refused")
        .to_string()
}

/// The shape given in issue 16, verbatim (with a real hash).
pub(crate) const ISSUE_SHAPE: &str = r#"
root = "www"                       # any flag, same name
cache_control = "no-cache"         # the default for what no rule covers
fallback = "index.html"            # SPA fallback, relative to root
security_headers = true

[[headers]]
source = "/assets/**"
headers = { "Cache-Control" = "public, max-age=31536000, immutable" }

[[redirects]]
source = "/old/*"
destination = "/new/$1"
status = 308

[[cors]]
source = "/api/**"
allow_origins = ["http://127.0.0.1:8080"]   # or ["*"]
allow_methods = ["GET", "PUT"]
allow_headers = ["Content-Type"]
max_age = 600

[[auth]]
source = "/private/**"
realm = "private"
users = { alice = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$N7Ek8zWMUoSaZ9ix5JHkTRWVhMZJ7ZaYJvdOCSx0Tjs" }
"#;

#[test]
fn the_shape_in_the_issue_parses_exactly() {
    let (dir, path) = file(ISSUE_SHAPE);
    // Over plain HTTP, [[auth]] needs allow_insecure_auth (given here on the command line).
    let args = [
        "server".into(),
        "--config".into(),
        path.into_os_string(),
        "--allow-insecure-auth".into(),
    ];
    let c = load(args).unwrap().config;
    assert_eq!(c.root, dir.path().join("www"));
    assert_eq!(c.cache_control, "no-cache");
    assert_eq!(c.fallback.as_deref(), Some("index.html"));
    assert!(c.security_headers);
    let s = &c.site;
    assert_eq!(s.headers[0].source, "/assets/**");
    assert_eq!(
        s.headers[0].headers.0,
        [(
            "Cache-Control".to_string(),
            "public, max-age=31536000, immutable".to_string()
        )]
    );
    assert_eq!(
        (s.redirects[0].destination.as_str(), s.redirects[0].status),
        ("/new/$1", 308)
    );
    assert_eq!(s.cors[0].allow_origins, ["http://127.0.0.1:8080"]);
    assert_eq!(s.cors[0].allow_methods, ["GET", "PUT"]);
    assert_eq!(s.cors[0].max_age, Some(600));
    assert_eq!(s.auth[0].realm, "private");
    assert_eq!(s.auth[0].users.0[0].0, "alice");
}

#[test]
fn command_line_beats_environment_beats_file_beats_default() {
    let text = "port = 7000\nlisting = true\ncache_control = \"no-store\"\n";
    // File over default.
    let c = load_with(text, &[]).unwrap();
    assert_eq!(
        (c.port, c.listing, c.cache_control.as_str()),
        (7000, true, "no-store")
    );
    // Command line over file, including turning a boolean off again.
    let c = load_with(text, &["--port", "7001", "--listing=no"]).unwrap();
    assert_eq!((c.port, c.listing), (7001, false));
    // A key the file leaves out keeps its default.
    assert_eq!(c.head_timeout, crate::config::HEAD_TIMEOUT.as_secs());
}

#[test]
fn environment_beats_file() {
    // Env values are read when the command is built: give one flag a private variable.
    let (_dir, path) = file("shutdown_grace = 5\n");
    std::env::set_var("SERVER_TEST_GRACE_OVER_FILE", "9");
    let cmd = command().mut_arg("shutdown_grace", |a| a.env("SERVER_TEST_GRACE_OVER_FILE"));
    std::env::remove_var("SERVER_TEST_GRACE_OVER_FILE");
    let first = cmd
        .clone()
        .try_get_matches_from(["server", "--config", path.to_str().unwrap()])
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let origin = Origin::new(&path, &text);
    let table = DeTable::parse(&text).unwrap();
    let injected = flag_args(&cmd, &first, table.get_ref(), &origin).unwrap();
    assert!(
        injected.is_empty(),
        "the file must not override the environment: {injected:?}"
    );
}

#[test]
fn unknown_keys_name_the_key_the_line_and_the_nearest_name() {
    let e = error("port = 1\n\ncache_contol = \"no-cache\"\n");
    assert!(
        e.ends_with("site.toml:3: unknown key 'cache_contol'; did you mean 'cache_control'?"),
        "{e}"
    );
    let e = error("cache-control = \"x\"\n");
    assert!(
        e.contains(":1: unknown key 'cache-control'; did you mean 'cache_control'?"),
        "{e}"
    );
    let e = error("[[header]]\nsource = \"/\"\n");
    assert!(
        e.contains(":1: unknown key 'header'; did you mean 'headers'?"),
        "{e}"
    );
    let e = error("[[cors]]\nsource = \"/\"\nallow_origin = [\"*\"]\n");
    assert!(
        e.contains(":3: in [[cors]]: unknown key 'allow_origin'; did you mean 'allow_origins'?"),
        "{e}"
    );
    let e = error("zzzzzzzzzz = 1\n");
    assert!(
        e.contains("unknown key 'zzzzzzzzzz'; valid keys are port, bind,"),
        "{e}"
    );
}

#[test]
fn the_file_cannot_name_another_file_or_ask_to_print() {
    assert!(error("config = \"other.toml\"\n").contains("unknown key 'config'"));
    assert!(error("print_config = true\n").contains("unknown key 'print_config'"));
}

#[test]
fn bad_values_are_refused_with_their_key_and_line() {
    let e = error("\nport = \"eighty\"\n");
    assert!(
        e.contains("site.toml:2: port: invalid value \"eighty\": invalid digit"),
        "{e}"
    );
    let e = error("cache_control = \"no-cache\\r\\nSet-Cookie: a=b\"\n");
    assert!(
        e.contains(":1: cache_control: ") && e.contains("CR, LF or NUL"),
        "{e}"
    );
    assert!(
        !e.contains('\r') && !e.contains('\n'),
        "the error line itself must not break: {e:?}"
    );
    let e = error("max_connections = 0\n");
    assert!(
        e.contains("max_connections: ") && e.contains("at least 1"),
        "{e}"
    );
    let e = error("index = []\n");
    assert!(e.contains("index: give at least one value"), "{e}");
    let e = error("port = [1, 2]\n");
    assert!(e.contains("port: takes one value, not a list"), "{e}");
    let e = error("listing = \"perhaps\"\n");
    assert!(e.contains("listing: ") && e.contains("perhaps"), "{e}");
    let e = error("[[redirects]]\nsource = \"/a\"\ndestination = \"/b\"\nstatus = \"x\"\n");
    assert!(e.contains("site.toml:4: "), "{e}");
    let e = error("port = \n");
    assert!(e.contains("site.toml:1: "), "{e}");
}

#[test]
fn rule_errors_name_the_line_of_their_table() {
    let text = "[[redirects]]\nsource = \"/a\"\ndestination = \"/b\"\n\n[[redirects]]\nsource = \"/c\"\ndestination = \"nowhere\"\n";
    let e = error(text);
    assert!(
        e.contains("site.toml:5: [[redirects]] rule 2: destination \"nowhere\""),
        "{e}"
    );
    let e = error("[[auth]]\nsource = \"/p/**\"\nusers = { a = \"$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$xxx\" }\n");
    assert!(e.contains("cleartext"), "{e}");
}

#[test]
fn flags_that_need_each_other_can_both_come_from_the_file() {
    let (dir, path) = file("tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n");
    let c = load(["server".into(), "--config".into(), path.into_os_string()])
        .unwrap()
        .config;
    assert_eq!(c.tls_cert, Some(dir.path().join("c.pem")));
    assert_eq!(c.tls_key, Some(dir.path().join("k.pem")));
    let e = error("tls_cert = \"c.pem\"\n");
    assert!(
        e.contains("tls-key"),
        "a lone tls_cert is still refused: {e}"
    );
}

#[test]
fn lists_and_booleans_take_toml_types() {
    let c = load_with(
        "index = [\"index.html\", \"index.htm\"]\nlisting = true\nquiet = false\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.index, ["index.html", "index.htm"]);
    assert!(c.listing && !c.quiet);
}

#[test]
fn relative_paths_are_taken_from_the_files_folder() {
    let (dir, path) = file("root = \"public\"\n");
    let cwd_independent =
        load(["server".into(), "--config".into(), path.into_os_string()]).unwrap();
    assert_eq!(cwd_independent.config.root, dir.path().join("public"));
    // The command line keeps the usual meaning: relative to the working directory.
    let c = load_with("root = \"public\"\n", &["--root", "here"]).unwrap();
    assert_eq!(c.root, PathBuf::from("here"));
}

#[test]
fn rule_tables_must_be_arrays_of_tables_with_a_source() {
    let e = error("[headers]\nsource = \"/\"\n");
    assert!(e.contains("write [[headers]]"), "{e}");
    let e = error("[[auth]]\nrealm = \"x\"\nusers = {}\n");
    assert!(e.contains("has no source"), "{e}");
}

#[test]
fn a_missing_or_huge_file_is_reported() {
    let e = load(["server", "--config", "/nonexistent/site.toml"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot read config file '/nonexistent/site.toml'"),
        "{e}"
    );
    let big = format!("# {}\n", "x".repeat(MAX_CONFIG_FILE as usize));
    assert!(error(&big).contains("larger than"));
}

#[test]
fn nearest_names_are_typos_only() {
    assert_eq!(nearest("prot", &["port", "bind"]), Some("port"));
    assert_eq!(nearest("LISTING", &["listing"]), Some("listing"));
    assert_eq!(nearest("xyz", &["port", "bind"]), None);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn the_example_in_docs_loads() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/site.toml");
    let c = load(["server".into(), "--config".into(), example.into_os_string()])
        .unwrap()
        .config;
    assert_eq!(
        (
            c.site.headers.len(),
            c.site.redirects.len(),
            c.site.cors.len(),
            c.site.auth.len()
        ),
        (2, 1, 1, 1)
    );
    assert!(c.root.ends_with("www"));
}

#[test]
fn every_file_key_is_documented_in_config_md() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CONFIG.md")).unwrap();
    for arg in file_keys(&command()) {
        let key = format!("`{}`", arg.get_id());
        assert!(doc.contains(&key), "docs/CONFIG.md does not document {key}");
    }
    for (kind, fields) in KINDS {
        assert!(doc.contains(&format!("[[{kind}]]")), "{kind}");
        for field in fields {
            assert!(
                doc.contains(field),
                "docs/CONFIG.md does not mention {kind}.{field}"
            );
        }
    }
}
