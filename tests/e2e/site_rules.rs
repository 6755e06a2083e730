//! Site rules over real sockets: a table per kind (headers, redirects, fallback, auth
//! coverage), and SIGHUP reloading the file, a broken one keeping the old rules.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tests::raw::{exchange, get, Response};
use tests::server::{write, TestServer};

/// argon2id of "wonderland" with the smallest cost (m=8 KiB, t=1), so the tests do not
/// pay the real cost on every check. The server checks it like any other hash.
pub(crate) const ALICE_HASH: &str =
    "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$9afvZ+dbaI8Y/067uB4mbFteG96PSe506tiWiDeODNA";

/// A site with assets, a private folder, an app shell and an API folder.
pub(crate) fn rules_site() -> tempfile::TempDir {
    let site = tests::server::site();
    let root = site.path();
    write(root, "index.html", b"<p>app shell</p>\n");
    write(root, "assets/app.js", b"console.log('app');\n");
    write(root, "assets/app.css", b"body{}\n");
    write(root, "private/secret.txt", b"the secret\n");
    write(root, "private/index.html", b"<p>private index</p>\n");
    write(root, "api/items.json", b"{\"items\":[1,2]}\n");
    write(root, "new/page", b"new page\n");
    site
}

/// Writes `text` as `site.toml` beside the site and starts the server with it.
pub(crate) fn start(site: &Path, text: &str, extra: &[&str]) -> (TestServer, PathBuf) {
    let conf = site.join("site.toml");
    std::fs::write(&conf, text).expect("write config");
    let mut args = vec!["--config", conf.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    (TestServer::start_in(site, &args), conf)
}

fn request(s: &TestServer, head: &str) -> Response {
    exchange(s.addr, head.as_bytes()).expect("a response")
}

const HEADERS: &str = r#"
security_headers = true
cache_control = "no-cache"
listing = true

[[headers]]
source = "/assets/**"
headers = { "Cache-Control" = "public, max-age=31536000, immutable", "X-Asset" = "yes" }

[[headers]]
source = "/sub/**"
headers = { "X-Frame-Options" = "DENY", "Content-Security-Policy" = "default-src 'self'" }
"#;

fn headers_table() {
    let site = rules_site();
    write(
        site.path(),
        "assets/app.js.gz",
        b"not really gzip, but a twin\n",
    );
    let (s, _) = start(site.path(), HEADERS, &[]);
    let immutable = "public, max-age=31536000, immutable";
    // (request, status, field, value): None means the field must be absent.
    let cases: [(&str, u16, &str, Option<&str>); 14] = [
        ("GET /assets/app.js", 200, "cache-control", Some(immutable)),
        ("GET /assets/app.js", 200, "x-asset", Some("yes")),
        (
            "GET /assets/app.js",
            200,
            "x-content-type-options",
            Some("nosniff"),
        ),
        ("GET /assets/app.css", 200, "cache-control", Some(immutable)),
        ("GET /assets/missing.js", 404, "cache-control", None),
        ("GET /assets/missing.js", 404, "x-asset", Some("yes")),
        (
            "GET /HelloWorld.html",
            200,
            "cache-control",
            Some("no-cache"),
        ),
        ("GET /HelloWorld.html", 200, "x-asset", None),
        (
            "GET /HelloWorld.html",
            200,
            "x-frame-options",
            Some("SAMEORIGIN"),
        ),
        (
            "GET /HelloWorld.html",
            200,
            "referrer-policy",
            Some("strict-origin-when-cross-origin"),
        ),
        ("GET /sub/page.txt", 200, "x-frame-options", Some("DENY")),
        (
            "GET /sub/page.txt",
            200,
            "content-security-policy",
            Some("default-src 'self'"),
        ),
        (
            "GET /noindex/",
            200,
            "x-content-type-options",
            Some("nosniff"),
        ),
        (
            "GET /nothing-here",
            404,
            "x-frame-options",
            Some("SAMEORIGIN"),
        ),
    ];
    for (line, status, field, want) in cases {
        let r = request(
            &s,
            &format!("{line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(r.status, status, "{line}");
        assert_eq!(r.header(field), want, "{line}: {field}");
    }
    // A compressed twin gets the same fields as the file.
    let gz = request(&s, "GET /assets/app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(
        (gz.header("cache-control"), gz.header("x-asset")),
        (Some(immutable), Some("yes"))
    );
    // So does a 304.
    let etag = get(s.addr, "/assets/app.css")
        .header("etag")
        .expect("etag")
        .to_string();
    let not_modified = request(&s, &format!("GET /assets/app.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"));
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("cache-control"), Some(immutable));
    // A rule replaces the preset's field: one line, not two.
    let r = get(s.addr, "/sub/page.txt");
    let frames = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-frame-options"));
    assert_eq!(frames.count(), 1);
}

const REDIRECTS: &str = r#"
[[redirects]]
source = "/old/*"
destination = "/new/$1"
status = 308

[[redirects]]
source = "/blog/*/*.html"
destination = "/posts/$2?year=$1"
status = 301

[[redirects]]
source = "/docs/**"
destination = "https://docs.example.com/v2/$1"

[[redirects]]
source = "/go/*"
destination = "/$1/landing"
"#;

fn redirects_with_captures_table() {
    let site = rules_site();
    let (s, _) = start(site.path(), REDIRECTS, &[]);
    let cases: [(&str, u16, Option<&str>); 9] = [
        ("/old/page", 308, Some("/new/page")),
        ("/OLD/page", 308, Some("/new/page")),
        ("//old/./page?x=1", 308, Some("/new/page?x=1")),
        ("/old/a%20b", 308, Some("/new/a%20b")),
        ("/blog/2020/hello.html", 301, Some("/posts/hello?year=2020")),
        (
            "/docs/guide/intro",
            302,
            Some("https://docs.example.com/v2/guide/intro"),
        ),
        // An empty capture cannot make a protocol-relative //host.
        ("/go/", 302, Some("/landing")),
        ("/go/%2F%2Fevil.example", 400, None),
        ("/old/a/b", 404, None),
    ];
    for (path, status, location) in cases {
        let r = request(
            &s,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(
            (r.status, r.header("location")),
            (status, location),
            "{path}"
        );
    }
    // The destination is followed to the real file.
    assert_eq!(get(s.addr, "/new/page").text(), "new page\n");
}

fn spa_fallback_serves_deep_links_while_missing_png_stays_404() {
    let site = rules_site();
    let (s, _) = start(site.path(), "fallback = \"index.html\"\n", &[]);
    for deep in [
        "/app/settings",
        "/app/settings/",
        "/users/42/edit",
        "/a.b/c",
    ] {
        let r = get(s.addr, deep);
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "<p>app shell</p>\n"),
            "{deep}"
        );
        assert!(
            r.header("etag").is_some(),
            "{deep}: the fallback is served as a file"
        );
    }
    for missing in ["/missing.png", "/app/main.js", "/.env"] {
        assert_eq!(get(s.addr, missing).status, 404, "{missing}");
    }
    // Real files and folders are untouched.
    assert_eq!(get(s.addr, "/sub/page.txt").text(), "plain text\n");
    assert_eq!(get(s.addr, "/sub/").text(), "<p>sub index</p>\n");
}

const AUTH: &str = r#"
allow_insecure_auth = true

[[auth]]
source = "/private/**"
realm = "members"
users = { alice = "ALICE" }
"#;

/// Every spelling of a protected path asks for a password (or is refused outright).
fn auth_covers_every_spelling_of_a_protected_path() {
    let site = rules_site();
    let (s, _) = start(site.path(), &AUTH.replace("ALICE", ALICE_HASH), &[]);
    for target in [
        "/private/secret.txt",
        "/private/",
        "/private",
        "/PRIVATE/secret.txt",
        "/Private/secret.txt",
        "//private/secret.txt",
        "/./private/secret.txt",
        "/%70rivate/secret.txt",
        "/private/./secret.txt",
        "/sub/../private/secret.txt",
        "/private%2Fsecret.txt",
        "/private/%2e/secret.txt",
    ] {
        let r = request(
            &s,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(matches!(r.status, 401 | 400), "{target}: {}", r.status);
        assert!(!r.text().contains("the secret"), "{target} leaked the file");
        if r.status == 401 {
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"members\", charset=\"UTF-8\""),
                "{target}"
            );
        }
    }
    // Beside the folder, nothing is protected.
    assert_eq!(get(s.addr, "/HelloWorld.html").status, 200);
    let ok = request(&s, "GET /private/secret.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n");
    assert_eq!((ok.status, ok.text().as_str()), (200, "the secret\n"));
}

/// A rule naming a file covers it under every URL that serves it: its folder's URL for an
/// index file, every deep link for the fallback file.
fn auth_on_an_index_or_fallback_file_covers_the_urls_that_serve_it() {
    let site = rules_site();
    write(site.path(), "app.html", b"<p>the app</p>\n");
    let conf = format!(
        "allow_insecure_auth = true\nfallback = \"app.html\"\n\
         [[auth]]\nsource = \"/private/index.html\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n\
         [[auth]]\nsource = \"/app.html\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n"
    );
    let (s, _) = start(site.path(), &conf, &[]);
    for url in [
        "/private/index.html",
        "/private/",
        "/app.html",
        "/some/deep/link",
    ] {
        let r = get(s.addr, url);
        assert_eq!(r.status, 401, "{url}");
        assert!(
            !r.text().contains("private index") && !r.text().contains("the app"),
            "{url}"
        );
    }
    let ok = request(&s, "GET /some/deep/link HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n");
    assert_eq!((ok.status, ok.text().as_str()), (200, "<p>the app</p>\n"));
    // The rule names one file: the rest of the folder is not covered.
    assert_eq!(get(s.addr, "/private/secret.txt").status, 200);
}

/// The small-file cache serves a folder's index without opening it: the index file's
/// own auth rule must hold there too, once the entry is cached and proven.
fn auth_on_an_index_file_holds_when_the_cache_serves_it() {
    let site = rules_site();
    let conf = format!(
        "allow_insecure_auth = true\n\
         [[auth]]\nsource = \"/private/index.html\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n"
    );
    let (s, _) = start(site.path(), &conf, &[]);
    // Settled (older than the cache's settle time), so the next answer caches it.
    std::thread::sleep(Duration::from_millis(2300));
    let alice = "GET /private/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n";
    // Cached by the first, proven by the second, served from the cache by the third.
    for _ in 0..3 {
        let ok = request(&s, alice);
        assert_eq!(
            (ok.status, ok.text().as_str()),
            (200, "<p>private index</p>\n")
        );
    }
    for url in ["/private/", "/private/index.html"] {
        let r = get(s.addr, url);
        assert_eq!(r.status, 401, "{url}");
        assert!(!r.text().contains("private index"), "{url}");
    }
}

fn sighup_reloads_the_file_and_a_broken_file_keeps_the_old_rules() {
    let site = rules_site();
    let first = "[[redirects]]\nsource = \"/old/*\"\ndestination = \"/new/$1\"\n";
    let (s, conf) = start(site.path(), first, &[]);
    assert_eq!(
        get(s.addr, "/old/page").header("location"),
        Some("/new/page")
    );
    // A live keep-alive connection is untouched by reloads.
    let mut live = tests::raw::Conn::open(s.addr);
    live.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(live.read_response("GET").expect("response").status, 200);

    std::fs::write(&conf, first.replace("/new/", "/newer/")).unwrap();
    hup(&s);
    assert!(
        s.wait_for_stderr("reloaded", Duration::from_secs(20))
            .is_some(),
        "{:?}",
        s.stderr_lines()
    );
    assert_eq!(
        get(s.addr, "/old/page").header("location"),
        Some("/newer/page")
    );

    std::fs::write(
        &conf,
        "[[redirects]]\nsource = \"/old/*\"\ndestinaton = \"/gone/$1\"\n",
    )
    .unwrap();
    hup(&s);
    let line = s.wait_for_stderr("reload failed", Duration::from_secs(20));
    let line = line.unwrap_or_else(|| panic!("no reload failure reported: {:?}", s.stderr_lines()));
    assert!(
        line.contains("site.toml:3: in [[redirects]]: unknown key 'destinaton'"),
        "{line}"
    );
    assert_eq!(
        get(s.addr, "/old/page").header("location"),
        Some("/newer/page"),
        "old rules kept"
    );

    live.send(b"GET /sub/page.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = live
        .read_response("GET")
        .expect("the live connection still answers");
    assert_eq!(r.status, 200);
}

/// A precompressed twin asked for by its own name is its original's content: the
/// original's auth rule holds for it (found by review: `/report.txt.gz` was served to
/// anyone while `/report.txt` asked for a password).
fn auth_on_a_file_covers_its_precompressed_twins_asked_for_by_name() {
    let site = rules_site();
    for ext in ["gz", "br", "zst"] {
        write(
            site.path(),
            &format!("report.txt.{ext}"),
            b"compressed report",
        );
    }
    write(site.path(), "report.txt", b"the report\n");
    let conf = format!(
        "allow_insecure_auth = true\n\
         [[auth]]\nsource = \"/report.txt\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n"
    );
    let (s, _) = start(site.path(), &conf, &[]);
    for url in [
        "/report.txt",
        "/report.txt.gz",
        "/report.txt.br",
        "/report.txt.zst",
        "/REPORT.TXT.GZ",
    ] {
        let r = get(s.addr, url);
        assert_eq!(r.status, 401, "{url}");
        assert!(!r.text().contains("report"), "{url}");
    }
    let ok = request(&s, "GET /report.txt.gz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n");
    assert_eq!((ok.status, ok.text().as_str()), (200, "compressed report"));
}

/// A `[[headers]]` rule for the file a URL serves holds there too: `/**/*.html` sets its
/// fields on `/` and `/docs/` (their index files), cached or not, and on the fallback's
/// deep links, as nginx's internal redirect to an index applies the index's location.
fn header_rules_of_an_index_or_fallback_file_hold_on_the_urls_that_serve_it() {
    let site = rules_site();
    write(site.path(), "docs/index.html", b"<p>docs</p>\n");
    write(site.path(), "app.html", b"<p>the app</p>\n");
    let conf = "fallback = \"app.html\"\n\
         [[headers]]\nsource = \"/**/*.html\"\n\
         headers = { \"Content-Security-Policy\" = \"default-src 'self'\", \"Cache-Control\" = \"no-store\" }\n\
         [[headers]]\nsource = \"/docs/**\"\nheaders = { \"X-Docs\" = \"yes\" }\n";
    let (s, _) = start(site.path(), conf, &[]);
    // Settled, so the later rounds are answered from the small-file cache.
    std::thread::sleep(Duration::from_millis(2300));
    for round in 0..3 {
        for url in ["/", "/docs/", "/index.html", "/some/deep/link"] {
            let r = get(s.addr, url);
            assert_eq!(r.status, 200, "{url}");
            assert_eq!(
                r.header("content-security-policy"),
                Some("default-src 'self'"),
                "{url}, round {round}"
            );
            assert_eq!(r.header("cache-control"), Some("no-store"), "{url}");
        }
        // The URL's own rules still apply.
        assert_eq!(get(s.addr, "/docs/").header("x-docs"), Some("yes"));
    }
    // A file the rule does not name is untouched.
    let other = get(s.addr, "/assets/app.js");
    assert_eq!(other.header("content-security-policy"), None);
}

/// A symlink inside the root is no way around a rule or the dotfile check: what it leads
/// to answers to its real path's rules too (found by review: `public/alias ->
/// ../private` served the protected files, `gitlink -> .git` the repository).
fn a_symlink_inside_the_root_answers_to_the_rules_of_what_it_leads_to() {
    let site = rules_site();
    let root = site.path();
    write(root, "public/page.txt", b"public page\n");
    write(root, ".git/config", b"[core]\n");
    write(root, "app.html", b"<p>app</p>\n");
    std::os::unix::fs::symlink("../private", root.join("public/alias")).unwrap();
    std::os::unix::fs::symlink("../private/secret.txt", root.join("public/leak.txt")).unwrap();
    std::os::unix::fs::symlink(".git", root.join("gitlink")).unwrap();
    std::os::unix::fs::symlink("page.txt", root.join("public/same.txt")).unwrap();
    // A twin through a link answers to its original's rule (found by review).
    write(root, "rep/report.txt", b"report\n");
    write(root, "rep/report.txt.gz", b"gzipped report");
    std::os::unix::fs::symlink("../rep", root.join("public/rep")).unwrap();
    std::os::unix::fs::symlink("../rep/report.txt.gz", root.join("public/gz.gz")).unwrap();
    let conf = format!(
        "allow_insecure_auth = true\n\
         [[auth]]\nsource = \"/private/**\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n\
         [[auth]]\nsource = \"/rep/report.txt\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n\
         [[headers]]\nsource = \"/private/**\"\nheaders = {{ \"X-Private\" = \"yes\" }}\n"
    );
    let (s, _) = start(root, &conf, &["--listing"]);
    // Settled, so a second round would be answered from the cache if it were cached.
    std::thread::sleep(Duration::from_millis(2300));
    for _ in 0..2 {
        for url in [
            "/private/secret.txt",
            "/public/alias/secret.txt",
            "/public/alias/",
            "/public/alias/index.html",
            "/public/leak.txt",
            "/public/rep/report.txt.gz",
            "/public/gz.gz",
        ] {
            let r = get(s.addr, url);
            assert_eq!(r.status, 401, "{url}");
            assert!(
                !r.text().contains("secret") && !r.text().contains("index"),
                "{url}"
            );
        }
        for url in ["/gitlink/config", "/gitlink/"] {
            assert_eq!(get(s.addr, url).status, 404, "{url}");
        }
        // A link to what no rule covers is served as before.
        let same = get(s.addr, "/public/same.txt");
        assert_eq!((same.status, same.text().as_str()), (200, "public page\n"));
    }
    let alice = "GET /public/alias/secret.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\nConnection: close\r\n\r\n";
    let ok = request(&s, alice);
    assert_eq!((ok.status, ok.text().as_str()), (200, "the secret\n"));
    assert_eq!(ok.header("x-private"), Some("yes"));
}

fn hup(s: &TestServer) {
    let status = Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

tests::register! {
    headers_table,
    redirects_with_captures_table,
    spa_fallback_serves_deep_links_while_missing_png_stays_404,
    auth_covers_every_spelling_of_a_protected_path,
    auth_on_an_index_or_fallback_file_covers_the_urls_that_serve_it,
    auth_on_an_index_file_holds_when_the_cache_serves_it,
    auth_on_a_file_covers_its_precompressed_twins_asked_for_by_name,
    header_rules_of_an_index_or_fallback_file_hold_on_the_urls_that_serve_it,
    a_symlink_inside_the_root_answers_to_the_rules_of_what_it_leads_to,
    sighup_reloads_the_file_and_a_broken_file_keeps_the_old_rules,
}
