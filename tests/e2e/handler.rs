//! The handler's pipeline end to end: files, types, directories, redirects, dotfiles,
//! methods and 404 pages.

use tests::raw::{exchange, get};
use tests::server::{write, TestServer};

fn serves_files_byte_for_byte_with_type_length_and_date() {
    let server = TestServer::start();
    let r = get(server.addr, "/HelloWorld.html");
    assert_eq!(r.status, 200);
    let on_disk = std::fs::read(server.root.join("HelloWorld.html")).unwrap();
    assert_eq!(r.body, on_disk);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.header("content-length"),
        Some(on_disk.len().to_string().as_str())
    );
    assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
    assert!(r
        .header("last-modified")
        .is_some_and(|d| d.ends_with(" GMT")));
    assert!(r.header("server").is_some());
    assert_eq!(
        get(server.addr, "/style.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
}

fn missing_files_get_404_with_an_html_body() {
    let server = TestServer::start();
    let r = get(server.addr, "/no/such/file.html");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("<h1>404 Not Found</h1>"), "{}", r.text());
}

fn directories_serve_their_index_or_redirect_to_the_slash() {
    let server = TestServer::start();
    let root = get(server.addr, "/");
    assert_eq!(root.status, 200);
    assert!(root.text().contains("HelloWorld.html"));

    let r = get(server.addr, "/sub");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/sub/"));
    let r = get(server.addr, "/sub?x=1");
    assert_eq!(r.header("location"), Some("/sub/?x=1"));
    let r = get(server.addr, "/sub/");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("sub index"));
    // No index and no listing: 404.
    assert_eq!(get(server.addr, "/noindex/").status, 404);
}

fn redirect_location_can_never_point_at_another_host() {
    let server = TestServer::start();
    write(&server.root, "evil.example/index.html", b"x");
    // Every spelling of the folder redirects to the one local path; an encoded slash is
    // refused outright.
    for (target, status, location) in [
        ("//evil.example", 301, Some("/evil.example/")),
        ("///evil.example", 301, Some("/evil.example/")),
        ("/./evil.example", 301, Some("/evil.example/")),
        ("/%2fevil.example", 400, None),
    ] {
        let r = get(server.addr, target);
        assert_eq!(
            (r.status, r.header("location")),
            (status, location),
            "{target}"
        );
    }
}

fn names_with_spaces_and_unicode_are_served() {
    let server = TestServer::start();
    assert_eq!(get(server.addr, "/with%20space.txt").text(), "space\n");
    assert_eq!(get(server.addr, "/caf%C3%A9.txt").text(), "cafe\n");
}

fn dotfiles_are_hidden_except_well_known() {
    let server = TestServer::start();
    assert_eq!(get(server.addr, "/.hidden").status, 404);
    assert_eq!(get(server.addr, "/.git/config").status, 404);
    assert_eq!(get(server.addr, "/%2ehidden").status, 404);
    assert_eq!(get(server.addr, "/.well-known/security.txt").status, 200);

    let open = TestServer::start_with(&["--dotfiles"]);
    assert_eq!(get(open.addr, "/.hidden").text(), "secret dotfile\n");
}

fn other_methods_get_405_with_allow() {
    let server = TestServer::start();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let req =
            format!("{method} /HelloWorld.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        let r = exchange(server.addr, req.as_bytes()).expect("response");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
}

fn fifos_and_other_special_files_are_not_served() {
    let server = TestServer::start();
    let fifo = server.root.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Must answer promptly (not block opening the FIFO) and not serve it.
    assert_eq!(get(server.addr, "/pipe").status, 404);
    assert_eq!(get(server.addr, "/HelloWorld.html").status, 200);
}

fn missing_root_is_a_clear_start_up_error() {
    let out = std::process::Command::new(tests::bin::binary("server"))
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--root",
            "/definitely/not/here",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("server: error: root folder '/definitely/not/here' not found"),
        "{err}"
    );
}

fn port_in_use_is_a_clear_start_up_error() {
    let server = TestServer::start();
    let out = std::process::Command::new(tests::bin::binary("server"))
        .args([
            "--port",
            &server.addr.port().to_string(),
            "--bind",
            "127.0.0.1",
            "--root",
        ])
        .arg(&server.root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}

tests::register! {
    serves_files_byte_for_byte_with_type_length_and_date,
    missing_files_get_404_with_an_html_body,
    directories_serve_their_index_or_redirect_to_the_slash,
    redirect_location_can_never_point_at_another_host,
    names_with_spaces_and_unicode_are_served,
    dotfiles_are_hidden_except_well_known,
    other_methods_get_405_with_allow,
    fifos_and_other_special_files_are_not_served,
    missing_root_is_a_clear_start_up_error,
    port_in_use_is_a_clear_start_up_error,
}
