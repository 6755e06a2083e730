//! Folder listings (`--listing`), custom 404 pages, `--index` and `--cache-control`.

use tests::raw::{exchange, get, Response};
use tests::server::{write, TestServer};

fn req(server: &TestServer, path: &str, extra: &str) -> Response {
    exchange(
        server.addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
    .expect("response")
}

fn listing_is_html_escaped_encoded_sorted_and_hides_dotfiles() {
    let site = tests::server::site();
    let root = site.path();
    write(root, "files/b.txt", b"bb");
    write(root, "files/A.txt", b"a");
    write(root, "files/<script>alert(1)</script>.txt", b"x");
    write(root, "files/100% & more?#.txt", b"x");
    write(root, "files/.secret", b"x");
    write(root, "files/zdir/x", b"x");
    std::os::unix::fs::symlink("/etc", root.join("files/etc-link")).unwrap();
    let server = TestServer::start_in(root, &["--quiet", "--listing"]);
    let r = get(server.addr, "/files/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = r.text();
    assert!(!html.contains("<script>alert"), "unescaped name");
    assert!(html.contains("&lt;script&gt;"));
    assert!(
        html.contains("href=\"100%25%20%26%20more%3F%23.txt\""),
        "{html}"
    );
    assert!(!html.contains(".secret"));
    assert!(
        !html.contains("etc-link"),
        "a link leading out of the root is listed"
    );
    let (a, b, z) = (
        html.find("A.txt").unwrap(),
        html.find("b.txt").unwrap(),
        html.find("zdir/").unwrap(),
    );
    assert!(z < a && a < b, "folders first, then names");
    // The links work.
    assert_eq!(
        get(server.addr, "/files/100%25%20%26%20more%3F%23.txt").status,
        200
    );

    let json = req(&server, "/files/", "Accept: application/json\r\n");
    assert_eq!(json.header("content-type"), Some("application/json"));
    let text = json.text();
    assert!(text.contains("\"name\":\"b.txt\""), "{text}");
    assert!(text.contains("\"type\":\"directory\""));
    assert_eq!(
        get(server.addr, "/files/?format=json").header("content-type"),
        Some("application/json")
    );

    // Without --listing the folder is a 404; with --dotfiles the dotfile is listed.
    let off = TestServer::start_in(root, &["--quiet"]);
    assert_eq!(get(off.addr, "/files/").status, 404);
    let dots = TestServer::start_in(root, &["--quiet", "--listing", "--dotfiles"]);
    assert!(get(dots.addr, "/files/").text().contains(".secret"));
}

fn a_root_404_html_is_used_for_missing_files() {
    let site = tests::server::site();
    write(site.path(), "404.html", b"<h1>Custom missing page</h1>");
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let r = get(server.addr, "/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "<h1>Custom missing page</h1>");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
}

fn index_and_cache_control_flags() {
    let site = tests::server::site();
    write(site.path(), "docs/default.htm", b"default page");
    let server = TestServer::start_in(
        site.path(),
        &[
            "--quiet",
            "--index",
            "index.html,default.htm",
            "--cache-control",
            "public, max-age=60",
        ],
    );
    let r = get(server.addr, "/docs/");
    assert_eq!(r.text(), "default page");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(get(server.addr, "/").status, 200);
}

fn listings_have_a_validator_and_honour_preconditions() {
    let site = tests::server::site();
    write(site.path(), "files/a.txt", b"a");
    // A name no URL can reach (control character) is not linked.
    write(site.path(), "files/tab\there.txt", b"x");
    let server = TestServer::start_in(site.path(), &["--quiet", "--listing"]);
    let r = get(server.addr, "/files/");
    assert!(!r.text().contains("here.txt"), "{}", r.text());
    let etag = r.header("etag").expect("listing ETag").to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(
        req(&server, "/files/", &format!("If-None-Match: {etag}\r\n")).status,
        304
    );
    assert_eq!(req(&server, "/files/", "If-None-Match: *\r\n").status, 304);
    assert_eq!(req(&server, "/files/", "If-Match: \"x\"\r\n").status, 412);
    // A new file changes the listing and its validator.
    write(site.path(), "files/b.txt", b"b");
    let r = req(&server, "/files/", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("b.txt"));
}

/// Issue 9 item 19: a folder without an index gave a bare 404 with no hint, though the
/// server knows it is a folder.
fn a_folder_without_index_says_listings_are_off_and_how_to_turn_them_on() {
    let server = TestServer::start_with(&["--quiet"]);
    let r = req(&server, "/noindex/", "");
    assert_eq!(r.status, 404);
    let text = r.text();
    assert!(text.contains("no index file (index.html)"), "{text}");
    assert!(text.contains("listings are off"), "{text}");
    assert!(text.contains("--listing"), "{text}");
    // A missing file keeps the plain page.
    let missing = req(&server, "/nothing-here", "");
    assert_eq!(missing.status, 404);
    assert!(!missing.text().contains("--listing"), "{}", missing.text());
}

/// Issue 9 item 5: dotfiles counted toward the 10,000-entry cap (40,000 dotfiles and
/// 100 files listed 14 of the 100), and a cut listing said nothing.
fn listing_limits_count_shown_entries_and_a_cut_listing_says_so() {
    let site = tests::server::site();
    let hidden = site.path().join("hidden");
    let big = site.path().join("big");
    std::fs::create_dir_all(&hidden).unwrap();
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..10_050 {
        std::fs::write(hidden.join(format!(".dot{i}")), "").unwrap();
    }
    for i in 0..100 {
        std::fs::write(hidden.join(format!("file{i}")), "").unwrap();
    }
    for i in 0..10_005 {
        std::fs::write(big.join(format!("f{i}")), "").unwrap();
    }
    let server = TestServer::start_in(site.path(), &["--quiet", "--listing"]);
    let json = |path: &str| -> serde_json::Value {
        let r = req(&server, path, "Accept: application/json\r\n");
        assert_eq!(r.status, 200, "{path}");
        serde_json::from_slice(&r.body).expect("JSON listing")
    };
    let all = json("/hidden/");
    assert_eq!(all["entries"].as_array().unwrap().len(), 100);
    assert_eq!(all["truncated"], false);
    let cut = json("/big/");
    assert_eq!(cut["entries"].as_array().unwrap().len(), 10_000);
    assert_eq!(
        (&cut["truncated"], &cut["omitted"]),
        (&true.into(), &5.into())
    );
    let html = req(&server, "/big/", "").text();
    assert!(
        html.contains("5 more entries not shown"),
        "{}",
        &html[html.len() - 300..]
    );
}

tests::register! {
    listing_limits_count_shown_entries_and_a_cut_listing_says_so,
    a_folder_without_index_says_listings_are_off_and_how_to_turn_them_on,
    listing_is_html_escaped_encoded_sorted_and_hides_dotfiles,
    a_root_404_html_is_used_for_missing_files,
    index_and_cache_control_flags,
    listings_have_a_validator_and_honour_preconditions,
}
