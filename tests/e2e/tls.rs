//! HTTPS end to end, with a rustls client: the handshake (versions, ALPN, resumption), the
//! connection loop over TLS (keep-alive, pipelining, large files, the access log), SIGHUP
//! reload, graceful shutdown with close_notify, HSTS, the redirect port, and the wrong
//! protocol on either port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use tests::certs::{serial_bytes, tls_flags, TestCerts, LEAF_SERIAL, LOOPBACK_NAMES};
use tests::raw::Conn;
use tests::server::{site, write, TestServer};
use tests::tls::{connect, exchange, peer_serial, read_to_end, Ending};

/// Longest the tests wait for a log line the server prints in response to what they did.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// Longest a server given bad flags may take to exit (it checks them before binding).
const START_UP_LIMIT: Duration = Duration::from_secs(20);

/// Starts the server over HTTPS with the good leaf, plus `extra` flags, on a fresh site.
fn https(certs: &TestCerts, extra: &[&str]) -> TestServer {
    TestServer::start_with(&certs.server_flags(extra))
}

fn wait_for_stderr(server: &TestServer, needle: &str) -> String {
    match server.wait_for_stderr(needle, LOG_WAIT) {
        Some(line) => line,
        None => panic!(
            "no stderr line with {needle:?}: {:?}",
            server.stderr_lines()
        ),
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
}

/// Splits one response off the front of `bytes`: (head, body), by Content-Length.
fn split_response(bytes: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head")
        + 4;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().expect("a length"));
    let body = bytes[end..end + len].to_vec();
    (head, body, bytes[end + len..].to_vec())
}

fn the_start_up_line_says_https() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let line = &server.stdout_lines()[0];
    assert!(
        line.contains(&format!("at https://{}/", server.addr)),
        "{line}"
    );
}

fn a_get_over_tls_13_negotiates_http11_and_ends_with_close_notify() {
    let certs = TestCerts::new();
    // The client offers h2 too: with HTTP/2 off, ALPN must pick http/1.1.
    let server = https(&certs, &["--http2", "false"]);
    let config = certs.client_config(&[b"h2", b"http/1.1"]);
    let mut stream = connect(server.addr, config).expect("handshake");
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        stream.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(peer_serial(&stream), Some(serial_bytes(LEAF_SERIAL)));
    stream
        .write_all(b"GET /HelloWorld.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send");
    let (reply, ending) = read_to_end(&mut stream);
    let (head, body, _) = split_response(&reply);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("Hello, World!"));
    assert_eq!(
        ending,
        Ending::CloseNotify,
        "the server must end TLS with close_notify"
    );
}

/// A client that waits after its `Finished` (one that leaves Nagle on holds its request
/// until the `Finished` is acknowledged) still gets the session tickets at once: they
/// carry the ACK. Holding them for a response that was not coming cost such clients the
/// delayed-ACK timer, 40 ms per connection (found by review).
fn the_session_tickets_do_not_wait_for_a_request_that_has_not_come() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let stream = connect(server.addr, certs.client_config(&[b"http/1.1"])).expect("handshake");
    assert_eq!(
        stream.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut first = [0u8; 1];
    let got = stream.sock.peek(&mut first);
    assert!(
        matches!(got, Ok(1)) && first[0] == 0x17,
        "no tickets without a request: {got:?}"
    );
}

fn keep_alive_and_pipelining_work_over_tls() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let mut stream = connect(server.addr, certs.client_config(&[])).expect("handshake");
    // Two requests in one write, then a third after the answers: one connection.
    stream
        .write_all(b"GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /HelloWorld.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("send");
    stream
        .write_all(b"GET /sub/page.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send");
    let (reply, ending) = read_to_end(&mut stream);
    let (head1, body1, rest) = split_response(&reply);
    assert!(head1.starts_with("HTTP/1.1 200 "), "{head1}");
    assert_eq!(body1, b"body { color: black; }\n");
    // HEAD: a Content-Length but no body follows.
    let head_end = rest
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head")
        + 4;
    let head2 = String::from_utf8_lossy(&rest[..head_end]).into_owned();
    assert!(head2.starts_with("HTTP/1.1 200 "), "{head2}");
    let (head3, body3, tail) = split_response(&rest[head_end..]);
    assert!(head3.starts_with("HTTP/1.1 200 "), "{head3}");
    assert_eq!(body3, b"plain text\n");
    assert!(tail.is_empty());
    assert_eq!(ending, Ending::CloseNotify);
}

fn a_large_file_and_a_range_arrive_intact_over_tls() {
    let certs = TestCerts::new();
    let dir = site();
    let blob: Vec<u8> = (0..5 * 1024 * 1024 + 7)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    write(dir.path(), "big.bin", &blob);
    let server = TestServer::start_in(dir.path(), &certs.server_flags(&[]));
    let request = b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (reply, ending) = exchange(server.addr, certs.client_config(&[]), request).expect("get");
    let (head, body, _) = split_response(&reply);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body == blob, "the 5 MiB body differs");
    assert_eq!(ending, Ending::CloseNotify);
    let ranged = b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1000000-1000009\r\nConnection: close\r\n\r\n";
    let (reply, _) = exchange(server.addr, certs.client_config(&[]), ranged).expect("range");
    let (head, body, _) = split_response(&reply);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_eq!(body, &blob[1_000_000..1_000_010]);
}

fn tls_12_clients_are_served_and_sessions_resume() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.ca_der()).unwrap();
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth(),
        );
        let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut first = connect(server.addr, config.clone()).expect("handshake");
        assert_eq!(
            first.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Full)
        );
        first.write_all(request).unwrap();
        let (reply, _) = read_to_end(&mut first);
        assert!(reply.starts_with(b"HTTP/1.1 200 "), "{version:?}");
        let second = connect(server.addr, config).expect("second handshake");
        assert_eq!(
            second.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "{version:?}: the second connection must resume the session"
        );
    }
}

fn the_access_log_records_https_requests_as_for_plain_ones() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let request = b"GET /style.css?v=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    exchange(server.addr, certs.client_config(&[]), request).expect("get");
    let line = server
        .wait_for_stdout("/style.css?v=1", LOG_WAIT)
        .expect("an access-log line");
    assert!(
        line.contains("\"GET /style.css?v=1 HTTP/1.1\" 200 "),
        "{line}"
    );
}

fn sighup_serves_the_new_certificate_to_new_connections_while_an_old_download_finishes() {
    let certs = TestCerts::new();
    let live = tempfile::tempdir().unwrap();
    let (cert, key) = (live.path().join("cert.pem"), live.path().join("key.pem"));
    std::fs::copy(certs.cert_pem(), &cert).unwrap();
    std::fs::copy(certs.key_pem(), &key).unwrap();
    let dir = site();
    let size = 32 * 1024 * 1024;
    write(dir.path(), "big.bin", &vec![9u8; size]);
    let server = TestServer::start_in(dir.path(), &tls_flags(&cert, &key, &["--quiet"]));
    let config = certs.client_config(&[]);

    // An old download, started and stalled (we stop reading) before the reload.
    let mut old = connect(server.addr, config.clone()).expect("handshake");
    old.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 64 * 1024];
    old.read_exact(&mut first).unwrap();

    // certbot renews the files in place and sends SIGHUP.
    let renewed = certs.issue_leaf("renewed-", LOOPBACK_NAMES, 0x2002);
    std::fs::copy(&renewed.cert, &cert).unwrap();
    std::fs::copy(&renewed.key, &key).unwrap();
    signal(server.pid(), "HUP");
    let line = wait_for_stderr(&server, "reloaded the TLS certificate");
    assert!(line.contains("serial 20:02"), "{line}");

    // A fresh client: one that resumes its old session is (rightly) not shown a certificate
    // again, and rustls reports the one the session began with.
    let new = connect(server.addr, certs.client_config(&[])).expect("handshake after reload");
    assert_eq!(peer_serial(&new), Some(serial_bytes(0x2002)));
    assert_eq!(peer_serial(&old), Some(serial_bytes(LEAF_SERIAL)));
    let (rest, ending) = read_to_end(&mut old);
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        first.len() - head_end + rest.len(),
        size,
        "the old download was cut"
    );
    assert_eq!(ending, Ending::CloseNotify);

    // A half-done renewal (a key that does not match) is refused; the last good pair stays.
    std::fs::copy(&certs.other_key, &key).unwrap();
    signal(server.pid(), "HUP");
    let line = wait_for_stderr(&server, "TLS reload failed");
    assert!(line.contains("does not match"), "{line}");
    let after = connect(server.addr, certs.client_config(&[])).expect("after a bad reload");
    assert_eq!(peer_serial(&after), Some(serial_bytes(0x2002)));
}

fn sigterm_ends_idle_tls_connections_with_close_notify() {
    let certs = TestCerts::new();
    let mut server = https(&certs, &["--quiet"]);
    let mut idle = connect(server.addr, certs.client_config(&[])).expect("handshake");
    idle.write_all(b"GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut some = [0u8; 16];
    idle.read_exact(&mut some).unwrap();
    signal(server.pid(), "TERM");
    let (_, ending) = read_to_end(&mut idle);
    assert_eq!(ending, Ending::CloseNotify);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

fn hsts_is_sent_on_tls_responses_only_when_asked() {
    let certs = TestCerts::new();
    let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let with = https(&certs, &["--hsts", "31536000"]);
    let (reply, _) = exchange(with.addr, certs.client_config(&[]), request).unwrap();
    let (head, _, _) = split_response(&reply);
    assert!(
        head.contains("\r\nStrict-Transport-Security: max-age=31536000\r\n"),
        "{head}"
    );
    let (reply, _) = exchange(
        with.addr,
        certs.client_config(&[]),
        b"GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let (head, _, _) = split_response(&reply);
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    assert!(
        head.contains("Strict-Transport-Security"),
        "error pages too: {head}"
    );
    let without = https(&certs, &[]);
    let (reply, _) = exchange(without.addr, certs.client_config(&[]), request).unwrap();
    assert!(!String::from_utf8_lossy(&reply).contains("Strict-Transport-Security"));
}

/// The redirect port from the start-up line (`..., redirecting http://127.0.0.1:PORT/ ...`).
fn redirect_addr(server: &TestServer) -> SocketAddr {
    let line = &server.stdout_lines()[0];
    let after = line
        .split("redirecting http://")
        .nth(1)
        .expect("a redirect address");
    after
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("an address")
}

fn the_redirect_port_sends_every_request_to_the_same_url_on_https() {
    let certs = TestCerts::new();
    let server = https(&certs, &["--redirect-http", "0", "--hsts", "60"]);
    let port = server.addr.port();
    let plain = redirect_addr(&server);
    let mut conn = Conn::open(plain);
    conn.send(b"GET /a/b?c=d HTTP/1.1\r\nHost: localhost:80\r\n\r\n");
    let reply = conn.read_response("GET").expect("a response");
    assert_eq!(reply.status, 308);
    let location = format!("https://localhost:{port}/a/b?c=d");
    assert_eq!(reply.header("location"), Some(location.as_str()));
    // HSTS means nothing over plain HTTP (RFC 6797 section 8.1) and is not sent there.
    assert_eq!(reply.header("strict-transport-security"), None);
    let logged = server.wait_for_stdout("\"GET /a/b?c=d HTTP/1.1\" 308 ", LOG_WAIT);
    assert!(
        logged.is_some(),
        "no access-log line: {:?}",
        server.stdout_lines()
    );
    let mut conn = Conn::open(plain);
    conn.send(b"GET / HTTP/1.1\r\nHost: evil.example@localhost\r\n\r\n");
    assert_eq!(conn.read_response("GET").map(|r| r.status), Some(400));
}

fn plain_http_on_the_tls_port_gets_a_400_that_says_https() {
    let certs = TestCerts::new();
    let server = https(&certs, &[]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let reply = conn.read_response("GET").expect("a response");
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("https://"), "{}", reply.text());
    assert!(conn.is_closed());
    wait_for_stderr(&server, "plain HTTP request on the HTTPS port");
}

fn a_tls_handshake_on_the_plain_port_is_closed_with_one_short_log_line() {
    let certs = TestCerts::new();
    let server = TestServer::start();
    let got = connect(server.addr, certs.client_config(&[]));
    assert!(got.is_err(), "a TLS handshake succeeded on the plain port");
    let line = wait_for_stderr(&server, "TLS handshake on a plain-HTTP port");
    assert!(line.len() < 120, "{line}");
    // One line, not a dump of the ClientHello, and no 400 page sent back.
    assert!(!line.contains("\\x"), "{line}");
}

fn a_stalled_handshake_is_cut_at_the_head_timeout() {
    let certs = TestCerts::new();
    let server = https(&certs, &["--head-timeout", "1"]);
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The first bytes of a ClientHello, then nothing: slowloris on the handshake.
    tcp.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = tcp.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected a close, got {:?}", &buf[..n]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The server is still fine.
    let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (reply, _) = exchange(server.addr, certs.client_config(&[]), request).unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200 "));
}

/// Runs the server with `args` on a fresh site, expecting it to exit at once; its stderr.
fn start_up_failure(args: &[&str]) -> String {
    let dir = site();
    let port: &[&str] = if args.contains(&"--port") {
        &[]
    } else {
        &["--port", "0"]
    };
    let errors = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new(tests::bin::binary("server"))
        .args(port)
        .args(["--bind", "127.0.0.1", "--root"])
        .arg(dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(errors.reopen().expect("reopen"))
        .spawn()
        .expect("run server");
    // A server that wrongly starts must fail the test, not hang it.
    let end = Instant::now() + START_UP_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server started with {args:?} instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(!status.success(), "server exited 0 with {args:?}");
    std::fs::read_to_string(errors.path()).expect("read stderr")
}

fn each_bad_certificate_input_stops_start_up_with_the_file_and_the_fix() {
    let certs = TestCerts::new();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (cert, key) = (path(&certs.cert_pem()), path(&certs.key_pem()));
    let missing = path(&certs.dir().join("missing.pem"));
    let other = path(&certs.other_key);
    for (args, wants) in [
        (
            vec!["--tls-cert", &missing, "--tls-key", &key],
            vec!["missing.pem' not found", "--tls-cert"],
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &missing],
            vec!["missing.pem' not found", "--tls-key"],
        ),
        (
            vec!["--tls-cert", &key, "--tls-key", &cert],
            vec!["swap --tls-cert and --tls-key"],
        ),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other],
            vec!["does not match the certificate", "other-key.pem"],
        ),
        (vec!["--tls-cert", &cert], vec!["--tls-key"]),
    ] {
        let stderr = start_up_failure(&args);
        for want in wants {
            assert!(stderr.contains(want), "{args:?}: {want:?} not in {stderr}");
        }
    }
    let stderr = start_up_failure(&["--tls-cert", &cert, "--tls-key", &key, "--hsts", "x"]);
    assert!(stderr.contains("--hsts"), "{stderr}");
    let stderr = start_up_failure(&["--redirect-http", "8080"]);
    assert!(stderr.contains("--tls-cert"), "{stderr}");
    let stderr = start_up_failure(&[
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--port",
        "18443",
        "--redirect-http",
        "18443",
    ]);
    assert!(stderr.contains("also the HTTPS port"), "{stderr}");
}

fn an_expired_certificate_warns_at_start_up_and_still_serves() {
    let certs = TestCerts::new();
    let server = TestServer::start_with(&certs.expired.server_flags(&[]));
    let line = wait_for_stderr(&server, "warning");
    assert!(line.contains("expired on 2001-01-01"), "{line}");
    // rustls refuses it as a client would; the server is up and handshaking.
    let err = connect(server.addr, certs.client_config(&[])).expect_err("an expired certificate");
    assert!(err.to_string().to_lowercase().contains("expired"), "{err}");
}

fn a_sec1_key_and_a_fullchain_load() {
    let certs = TestCerts::new();
    let leaf = &certs.leaf;
    let server = TestServer::start_with(&tls_flags(&leaf.fullchain, &leaf.key_sec1, &[]));
    let stream = connect(server.addr, certs.client_config(&[])).expect("handshake");
    assert_eq!(stream.conn.peer_certificates().map(<[_]>::len), Some(2));
}

tests::register! {
    the_session_tickets_do_not_wait_for_a_request_that_has_not_come,
    the_start_up_line_says_https,
    a_get_over_tls_13_negotiates_http11_and_ends_with_close_notify,
    keep_alive_and_pipelining_work_over_tls,
    a_large_file_and_a_range_arrive_intact_over_tls,
    tls_12_clients_are_served_and_sessions_resume,
    the_access_log_records_https_requests_as_for_plain_ones,
    sighup_serves_the_new_certificate_to_new_connections_while_an_old_download_finishes,
    sigterm_ends_idle_tls_connections_with_close_notify,
    hsts_is_sent_on_tls_responses_only_when_asked,
    the_redirect_port_sends_every_request_to_the_same_url_on_https,
    plain_http_on_the_tls_port_gets_a_400_that_says_https,
    a_tls_handshake_on_the_plain_port_is_closed_with_one_short_log_line,
    a_stalled_handshake_is_cut_at_the_head_timeout,
    each_bad_certificate_input_stops_start_up_with_the_file_and_the_fix,
    an_expired_certificate_warns_at_start_up_and_still_serves,
    a_sec1_key_and_a_fullchain_load,
}
