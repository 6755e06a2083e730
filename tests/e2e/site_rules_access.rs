//! Site rules that decide who gets in, with real clients: curl's CORS preflight and
//! `-u` Basic auth, wrong passwords rate-limited, and headless Chromium doing a real
//! cross-origin `fetch()` between two servers on two loopback ports.

use crate::site_rules::{rules_site, start, ALICE_HASH};
use std::process::Command;
use tests::server::{write, TestServer};

/// Runs curl with `args`; returns its stdout (headers with `-i`).
fn curl(args: &[&str]) -> String {
    let out = Command::new(tests::tools::program("curl"))
        .args(["-s", "--max-time", "20"])
        .args(args)
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `name` in a `curl -i` dump (first line of that name).
fn field<'a>(dump: &'a str, name: &str) -> Option<&'a str> {
    dump.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn status(dump: &str) -> &str {
    dump.lines().next().unwrap_or("").trim()
}

fn cors_config(origin: &str) -> String {
    format!(
        r#"
[[cors]]
source = "/api/**"
allow_origins = ["{origin}"]
allow_methods = ["GET", "PUT"]
allow_headers = ["Content-Type"]
max_age = 600
"#
    )
}

fn curl_cors_preflight_gets_204_with_the_access_control_fields() {
    let site = rules_site();
    let (s, _) = start(site.path(), &cors_config("http://127.0.0.1:8080"), &[]);
    let url = s.url("/api/items.json");
    let pre = curl(&[
        "-i",
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://127.0.0.1:8080",
        "-H",
        "Access-Control-Request-Method: PUT",
        "-H",
        "Access-Control-Request-Headers: content-type",
        &url,
    ]);
    assert_eq!(status(&pre), "HTTP/1.1 204 No Content", "{pre}");
    for (name, want) in [
        ("access-control-allow-origin", "http://127.0.0.1:8080"),
        ("access-control-allow-methods", "GET, PUT"),
        ("access-control-allow-headers", "Content-Type"),
        ("access-control-max-age", "600"),
        ("vary", "Origin"),
    ] {
        assert_eq!(field(&pre, name), Some(want), "{name} in {pre}");
    }
    assert_eq!(
        field(&pre, "content-length"),
        None,
        "a 204 has no Content-Length"
    );
    // A refused origin: still 204, with no Access-Control-* the browser could accept.
    let refused = curl(&[
        "-i",
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://evil.example",
        "-H",
        "Access-Control-Request-Method: PUT",
        &url,
    ]);
    assert_eq!(status(&refused), "HTTP/1.1 204 No Content");
    assert_eq!(
        field(&refused, "access-control-allow-origin"),
        None,
        "{refused}"
    );
    // The actual request carries the origin; a path outside the rule does not.
    let actual = curl(&["-i", "-H", "Origin: http://127.0.0.1:8080", &url]);
    assert_eq!(
        field(&actual, "access-control-allow-origin"),
        Some("http://127.0.0.1:8080")
    );
    assert!(
        field(&actual, "vary").is_some_and(|v| v.contains("Origin")),
        "{actual}"
    );
    let outside = curl(&[
        "-i",
        "-H",
        "Origin: http://127.0.0.1:8080",
        &s.url("/HelloWorld.html"),
    ]);
    assert_eq!(field(&outside, "access-control-allow-origin"), None);
    // Without a rule, OPTIONS stays what it was.
    let plain = curl(&[
        "-i",
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://127.0.0.1:8080",
        "-H",
        "Access-Control-Request-Method: PUT",
        &s.url("/HelloWorld.html"),
    ]);
    assert_eq!(status(&plain), "HTTP/1.1 405 Method Not Allowed");
}

fn curl_basic_auth_with_u_gets_in_and_wrong_passwords_do_not() {
    let site = rules_site();
    let conf = format!(
        "allow_insecure_auth = true\n[[auth]]\nsource = \"/private/**\"\nrealm = \"members\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n"
    );
    let (s, _) = start(site.path(), &conf, &[]);
    let url = s.url("/private/secret.txt");
    let none = curl(&["-i", &url]);
    assert_eq!(status(&none), "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        field(&none, "www-authenticate"),
        Some("Basic realm=\"members\", charset=\"UTF-8\"")
    );
    let right = curl(&["-i", "-u", "alice:wonderland", &url]);
    assert_eq!(status(&right), "HTTP/1.1 200 OK", "{right}");
    assert!(right.ends_with("the secret\n"), "{right}");
    let index = curl(&["-u", "alice:wonderland", &s.url("/private/")]);
    assert_eq!(index, "<p>private index</p>\n");
    for wrong in ["alice:Wonderland", "bob:wonderland", "alice:"] {
        let r = curl(&["-i", "-u", wrong, &url]);
        assert_eq!(status(&r), "HTTP/1.1 401 Unauthorized", "{wrong}");
        assert!(!r.contains("the secret"));
    }
}

fn wrong_passwords_are_rate_limited_per_address() {
    let site = rules_site();
    let conf = format!(
        "allow_insecure_auth = true\n[[auth]]\nsource = \"/private/**\"\nusers = {{ alice = \"{ALICE_HASH}\" }}\n"
    );
    let (s, _) = start(site.path(), &conf, &[]);
    let url = s.url("/private/secret.txt");
    // The server's limit (server::rules::limiter::MAX_FAILED_ATTEMPTS) is 10 a minute.
    for i in 0..10 {
        let r = curl(&["-i", "-u", &format!("alice:guess{i}"), &url]);
        assert_eq!(status(&r), "HTTP/1.1 401 Unauthorized", "attempt {i}");
    }
    let limited = curl(&["-i", "-u", "alice:guess-again", &url]);
    assert_eq!(
        status(&limited),
        "HTTP/1.1 429 Too Many Requests",
        "{limited}"
    );
    let wait: u64 = field(&limited, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // Even the right password waits: guessing cannot go on in the meantime.
    let right = curl(&["-i", "-u", "alice:wonderland", &url]);
    assert_eq!(status(&right), "HTTP/1.1 429 Too Many Requests");
    // Paths outside the rule are not limited.
    assert_eq!(
        status(&curl(&["-i", &s.url("/HelloWorld.html")])),
        "HTTP/1.1 200 OK"
    );
}

/// The page on the first server fetches JSON from the second with a header that needs a
/// preflight, and writes what happened into the DOM.
fn cross_origin_page(api: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><body><p id="out">pending</p><script>
fetch("{api}", {{ headers: {{ "Content-Type": "application/json" }} }})
  .then(r => r.text())
  .then(t => {{ document.getElementById("out").textContent = "ALLOWED " + t.trim(); }})
  .catch(e => {{ document.getElementById("out").textContent = "REFUSED " + e.name; }});
</script></body></html>"#
    )
}

fn chromium_cross_origin_fetch_is_allowed_and_refused_by_the_cors_rule() {
    let chromium = tests::tools::program("chromium");
    // The page's server (no rules).
    let pages = tests::server::site();
    let page_server = TestServer::start_in(pages.path(), &["--quiet"]);
    let page_origin = format!("http://{}", page_server.addr);
    // An API server that allows the page's origin, and one that allows another.
    let allowing_site = rules_site();
    let (allowing, _) = start(allowing_site.path(), &cors_config(&page_origin), &[]);
    let refusing_site = rules_site();
    let (refusing, _) = start(
        refusing_site.path(),
        &cors_config("http://127.0.0.1:1"),
        &[],
    );
    write(
        pages.path(),
        "allowed.html",
        cross_origin_page(&allowing.url("/api/items.json")).as_bytes(),
    );
    write(
        pages.path(),
        "refused.html",
        cross_origin_page(&refusing.url("/api/items.json")).as_bytes(),
    );

    let dom = crate::browser::dump_dom_after_scripts(&chromium, &page_server.url("/allowed.html"));
    assert!(dom.contains("ALLOWED {\"items\":[1,2]}"), "{dom}");
    let dom = crate::browser::dump_dom_after_scripts(&chromium, &page_server.url("/refused.html"));
    assert!(dom.contains("REFUSED TypeError"), "{dom}");
    // Refused by CORS, not by a network failure: the second server answered the preflight.
    let asked = refusing.wait_for_stdout(
        "\"OPTIONS /api/items.json",
        std::time::Duration::from_secs(10),
    );
    assert!(
        asked.is_some(),
        "no preflight reached the refusing server: {:?}",
        refusing.stdout_lines()
    );
}

tests::register! {
    #[needs("curl")] curl_cors_preflight_gets_204_with_the_access_control_fields,
    #[needs("curl")] curl_basic_auth_with_u_gets_in_and_wrong_passwords_do_not,
    #[needs("curl")] wrong_passwords_are_rate_limited_per_address,
    #[needs("chromium")] chromium_cross_origin_fetch_is_allowed_and_refused_by_the_cors_rule,
}
