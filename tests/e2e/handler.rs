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

/// Open descriptors of process `pid` numbered below `limit` (an inherited descriptor
/// above the limit takes no slot under it).
fn open_fds(pid: u32, limit: usize) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| {
        d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<usize>().ok())
            .filter(|&fd| fd < limit)
            .count()
    })
}

/// Issue 9 item 4: out of descriptors, a folder with an index looked missing (404) and a
/// listing came back empty (200). A request that cannot open what it needs gets 503
/// with Retry-After, and the burst is logged.
fn out_of_descriptors_a_request_gets_503_not_404() {
    const LIMIT: usize = 64;
    let site = tests::server::site();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {LIMIT} && exec '{}' --port 0 --bind 127.0.0.1 --quiet --listing \
             --max-connections 1000 --root '{}'",
            tests::bin::binary("server").display(),
            site.path().display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let addr = tests::server::parse_addr(&line).expect("address in the start-up line");
    let pid = child.id();
    // Idle connections until every descriptor but one is taken, each counted in.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut idle = Vec::new();
    while open_fds(pid, LIMIT) < LIMIT - 1 {
        let before = open_fds(pid, LIMIT);
        idle.push(std::net::TcpStream::connect(addr).unwrap());
        while open_fds(pid, LIMIT) == before {
            assert!(std::time::Instant::now() < end, "connection never accepted");
            std::thread::yield_now();
        }
    }
    // The last descriptor goes to this connection: nothing is left to open a file.
    let mut last = tests::raw::Conn::open(addr);
    while open_fds(pid, LIMIT) < LIMIT {
        assert!(
            std::time::Instant::now() < end,
            "last connection never accepted"
        );
        std::thread::yield_now();
    }
    let mut statuses = Vec::new();
    for path in ["/sub/", "/noindex/", "/HelloWorld.html"] {
        last.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = last.read_response("GET").expect("response");
        statuses.push((path, r.status, r.header("retry-after").map(String::from)));
    }
    // A graceful stop, not SIGKILL: error lines go through a queue, and the exit is
    // what waits for it to be written.
    drop(last);
    drop(idle);
    tests::ops::signal(pid, "TERM");
    let _ = child.wait();
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
    for (path, status, retry) in &statuses {
        assert_eq!(
            (*status, retry.is_some()),
            (503, true),
            "{path}: {statuses:?}"
        );
    }
    assert!(stderr.contains("out of file descriptors"), "{stderr}");
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
    out_of_descriptors_a_request_gets_503_not_404,
    missing_root_is_a_clear_start_up_error,
    port_in_use_is_a_clear_start_up_error,
}
