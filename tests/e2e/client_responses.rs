//! What the client does with responses: redirect chains, loops and their exit code,
//! 303 after POST, credentials dropped across origins, cookies along a chain; content
//! codings decoded (or kept with --raw); piped output byte-exact; JSON on request;
//! downloads through FILE.part, resumed with -C; resets and truncation.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use tests::client::{run, send_and_close, wait_or_kill, Home, Peer};
use tests::server::TestServer;

fn client(args: &[&str]) -> Output {
    run(Home::new().client(args), b"")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A keep-alive peer answering each path from `routes` (path, status line, extra fields,
/// body); anything else is 404.
fn routes(routes: Vec<(&'static str, &'static str, String, Vec<u8>)>) -> Peer {
    Peer::start(move |mut s, _, peer| {
        while let Some(head) = peer.read_request(&mut s) {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            if s.read_exact(&mut body).is_err() {
                return;
            }
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, fields, reply) = match routes.iter().find(|r| r.0 == path) {
                Some((_, status, fields, reply)) => (*status, fields.clone(), reply.clone()),
                None => ("404 Not Found", String::new(), b"nope".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\n{fields}Content-Length: {}\r\n\r\n",
                reply.len()
            );
            if s.write_all(head.as_bytes())
                .and_then(|()| s.write_all(&reply))
                .is_err()
            {
                return;
            }
        }
    })
}

fn to(path: &str) -> String {
    format!("Location: {path}\r\n")
}

fn a_redirect_chain_is_followed_with_l_and_shown_without() {
    let peer = routes(vec![
        ("/a", "301 Moved Permanently", to("/b"), Vec::new()),
        ("/b", "302 Found", to("c"), Vec::new()),
        ("/c", "200 OK", String::new(), b"end".to_vec()),
    ]);
    let url = format!("http://127.0.0.1:{}/a", peer.port);
    let out = client(&["-L", "-v", &url]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "end"),
        "{}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "* 301 Moved Permanently -> http://127.0.0.1:{}/b",
            peer.port
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("* 302 Found -> http://127.0.0.1:{}/c", peer.port)),
        "{err}"
    );
    assert_eq!(peer.connection_count(), 1, "the hops reuse the connection");
    let out = client(&["-i", &url]);
    assert!(
        text(&out.stdout).starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "no -L: the redirect itself"
    );
}

fn loops_and_long_chains_exit_6_with_the_chain() {
    let peer = routes(vec![
        ("/x", "302 Found", to("/y"), Vec::new()),
        ("/y", "302 Found", to("/x"), Vec::new()),
        ("/1", "302 Found", to("/2"), Vec::new()),
        ("/2", "302 Found", to("/3"), Vec::new()),
        ("/3", "302 Found", to("/4"), Vec::new()),
        ("/4", "200 OK", String::new(), b"four".to_vec()),
    ]);
    let base = format!("http://127.0.0.1:{}", peer.port);
    let out = client(&["-L", &format!("{base}/x")]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "redirect loop: {base}/x (302) -> {base}/y (302) -> {base}/x"
        )),
        "{}",
        text(&out.stderr)
    );
    let out = client(&["-L", "--max-redirects", "2", &format!("{base}/1")]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("more than 2 redirects"),
        "{}",
        text(&out.stderr)
    );
    let out = client(&["-L", "--max-redirects", "3", &format!("{base}/1")]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "four")
    );
}

fn see_other_after_post_becomes_a_get_without_body() {
    let peer = routes(vec![
        ("/form", "303 See Other", to("/done"), Vec::new()),
        ("/keep", "307 Temporary Redirect", to("/done"), Vec::new()),
        ("/done", "200 OK", String::new(), b"ok".to_vec()),
    ]);
    let base = format!("http://127.0.0.1:{}", peer.port);
    let out = client(&["-L", &format!("{base}/form"), "name=pen"]);
    assert_eq!(text(&out.stdout), "ok", "{}", text(&out.stderr));
    let out = client(&["-L", &format!("{base}/keep"), "name=ink"]);
    assert_eq!(text(&out.stdout), "ok", "{}", text(&out.stderr));
    let requests = peer.requests.lock().unwrap().clone();
    assert!(requests[0].starts_with("POST /form "), "{requests:?}");
    assert!(
        requests[1].starts_with("GET /done ")
            && !requests[1].to_ascii_lowercase().contains("content-"),
        "{}",
        requests[1]
    );
    assert!(requests[2].starts_with("POST /keep "));
    assert!(
        requests[3].starts_with("POST /done ") && requests[3].contains("Content-Length: 15\r\n"),
        "307 keeps method and body: {}",
        requests[3]
    );
}

fn credentials_are_dropped_when_the_origin_changes() {
    let other = routes(vec![("/there", "200 OK", String::new(), b"other".to_vec())]);
    let home = routes(vec![
        ("/same", "302 Found", to("/here"), Vec::new()),
        ("/here", "200 OK", String::new(), b"here".to_vec()),
        (
            "/away",
            "302 Found",
            to(&format!("http://127.0.0.1:{}/there", other.port)),
            Vec::new(),
        ),
    ]);
    let base = format!("http://127.0.0.1:{}", home.port);
    let creds = ["-a", "me:secret", "Cookie:k=v"];
    let out = client(&[&["-L", &format!("{base}/same")][..], &creds].concat());
    assert_eq!(text(&out.stdout), "here");
    let out = client(&[&["-L", &format!("{base}/away")][..], &creds].concat());
    assert_eq!(text(&out.stdout), "other");
    let home_requests = home.requests.lock().unwrap().clone();
    assert!(
        home_requests[1].contains("Authorization: Basic ")
            && home_requests[1].contains("Cookie: k=v"),
        "same origin keeps them: {}",
        home_requests[1]
    );
    let there = other.requests.lock().unwrap()[0].clone();
    assert!(
        !there.contains("Authorization") && !there.contains("Cookie"),
        "another origin never sees them: {there}"
    );
}

fn cookies_set_along_a_chain_are_sent_on_the_next_hop() {
    let peer = routes(vec![
        (
            "/login",
            "302 Found",
            format!("Set-Cookie: sid=42; Path=/\r\n{}", to("/home")),
            Vec::new(),
        ),
        ("/home", "200 OK", String::new(), b"welcome".to_vec()),
    ]);
    let out = client(&["-L", &format!("http://127.0.0.1:{}/login", peer.port)]);
    assert_eq!(text(&out.stdout), "welcome");
    assert!(peer.requests.lock().unwrap()[1].contains("\r\nCookie: sid=42\r\n"));
}

fn our_server_redirects_a_folder_and_l_follows() {
    let server = TestServer::start();
    let out = client(&["-L", "-v", &server.url("/sub")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("* 301 "),
        "{}",
        text(&out.stderr)
    );
}

fn every_coding_is_decoded_and_raw_keeps_it() {
    let plain = b"decoded text\n".repeat(50);
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&plain).unwrap();
        e.finish().unwrap()
    };
    let deflate = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&plain).unwrap();
        e.finish().unwrap()
    };
    let peer = routes(vec![
        (
            "/gz",
            "200 OK",
            "Content-Encoding: gzip\r\n".into(),
            gzip.clone(),
        ),
        (
            "/deflate",
            "200 OK",
            "Content-Encoding: deflate\r\n".into(),
            deflate,
        ),
        (
            "/bad",
            "200 OK",
            "Content-Encoding: gzip\r\n".into(),
            b"not gzip at all".to_vec(),
        ),
    ]);
    let base = format!("http://127.0.0.1:{}", peer.port);
    for path in ["/gz", "/deflate"] {
        let out = client(&[&format!("{base}{path}")]);
        assert_eq!(out.stdout, plain, "{path}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(0));
    }
    let out = client(&["--raw", &format!("{base}/gz")]);
    assert_eq!(out.stdout, gzip, "--raw keeps the coded bytes");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.txt");
    let out = client(&[&format!("{base}/gz"), "-o", file.to_str().unwrap()]);
    assert_eq!(
        (out.status.code(), std::fs::read(&file).unwrap()),
        (Some(0), plain),
        "-o gets the decoded body"
    );
    let out = client(&[&format!("{base}/bad")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the gzip body could not be decoded"),
        "{}",
        text(&out.stderr)
    );
    assert!(peer.requests.lock().unwrap()[0]
        .contains("\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"));
}

fn our_servers_compressed_and_binary_files_come_out_byte_exact() {
    let server = TestServer::start_with(&["--compress"]);
    let binary: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    tests::server::write(&server.root, "blob.bin", &binary);
    let text_file = "line of text to compress\n".repeat(400);
    tests::server::write(&server.root, "big.txt", text_file.as_bytes());
    let out = client(&[&server.url("/blob.bin")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        out.stdout == binary,
        "piped output must be the file, byte for byte"
    );
    let out = client(&["-i", &server.url("/big.txt")]);
    assert!(
        text(&out.stdout).contains("Content-Encoding: gzip"),
        "the server compressed it"
    );
    let out = client(&[&server.url("/big.txt")]);
    assert_eq!(text(&out.stdout), text_file, "and the client decoded it");
}

fn json_is_indented_on_request_and_invalid_json_is_text() {
    let peer = routes(vec![
        (
            "/j",
            "200 OK",
            "Content-Type: application/json\r\n".into(),
            br#"{"b":[1,2],"a":{}}"#.to_vec(),
        ),
        (
            "/bad",
            "200 OK",
            "Content-Type: application/json\r\n".into(),
            b"{oops".to_vec(),
        ),
    ]);
    let base = format!("http://127.0.0.1:{}", peer.port);
    let out = client(&[&format!("{base}/j")]);
    assert_eq!(
        text(&out.stdout),
        r#"{"b":[1,2],"a":{}}"#,
        "piped: as received"
    );
    let out = client(&["--pretty", "format", &format!("{base}/j")]);
    assert_eq!(
        text(&out.stdout),
        "{\n    \"b\": [\n        1,\n        2\n    ],\n    \"a\": {}\n}\n"
    );
    let out = client(&["--pretty", "all", &format!("{base}/bad")]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "{oops")
    );
    // An explicit --pretty colours a pipe too (HTTPie's rule); --no-color still wins.
    let out = client(&["--pretty", "colors", &format!("{base}/j")]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("\u{1b}[") && shown.contains("\"b\""),
        "{shown:?}"
    );
    let out = client(&["--pretty", "colors", "--no-color", &format!("{base}/j")]);
    assert_eq!(text(&out.stdout), r#"{"b":[1,2],"a":{}}"#);
}

fn output_file_is_replaced_only_when_the_body_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keep.txt");
    std::fs::write(&file, "precious").unwrap();
    // Nothing listens: the file must be untouched, not truncated.
    let port = tests::client::free_port();
    let out = client(&[
        &format!("http://127.0.0.1:{port}/x"),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    // A cut transfer leaves it too, and keeps what came in FILE.part.
    let peer = Peer::start(|mut s, _, peer| {
        if peer.read_request(&mut s).is_some() {
            send_and_close(
                &mut s,
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part",
            );
        }
    });
    let out = client(&[
        &format!("http://127.0.0.1:{}/x", peer.port),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt.part")).unwrap(),
        "only part"
    );
    assert!(
        text(&out.stderr).contains("run again with -C to resume"),
        "{}",
        text(&out.stderr)
    );
    // An error page is shown, not saved.
    let out = client(&[
        &format!("http://127.0.0.1:{}/missing", routes(Vec::new()).port),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(4), "nope")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
}

/// Review finding: a download killed mid-way left its `.part` dated by its last write,
/// so `-C` sent an If-Range the server could never match and fetched it all again.
fn a_killed_download_keeps_the_validator_continue_resumes_with() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let modified = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let last_modified = shared::wire::date::format_http_date(modified);
    // A peer that sends the head and 40,000 bytes, then holds the connection open.
    let (head_data, lm) = (data.clone(), last_modified.clone());
    let peer = Peer::start(move |mut s, _, peer| {
        if peer.read_request(&mut s).is_none() {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: {lm}\r\n\r\n",
            head_data.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&head_data[..40_000]);
        let mut sink = [0u8; 64];
        let _ = s.read(&mut sink);
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let part = dir.path().join("big.bin.part");
    let url = format!("http://127.0.0.1:{}/big.bin", peer.port);
    let mut child = std::process::Command::new(tests::client::client_bin())
        .args(["-o", file.to_str().unwrap(), &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < 40_000 {
        assert!(
            std::time::Instant::now() < end,
            "the body never reached the .part file"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stamped = std::fs::metadata(&part).unwrap().modified().unwrap();
    assert_eq!(
        shared::wire::date::format_http_date(stamped),
        last_modified,
        "the .part file is dated as the server's Last-Modified"
    );
    // Our server, with the same file and date, resumes it: 206 and the whole file.
    let server = TestServer::start();
    tests::server::write(&server.root, "big.bin", &data);
    std::fs::File::options()
        .write(true)
        .open(server.root.join("big.bin"))
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let out = client(&[
        "-v",
        "-C",
        "-o",
        file.to_str().unwrap(),
        &server.url("/big.bin"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::read(&file).unwrap() == data,
        "the resumed file is whole"
    );
    // Resumed, not fetched again: the access log shows a 206 of the 60,000 bytes left.
    let logged = server
        .wait_for_stdout("GET /big.bin HTTP/1.1", std::time::Duration::from_secs(20))
        .expect("an access-log line");
    assert!(logged.contains("\" 206 60000"), "{logged}");
}

fn continue_resumes_with_range_and_if_range() {
    let server = TestServer::start();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    tests::server::write(&server.root, "big.bin", &data);
    // An hour old, so its Last-Modified is a strong validator (RFC 9110, the section on
    // Last-Modified comparisons).
    let modified = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(server.root.join("big.bin"))
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let part = dir.path().join("big.bin.part");
    // A partial download from before, stamped with the server's Last-Modified.
    std::fs::write(&part, &data[..70_000]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&part)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let out = client(&[
        "-v",
        "-C",
        "-o",
        file.to_str().unwrap(),
        &server.url("/big.bin"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("\r\nRange: bytes=70000-\r\n") && err.contains("\r\nIf-Range: "),
        "{err}"
    );
    assert!(
        std::fs::read(&file).unwrap() == data,
        "the resumed file is whole"
    );
    assert!(!part.exists(), "FILE.part became FILE");
    // A partial file from another version: If-Range fails, the whole body comes again.
    std::fs::write(&part, b"stale bytes of an older version").unwrap();
    let out = client(&["-C", "-o", file.to_str().unwrap(), &server.url("/big.bin")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read(&file).unwrap() == data);
    // Already complete: nothing to fetch.
    let out = client(&["-C", "-o", file.to_str().unwrap(), &server.url("/big.bin")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already complete"),
        "{}",
        text(&out.stderr)
    );
}

fn a_reset_ends_a_close_delimited_body_as_a_truncation() {
    // The peer leaves the request unread, so closing sends a TCP reset (RST).
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let peer = Peer::start(move |mut s: TcpStream, _, _| {
        let mut first = [0u8; 1];
        let _ = s.read(&mut first);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npartial");
        let _ = rx.lock().unwrap().recv();
        drop(s);
    });
    let mut child = Home::new()
        .client(&["-i", &format!("http://127.0.0.1:{}/", peer.port)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.ends_with(b"partial") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the client ended before showing the body: {}",
            text(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    tx.send(()).unwrap();
    let out = wait_or_kill(child);
    assert!(
        text(&out.stderr).contains("the connection was reset"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a reset is a truncation, not success"
    );
}

fn print_chooses_the_parts_shown() {
    let peer = routes(vec![(
        "/p",
        "200 OK",
        "X-Mark: 1\r\n".into(),
        b"the body".to_vec(),
    )]);
    let url = format!("http://127.0.0.1:{}/p", peer.port);
    let out = client(&["--print", "h", &url]);
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\r\nX-Mark: 1\r\nContent-Length: 8\r\n\r\n"
    );
    let out = client(&["--print", "hb", &url]);
    assert!(
        text(&out.stdout).ends_with("\r\n\r\nthe body"),
        "{}",
        text(&out.stdout)
    );
    let out = client(&["--print", "Hb", &url]);
    assert_eq!(text(&out.stdout), "the body");
    assert!(
        text(&out.stderr).starts_with("GET /p HTTP/1.1\r\n"),
        "the request goes to stderr: {}",
        text(&out.stderr)
    );
}

fn our_servers_brotli_and_zstd_twins_are_decoded() {
    let server = TestServer::start();
    let plain = "twin text, precompressed\n".repeat(200);
    tests::server::write(&server.root, "doc.txt", plain.as_bytes());
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut plain.as_bytes(), &mut br, &Default::default()).unwrap();
    tests::server::write(&server.root, "doc.txt.br", &br);
    let zst = ruzstd::encoding::compress_to_vec(
        plain.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    tests::server::write(&server.root, "doc.txt.zst", &zst);
    for coding in ["br", "zstd"] {
        let accept = format!("Accept-Encoding:{coding}");
        let out = client(&["-i", &server.url("/doc.txt"), &accept]);
        assert!(
            text(&out.stdout).contains(&format!("Content-Encoding: {coding}\r\n")),
            "{coding}: {}",
            text(&out.stderr)
        );
        let out = client(&[&server.url("/doc.txt"), &accept]);
        assert_eq!(
            (out.status.code(), text(&out.stdout)),
            (Some(0), plain.clone()),
            "{coding}: {}",
            text(&out.stderr)
        );
        let out = client(&["--raw", &server.url("/doc.txt"), &accept]);
        let coded = if coding == "br" { &br } else { &zst };
        assert!(&out.stdout == coded, "--raw keeps the {coding} bytes");
    }
}

tests::register! {
    print_chooses_the_parts_shown,
    our_servers_brotli_and_zstd_twins_are_decoded,
    a_redirect_chain_is_followed_with_l_and_shown_without,
    loops_and_long_chains_exit_6_with_the_chain,
    see_other_after_post_becomes_a_get_without_body,
    credentials_are_dropped_when_the_origin_changes,
    cookies_set_along_a_chain_are_sent_on_the_next_hop,
    our_server_redirects_a_folder_and_l_follows,
    every_coding_is_decoded_and_raw_keeps_it,
    our_servers_compressed_and_binary_files_come_out_byte_exact,
    json_is_indented_on_request_and_invalid_json_is_text,
    output_file_is_replaced_only_when_the_body_is_whole,
    continue_resumes_with_range_and_if_range,
    a_killed_download_keeps_the_validator_continue_resumes_with,
    a_reset_ends_a_close_delimited_body_as_a_truncation,
}
