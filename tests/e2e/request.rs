//! The raw-socket table: malformed and tricky request heads (RFC 9112 sections 2-9)
//! against the real server, each with the status it must get.

use std::time::Duration;
use tests::raw::{exchange, Conn};
use tests::server::TestServer;

/// `(name, request bytes, expected status)`.
fn table() -> Vec<(&'static str, Vec<u8>, u16)> {
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-A: 1\r\n".repeat(150)
    );
    let v = |s: &str| s.as_bytes().to_vec();
    vec![
        ("plain GET", v("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        ("HTTP/1.0 without Host", v("GET /HelloWorld.html HTTP/1.0\r\n\r\n"), 200),
        ("leading empty line", v("\r\nGET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        ("LF-only line endings", v("GET /HelloWorld.html HTTP/1.1\nHost: x\n\n"), 200),
        ("absolute-form target", v("GET http://x/HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        ("query string ignored", v("GET /HelloWorld.html?a=1&b=%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        ("header case-insensitive", v("GET /HelloWorld.html HTTP/1.1\r\nhOsT: x\r\n\r\n"), 200),
        ("tab in field value", v("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nX-T: a\tb\r\n\r\n"), 200),
        ("obs-text in value", v("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nX-T: caf\u{e9}\r\n\r\n"), 200),
        ("missing Host on 1.1", v("GET / HTTP/1.1\r\n\r\n"), 400),
        ("two Host fields", v("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400),
        ("Host with space", v("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400),
        ("space before colon", v("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400),
        ("obs-fold", v("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"), 400),
        ("NUL in value", v("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"), 400),
        ("bare CR in value", v("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"), 400),
        ("no colon", v("GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n"), 400),
        ("double space in request line", v("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("lowercase version", v("GET / http/1.1\r\nHost: x\r\n\r\n"), 400),
        ("HTTP/0.9 style", v("GET /\r\n\r\n"), 400),
        // Not a TLS ClientHello (0x16...): that is closed without an answer, see
        // tls::a_tls_handshake_on_the_plain_port_is_closed_with_one_short_log_line.
        ("garbage", v("\x01\x02\x03\x04 \x7c\x03\x03\r\n\r\n"), 400),
        ("HTTP/2.0", v("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505),
        ("HTTP/3.0", v("GET / HTTP/3.0\r\nHost: x\r\n\r\n"), 505),
        // Regression (issue 9 item 6): the last token looks like a version, but the line
        // has four parts, so it is malformed, not a version problem.
        ("raw space in target is 400 not 505", v("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("POST not allowed", v("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), 405),
        ("DELETE not allowed", v("DELETE /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 405),
        ("OPTIONS * not allowed", v("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 405),
        ("unknown method", v("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), 501),
        ("lowercase get is another method", v("get / HTTP/1.1\r\nHost: x\r\n\r\n"), 501),
        ("authority-form GET", v("GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("CL and TE together", v("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
        ("TE on HTTP/1.0", v("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
        ("chunked not last", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400),
        ("unknown transfer coding", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: rot13\r\n\r\n"), 501),
        ("gzip transfer coding we do not decode", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501),
        ("absolute-form with empty host", v("GET http:///HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("absolute-form with bad port", v("GET http://x:abc/HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("obfuscated TE", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"), 501),
        // Regression (issue 9 item 14): chunked defines no parameters; this is not it.
        ("chunked with parameters is not chunked", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n"), 501),
        ("TE that is no coding list", v("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;\r\n\r\n0\r\n\r\n"), 400),
        ("differing Content-Lengths", v("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), 400),
        ("negative Content-Length", v("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400),
        ("overflowing Content-Length", v("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n"), 400),
        ("unknown expectation", v("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"), 417),
        ("100-continue without a body", v("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"), 200),
        ("huge GET body", v("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"), 413),
        ("target too long", long_target.into_bytes(), 414),
        ("header too large", big_header.into_bytes(), 431),
        ("too many headers", many_headers.into_bytes(), 431),
        ("encoded NUL in path", v("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        // Regression (fuzzer): a multi-byte character across the scheme's length crashed
        // the server when the target was checked for `http://`.
        ("multibyte across scheme length", v("GET http:/\u{45d}xample/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("multibyte at byte 7", v("GET abcdef\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        ("bad percent escape", v("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
    ]
}

fn malformed_and_tricky_requests_get_the_right_status() {
    let server = TestServer::start();
    let mut failures = Vec::new();
    for (name, request, want) in table() {
        match exchange(server.addr, &request) {
            Some(r) if r.status == want => {
                if want >= 400 {
                    let ct = r.header("content-type").unwrap_or("");
                    if !ct.starts_with("text/html") || !r.text().contains(&want.to_string()) {
                        failures.push(format!("{name}: {want} without an HTML body naming it"));
                    }
                }
            }
            Some(r) => failures.push(format!("{name}: got {} want {want}", r.status)),
            None => failures.push(format!("{name}: no response, want {want}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn a_partial_head_waits_instead_of_failing() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    for piece in [
        "GE",
        "T /Hello",
        "World.html HT",
        "TP/1.1\r\nHo",
        "st: x\r",
        "\n",
        "\r\n",
    ] {
        c.send(piece.as_bytes());
        std::thread::sleep(Duration::from_millis(30));
    }
    let r = c
        .read_response("GET")
        .expect("response after the head completes");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Hello, World!"));
}

fn bad_requests_close_the_connection() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET / HTTP/1.1\r\nHost : x\r\n\r\nGET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(400));
    assert!(c.is_closed(), "after a 400 the server must not read on");
}

fn get_with_a_body_is_skipped_and_the_next_request_parses() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET /nope/\r\n");
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
    let second = c.read_response("GET").expect("second response");
    assert_eq!(second.status, 200);
    assert!(second.text().contains("Hello, World!"));
}

fn chunked_request_body_is_skipped_too() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /style.css HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n");
    c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
    assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
}

fn a_higher_http_1_minor_version_is_served_as_http_1_1() {
    // RFC 9110 section 2.5: process HTTP/1.2 as the highest 1.x we implement.
    let server = TestServer::start();
    let r = exchange(
        server.addr,
        b"GET /HelloWorld.html HTTP/1.2\r\nHost: x\r\n\r\n",
    )
    .expect("response");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Hello, World!"));
}

/// Found by review: a head whose first piece ended right after `HTTP/1.2`, before the
/// line's end, got a 505 instead of waiting for the rest of the line.
fn a_higher_minor_version_sent_in_two_pieces_is_served_as_http_1_1() {
    let server = TestServer::start();
    let mut c = Conn::open(server.addr);
    c.send(b"GET /HelloWorld.html HTTP/1.2");
    // Long enough for the server to read the first piece alone.
    std::thread::sleep(Duration::from_millis(100));
    c.send(b"\r\nHost: x\r\n\r\n");
    let r = c.read_response("GET").expect("response");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Hello, World!"));
}

/// Issue 9 item 10: a client that sends a whole GET with a body (up to the 1 MiB the
/// server skips) before reading deadlocked on a large file: the server was blocked
/// sending the file, the client blocked sending the body nobody read.
fn a_get_whose_body_is_sent_before_reading_gets_its_large_file() {
    let site = tests::server::site();
    let size = 8 * 1024 * 1024;
    tests::server::write(site.path(), "big.bin", &vec![9u8; size]);
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    // Python, for small socket buffers (std cannot set them): otherwise loopback's
    // buffers swallow the 1 MiB body and hide the deadlock.
    let script = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
s.settimeout(20)
s.connect(("127.0.0.1", int(sys.argv[1])))
body = b"x" * (1024 * 1024)
head = b"GET /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
try:
    s.sendall(head + body)
except socket.timeout:
    sys.exit("deadlock: the request body was never read")
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(65536)
head, rest = got.split(b"\r\n\r\n", 1)
want = int(sys.argv[2])
while len(rest) < want:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    rest += chunk
print(head.split(b"\r\n")[0].decode(), len(rest))
"#;
    let (port, size_arg) = (server.addr.port().to_string(), size.to_string());
    let stdout = tests::tools::run_python(script, &[&port, &size_arg]);
    assert_eq!(stdout.trim(), format!("HTTP/1.1 200 OK {size}"));
}

/// A chunked GET body over the 1 MiB the server skips is now refused with 413 before
/// the response (it used to cut the connection after it).
fn a_chunked_get_body_over_the_limit_gets_413() {
    use std::io::{Read, Write};
    let server = TestServer::start_with(&["--quiet"]);
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut request =
        b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..17 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    // The server may stop reading once it has refused: ignore a write error.
    let _ = s.write_all(&request);
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(text.contains("Connection: close"), "{text}");
}

tests::register! {
    malformed_and_tricky_requests_get_the_right_status,
    a_partial_head_waits_instead_of_failing,
    bad_requests_close_the_connection,
    get_with_a_body_is_skipped_and_the_next_request_parses,
    chunked_request_body_is_skipped_too,
    #[needs("python3")] a_get_whose_body_is_sent_before_reading_gets_its_large_file,
    a_chunked_get_body_over_the_limit_gets_413,
    a_higher_http_1_minor_version_is_served_as_http_1_1,
    a_higher_minor_version_sent_in_two_pieces_is_served_as_http_1_1,
}
