//! Request shaping, asserted byte for byte against an echo peer that sends back the exact
//! request it received: every URL form, every HTTPie item, curl's -H/-d, methods, auth,
//! Expect: 100-continue, --offline, and the same items in the REPL.

use std::io::{Read, Write};
use std::process::Output;
use tests::client::{run, Home, Peer};

const UA: &str = concat!("User-Agent: client/", env!("CARGO_PKG_VERSION"), "\r\n");
const AE: &str = "Accept-Encoding: gzip, deflate, br, zstd\r\n";

fn client(args: &[&str], stdin: &[u8]) -> Output {
    run(Home::new().client(args), stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the echo peer received for `client URL ARGS...` (the piped body is the request).
fn sent(peer: &Peer, url_path: &str, args: &[&str]) -> String {
    let url = format!("http://127.0.0.1:{}{url_path}", peer.port);
    let mut all = vec![url.as_str()];
    all.extend_from_slice(args);
    let out = client(&all, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn url_forms_reach_the_right_server_and_path() {
    let peer = Peer::echo();
    let port = peer.port.to_string();
    for (args, target, host) in [
        (
            vec![format!("http://127.0.0.1:{port}/x?y=1#frag")],
            "/x?y=1",
            format!("127.0.0.1:{port}"),
        ),
        (
            vec![format!(":{port}/x")],
            "/x",
            format!("localhost:{port}"),
        ),
        (
            vec![format!("localhost:{port}/a b")],
            "/a%20b",
            format!("localhost:{port}"),
        ),
        (
            vec!["127.0.0.1".into(), port.clone(), "HelloWorld.html".into()],
            "/HelloWorld.html",
            format!("127.0.0.1:{port}"),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = client(&args, b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let want = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{UA}Accept: */*\r\n{AE}\r\n");
        assert_eq!(text(&out.stdout), want, "{args:?}");
    }
}

fn every_item_is_encoded_as_httpie_does() {
    let peer = Peer::echo();
    let host = format!("Host: 127.0.0.1:{}\r\n", peer.port);
    let got = sent(
        &peer,
        "/api",
        &[
            "q==a b",
            "X-Token:abc",
            "X-Empty;",
            "User-Agent:",
            "name=pen",
            "price:=3",
            "tags:=[\"x\"]",
            "a\\:b=c",
        ],
    );
    let body = r#"{"name": "pen", "price": 3, "tags": ["x"], "a:b": "c"}"#;
    assert_eq!(
        got,
        format!(
            "POST /api?q=a+b HTTP/1.1\r\n{host}Accept: application/json, */*;q=0.5\r\n{AE}Content-Type: application/json\r\n\
             X-Token: abc\r\nX-Empty:\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    );
}

fn form_fields_and_curl_flags() {
    let peer = Peer::echo();
    let host = format!("Host: 127.0.0.1:{}\r\n", peer.port);
    let got = sent(
        &peer,
        "/f",
        &["-f", "a=1 2", "b=x&y", "-H", "X-Curl: yes", "-H", "Accept:"],
    );
    assert_eq!(
        got,
        format!(
            "POST /f HTTP/1.1\r\n{host}{UA}{AE}Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
             X-Curl: yes\r\nContent-Length: 13\r\n\r\na=1+2&b=x%26y"
        )
    );
    let got = sent(&peer, "/d", &["-d", "raw text", "-X", "PUT"]);
    assert!(got.starts_with("PUT /d HTTP/1.1\r\n"), "{got}");
    assert!(
        got.ends_with(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nraw text"
        ),
        "{got}"
    );
    let url = format!("http://127.0.0.1:{}/in", peer.port);
    let out = client(&[&url, "-d", "@-"], b"from\x00stdin");
    assert!(
        out.stdout
            .ends_with(b"Content-Length: 10\r\n\r\nfrom\x00stdin"),
        "{}",
        text(&out.stdout)
    );
}

fn file_bodies_are_streamed_with_a_type_from_the_extension() {
    let peer = Peer::echo();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("data.json");
    std::fs::write(&json, b"{\"from\": \"file\"}\n").unwrap();
    let item = format!("@{}", json.display());
    let got = sent(&peer, "/up", &[&item]);
    assert!(got.starts_with("POST /up HTTP/1.1\r\n"), "{got}");
    assert!(
        got.ends_with(
            "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"from\": \"file\"}\n"
        ),
        "{got}"
    );
    let data = format!("@{}", json.display());
    let got = sent(&peer, "/up", &["-d", &data]);
    assert!(
        got.ends_with("Content-Length: 17\r\n\r\n{\"from\": \"file\"}\n"),
        "{got}"
    );
}

fn large_file_bodies_wait_for_100_continue() {
    let peer = Peer::echo();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &data).unwrap();
    let url = format!("http://127.0.0.1:{}/big", peer.port);
    let out = client(&[&url, &format!("@{}", big.display()), "-i"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{}",
        &shown[..200.min(shown.len())]
    );
    assert!(shown.contains("\r\nExpect: 100-continue\r\n"));
    assert!(
        out.stdout.ends_with(&data),
        "the whole file went after the 100"
    );
}

fn a_refusal_before_the_body_is_shown_and_the_body_never_sent() {
    // A server that answers 413 to the head alone: the client must not upload the file.
    let peer = Peer::start(|mut s, _, peer| {
        if peer.read_request(&mut s).is_some() {
            let _ = s.write_all(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large");
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            peer.requests
                .lock()
                .unwrap()
                .push(format!("{} body bytes", rest.len()));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 2 * 1024 * 1024]).unwrap();
    let url = format!("http://127.0.0.1:{}/up", peer.port);
    let out = client(&[&url, &format!("@{}", big.display())], b"");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "too large");
    // The peer logs what followed the head once the client has closed the connection.
    let start = std::time::Instant::now();
    let log = loop {
        let log = peer.requests.lock().unwrap().clone();
        if log.len() == 2 || start.elapsed() > tests::client::HANG_LIMIT {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        log.last().map(String::as_str),
        Some("0 body bytes"),
        "{log:?}"
    );
}

fn methods_auth_and_empty_bodies() {
    let peer = Peer::echo();
    assert!(sent(&peer, "/", &["-X", "PURGE"]).starts_with("PURGE / HTTP/1.1\r\n"));
    assert!(sent(&peer, "/", &["-X", "delete"]).starts_with("DELETE / HTTP/1.1\r\n"));
    let post = sent(&peer, "/", &["-X", "POST"]);
    assert!(
        post.ends_with("Content-Length: 0\r\n\r\n"),
        "RFC 9110 8.6: {post}"
    );
    let basic = sent(&peer, "/", &["-a", "Aladdin:open sesame"]);
    assert!(
        basic.contains("\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"),
        "{basic}"
    );
    let bearer = sent(&peer, "/", &["--bearer", "t0k"]);
    assert!(
        bearer.contains("\r\nAuthorization: Bearer t0k\r\n"),
        "{bearer}"
    );
    let url = format!("http://me:pw@127.0.0.1:{}/", peer.port);
    let out = client(&[&url], b"");
    assert!(text(&out.stdout).contains("\r\nAuthorization: Basic bWU6cHc=\r\n"));
}

fn bad_items_are_refused_before_connecting() {
    let peer = Peer::echo();
    let url = format!("http://127.0.0.1:{}/", peer.port);
    for (item, says) in [
        ("n:={oops", "not valid JSON"),
        ("Bad Name:x", "not a valid header name"),
        ("plain", "is not a request item"),
    ] {
        let out = client(&[&url, item], b"");
        assert_eq!(out.status.code(), Some(1), "{item}");
        assert!(
            text(&out.stderr).contains(says),
            "{item}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(peer.connection_count(), 0, "nothing was sent");
}

fn offline_prints_the_request_and_sends_nothing() {
    let peer = Peer::echo();
    let url = format!("http://127.0.0.1:{}/items", peer.port);
    let out = client(&["--offline", &url, "name=pen"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "POST /items HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{UA}Accept: application/json, */*;q=0.5\r\n{AE}\
             Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{{\"name\": \"pen\"}}",
            peer.port
        )
    );
    assert_eq!(peer.connection_count(), 0);
}

fn repl_commands_take_items_too() {
    let peer = Peer::echo();
    let port = peer.port.to_string();
    let script = "get /api Accept:application/json\npost /items name=pen\nrequest PURGE /cache\noptions /\ndelete /x\n";
    let out = client(&["--body-only", "127.0.0.1", &port], script.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = peer.request_lines();
    assert_eq!(
        lines,
        [
            "GET /api HTTP/1.1",
            "POST /items HTTP/1.1",
            "PURGE /cache HTTP/1.1",
            "OPTIONS / HTTP/1.1",
            "DELETE /x HTTP/1.1"
        ]
    );
    let requests = peer.requests.lock().unwrap().clone();
    assert!(
        requests[0].contains("\r\nAccept: application/json\r\n"),
        "the header is sent, not glued into the path: {}",
        requests[0]
    );
    assert!(text(&out.stdout).contains("Content-Length: 15\r\n\r\n{\"name\": \"pen\"}"));
}

tests::register! {
    url_forms_reach_the_right_server_and_path,
    every_item_is_encoded_as_httpie_does,
    form_fields_and_curl_flags,
    file_bodies_are_streamed_with_a_type_from_the_extension,
    large_file_bodies_wait_for_100_continue,
    a_refusal_before_the_body_is_shown_and_the_body_never_sent,
    methods_auth_and_empty_bodies,
    bad_items_are_refused_before_connecting,
    offline_prints_the_request_and_sends_nothing,
    repl_commands_take_items_too,
}
