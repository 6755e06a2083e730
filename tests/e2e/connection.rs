//! Keep-alive, pipelining, HTTP/1.0 rules, timeouts and the access log, over real sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tests::raw::Conn;
use tests::server::TestServer;

fn http11_keeps_the_connection_alive() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    for _ in 0..5 {
        c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response("GET").expect("response");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
}

fn connection_close_is_honoured() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.read_response("GET").expect("response");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

fn http10_closes_unless_keep_alive_is_asked() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.0\r\n\r\n");
    let r = c.read_response("GET").expect("response");
    assert_eq!(r.status, 200);
    assert!(c.is_closed());

    let mut c = Conn::open(server.addr);
    for _ in 0..3 {
        c.send(b"GET /HelloWorld.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.read_response("GET").expect("response");
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
}

fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    let mut batch = Vec::new();
    let paths = [
        "/HelloWorld.html",
        "/style.css",
        "/missing",
        "/sub/page.txt",
        "/",
        "/HelloWorld.html",
    ];
    for p in paths {
        batch.extend_from_slice(format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    batch.extend_from_slice(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.send(&batch);
    let want = [
        (200, "Hello, World!"),
        (200, "color"),
        (404, "404"),
        (200, "plain text"),
        (200, "hello"),
        (200, "Hello, World!"),
    ];
    for (status, text) in want {
        let r = c.read_response("GET").expect("pipelined response");
        assert_eq!(r.status, status);
        assert!(r.text().contains(text), "{text} in {}", r.text());
    }
    let head = c.read_response("HEAD").expect("HEAD response");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("23"));
    assert!(c.is_closed(), "no body after HEAD and then close");
}

fn head_has_the_same_headers_and_no_body() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    let get = c.read_response("GET").expect("GET");
    c.send(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let head = c.read_response("HEAD").expect("HEAD");
    let strip = |r: &tests::raw::Response| {
        r.headers
            .iter()
            .filter(|(n, _)| n != "Date" && n != "Connection")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&get), strip(&head));
    assert!(c.read_to_close().is_empty(), "HEAD sent a body");
}

fn idle_connection_gets_no_408_but_a_stalled_head_does() {
    let server = TestServer::start_with(&["--head-timeout", "1"]);
    // Silent connection: closed without a response.
    let mut silent = TcpStream::connect(server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let start = Instant::now();
    silent.read_to_end(&mut buf).unwrap();
    assert!(buf.is_empty());
    assert!(start.elapsed() < Duration::from_secs(9));

    // A trickled head is cut at the absolute deadline with 408, even while bytes arrive.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut got = Vec::new();
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            break;
        }
    }
    let _ = slow.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
}

fn keep_alive_timeout_closes_idle_connections() {
    let server = TestServer::start_with(&["--keep-alive-timeout", "1"]);
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
    let start = Instant::now();
    assert!(c.is_closed());
    assert!(start.elapsed() < Duration::from_secs(8));
}

fn max_requests_per_connection_closes_after_the_last() {
    let server = TestServer::start_with(&["--max-requests", "2"]);
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        c.read_response("GET")
            .and_then(|r| r.header("connection").map(String::from)),
        None
    );
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response("GET").expect("second");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

fn access_log_has_one_common_log_format_line_per_request() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    let line = server
        .wait_for_stdout(
            "\"GET /HelloWorld.html?x=1 HTTP/1.1\"",
            Duration::from_secs(5),
        )
        .expect("access log line");
    let len = r.body.len();
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(line.ends_with(&format!("\" 200 {len}")), "{line}");
    // HEAD sends no body, and the log says so.
    c.send(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("HEAD").map(|r| r.status), Some(200));
    let head = server
        .wait_for_stdout("\"HEAD /style.css HTTP/1.1\"", Duration::from_secs(5))
        .expect("logged");
    assert!(head.ends_with("\" 200 0"), "{head}");
    // Control characters cannot forge a second line.
    c.send(b"GET /a%0d%0aforged HTTP/1.1\r\nHost: x\r\n\r\n");
    let _ = c.read_response("GET");
    let bad = server
        .wait_for_stdout("forged", Duration::from_secs(5))
        .expect("logged");
    assert!(bad.starts_with("127.0.0.1 - - ["), "{bad}");
}

fn quiet_turns_the_access_log_off() {
    let mut server = TestServer::start_with(&["--quiet"]);
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
    // Once it has exited and its stdout is read to the end, all it printed is known.
    assert_eq!(server.stop(), Some(0));
    let lines = server.stdout_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("Serving "), "{lines:?}");
}

fn a_stalled_stdout_never_blocks_the_server() {
    // Nobody reads the server's stdout: the pipe fills after a few hundred log lines.
    let site = tests::server::site();
    let mut child = std::process::Command::new(tests::bin::binary("server"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--root"])
        .arg(site.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 256];
    let n = stdout.read(&mut first).unwrap();
    let line = String::from_utf8_lossy(&first[..n]).into_owned();
    let addr = tests::server::parse_addr(&line).expect("address in the start-up line");
    // Far more requests than a 64 KiB pipe holds log lines for, each with a long target.
    let long = "x".repeat(1000);
    let mut c = Conn::open(addr);
    for i in 0..3000 {
        c.send(format!("GET /HelloWorld.html?{long}{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = c
            .read_response("GET")
            .unwrap_or_else(|| panic!("request {i} got no answer"));
        assert_eq!(r.status, 200);
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(stdout);
}

/// Finding 3: a GET announcing a body it never sent got no response at all and no log
/// line once the body's deadline passed: it gets 408 with `Connection: close`, logged.
fn a_body_that_never_arrives_gets_408_and_a_log_line() {
    let server = TestServer::start_with(&["--head-timeout", "1"]);
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    let r = c
        .read_response("GET")
        .expect("a response, not a bare close");
    assert_eq!(r.status, 408);
    assert_eq!(r.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(
        c.stream.read_to_end(&mut rest).ok(),
        Some(0),
        "EOF after the 408"
    );
    let line = server
        .wait_for_stdout("\"GET /HelloWorld.html HTTP/1.1\"", Duration::from_secs(10))
        .expect("access log line");
    assert!(line.contains("\" 408 "), "{line}");
}

/// A request sent with the client's FIN right behind it (`printf ... | nc -N`): both
/// arrive before the server reads, in one readiness report. The server answers and
/// closes at once, not at the keep-alive or head timeout (the read of the request was
/// short, which must not hide the end of the stream that came with it).
fn a_request_followed_by_fin_is_answered_and_closed_at_once() {
    let server = TestServer::start_with(&["--threads", "1", "--keep-alive-timeout", "60"]);
    for sent in [
        &b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        // A head cut short by the FIN: nothing to answer, closed at once all the same.
        &b"GET /HelloWorld.html HTTP/1.1\r\nHo"[..],
    ] {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(sent).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let start = Instant::now();
        let mut got = Vec::new();
        let read = stream.read_to_end(&mut got);
        let waited = start.elapsed();
        assert!(
            read.is_ok(),
            "no end of stream within 10 s after {:?}: {read:?}",
            String::from_utf8_lossy(sent)
        );
        assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
        if sent.ends_with(b"\r\n\r\n") {
            assert!(
                got.starts_with(b"HTTP/1.1 200 "),
                "{}",
                String::from_utf8_lossy(&got)
            );
        }
    }
}

/// Counts, for each of several `Connection: close` requests, the TCP segments the
/// client received (Linux's `tcpi_segs_in`, from `TCP_INFO`), once the server closed.
const SEGMENTS_SCRIPT: &str = r#"
import socket, struct, sys
port = int(sys.argv[1])
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got.startswith(b"HTTP/1.1 200 "), got[:40]
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    print(struct.unpack_from("I", info, 140)[0])
    s.close()
"#;

/// A response the server closes after leaves with its FIN in the same segment, not as a
/// response and then a FIN: one packet and one wake-up of the client fewer per
/// connection, which the new-connection benchmark row measures.
fn a_response_before_a_close_leaves_with_its_fin_in_one_segment() {
    let server = TestServer::start();
    let stdout = tests::tools::run_python(SEGMENTS_SCRIPT, &[&server.addr.port().to_string()]);
    let counts: Vec<u32> = stdout.lines().filter_map(|l| l.parse().ok()).collect();
    assert_eq!(counts.len(), 20, "{stdout}");
    // The SYN-ACK, the ACK Linux sends at once for a connection's first bytes (quick
    // ack), and the response with its FIN: three. A FIN of its own would be a fourth.
    // Retransmissions on a busy machine may add some: most, not all.
    let three = counts.iter().filter(|&&n| n <= 3).count();
    assert!(three >= 12, "segments received per connection: {counts:?}");
}

/// The response before a close is never lost to the reset that closing with unread
/// input sends: a `Connection: close` head that fills the server's read exactly, with a
/// pipelined request behind it still in the kernel's queue, gets its whole response.
fn a_close_with_a_request_still_queued_delivers_the_response() {
    let server = TestServer::start();
    let base = "GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
    let pad = shared::wire::limits::MAX_REQUEST_HEAD - base.len() - 4;
    let mut bytes = format!("{base}{}\r\n\r\n", "a".repeat(pad)).into_bytes();
    bytes.extend_from_slice(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    for _ in 0..5 {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&bytes).unwrap();
        // Let the server answer and close before anything is read.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = Vec::new();
        // What came before a reset is kept in `got`.
        let _ = s.read_to_end(&mut got);
        assert!(
            got.starts_with(b"HTTP/1.1 200 ") && got.ends_with(b"</html>\n"),
            "got {} bytes: {:?}",
            got.len(),
            String::from_utf8_lossy(&got[..got.len().min(80)])
        );
    }
}

tests::register! {
    a_close_with_a_request_still_queued_delivers_the_response,
    #[needs("python3")]
    a_response_before_a_close_leaves_with_its_fin_in_one_segment,
    http11_keeps_the_connection_alive,
    connection_close_is_honoured,
    http10_closes_unless_keep_alive_is_asked,
    pipelined_requests_are_answered_in_order,
    head_has_the_same_headers_and_no_body,
    idle_connection_gets_no_408_but_a_stalled_head_does,
    keep_alive_timeout_closes_idle_connections,
    max_requests_per_connection_closes_after_the_last,
    access_log_has_one_common_log_format_line_per_request,
    quiet_turns_the_access_log_off,
    a_stalled_stdout_never_blocks_the_server,
    a_body_that_never_arrives_gets_408_and_a_log_line,
    a_request_followed_by_fin_is_answered_and_closed_at_once,
}
