//! HTTP/2 over TLS with real clients: curl `--http2` (GET, HEAD, ranges, conditionals,
//! `--compressed`, 20 parallel transfers on one connection), `nghttp -nv`, and headless
//! Chromium loading a page of images; the access log, `--http2 false`, and no h2c on
//! the cleartext port.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use tests::certs::TestCerts;
use tests::server::{write, TestServer};
use tests::tools::program;

/// Upper bound on one client run, so a hung server fails the test instead of blocking it.
const CLIENT_MAX_SECS: &str = "30";

/// How long to wait for an access-log line after the client has finished.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// A server on HTTPS with the test certificates; both dropped together.
pub(crate) struct Https {
    pub(crate) server: TestServer,
    pub(crate) certs: TestCerts,
    /// The temporary site, when [`Https::start`] made one.
    _site: Option<tempfile::TempDir>,
}

impl Https {
    /// Starts the server on a fresh site over TLS, with extra flags.
    pub(crate) fn start(args: &[&str]) -> Https {
        let site = tests::server::site();
        let mut h = Https::start_in(site.path(), args);
        h._site = Some(site);
        h
    }

    /// Starts the server over TLS serving `root`, with extra flags.
    pub(crate) fn start_in(root: &Path, args: &[&str]) -> Https {
        let certs = TestCerts::new();
        let server = TestServer::start_in(root, &certs.server_flags(args));
        Https {
            server,
            certs,
            _site: None,
        }
    }

    pub(crate) fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// `https://localhost:PORT` followed by `path` (the certificate names localhost).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port())
    }

    /// Runs curl against this server: trusting its CA, `localhost` pinned to 127.0.0.1.
    fn curl(&self, args: &[&str]) -> Output {
        let resolve = format!("localhost:{}:127.0.0.1", self.port());
        Command::new(program("curl"))
            .args(["--silent", "--show-error", "--noproxy", "*"])
            .args([
                "--max-time",
                CLIENT_MAX_SECS,
                "--resolve",
                &resolve,
                "--cacert",
            ])
            .arg(self.certs.ca_pem())
            .args(args)
            .output()
            .expect("run curl")
    }

    /// Runs curl and requires success; returns stdout.
    fn curl_ok(&self, args: &[&str]) -> String {
        let out = self.curl(args);
        assert!(
            out.status.success(),
            "curl {args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Requires an access-log line containing `needle`.
    fn assert_logged(&self, needle: &str) {
        assert!(
            self.server.wait_for_stdout(needle, LOG_WAIT).is_some(),
            "no access-log line with {needle}; log:\n{}",
            self.server.stdout_lines().join("\n")
        );
    }
}

/// Writes a file of `len` patterned bytes into the served root.
pub(crate) fn write_big(h: &Https, rel: &str, len: usize) {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    write(&h.server.root, rel, &bytes);
}

/// The value of `name` in a header block dumped by `curl -D -`.
fn field<'a>(dump: &'a str, name: &str) -> Option<&'a str> {
    dump.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn curl_gets_a_file_over_http2_without_http1_fields() {
    let h = Https::start(&[]);
    let blob: Vec<u8> = (0..300_000).map(|i| (i * 7 % 256) as u8).collect();
    write(&h.server.root, "blob.bin", &blob);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("blob");
    let out = h.curl_ok(&[
        "--http2",
        "-D",
        "-",
        "-o",
        dest.to_str().unwrap(),
        "-w",
        "\nversion=%{http_version}",
        &h.url("/blob.bin"),
    ]);
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.ends_with("version=2"), "{out}");
    assert_eq!(field(&out, "content-length"), Some("300000"), "{out}");
    assert_eq!(
        field(&out, "content-type"),
        Some("application/octet-stream")
    );
    for f in ["connection", "keep-alive", "transfer-encoding"] {
        assert_eq!(field(&out, f), None, "{f} sent over HTTP/2: {out}");
    }
    assert!(
        std::fs::read(&dest).unwrap() == blob,
        "downloaded bytes differ"
    );
}

fn curl_head_over_http2_has_the_get_length_and_no_body() {
    let h = Https::start(&[]);
    let out = h.curl_ok(&["--http2", "-I", &h.url("/HelloWorld.html")]);
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    let len = std::fs::metadata(h.server.root.join("HelloWorld.html"))
        .unwrap()
        .len();
    assert_eq!(
        field(&out, "content-length"),
        Some(len.to_string().as_str())
    );
    h.assert_logged("\"HEAD /HelloWorld.html HTTP/2.0\" 200 0");
}

fn curl_range_and_multirange_over_http2() {
    let h = Https::start(&[]);
    let digits: String = (0..1000)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    write(&h.server.root, "digits.txt", digits.as_bytes());
    let out = h.curl_ok(&["--http2", "-D", "-", "-r", "2-5", &h.url("/digits.txt")]);
    assert!(out.starts_with("HTTP/2 206"), "{out}");
    assert_eq!(field(&out, "content-range"), Some("bytes 2-5/1000"));
    assert!(out.ends_with("\r\n\r\n2345"), "{out}");
    // Two ranges far apart: multipart/byteranges, memory and file pieces interleaved.
    let out = h.curl_ok(&[
        "--http2",
        "-D",
        "-",
        "-r",
        "0-1,901-903",
        &h.url("/digits.txt"),
    ]);
    assert!(out.starts_with("HTTP/2 206"), "{out}");
    let ctype = field(&out, "content-type").unwrap_or_default();
    assert!(
        ctype.starts_with("multipart/byteranges; boundary="),
        "{out}"
    );
    assert!(
        out.contains("Content-Range: bytes 0-1/1000\r\n\r\n01\r\n"),
        "{out}"
    );
    assert!(
        out.contains("Content-Range: bytes 901-903/1000\r\n\r\n123\r\n"),
        "{out}"
    );
}

fn curl_conditional_over_http2_gets_304() {
    let h = Https::start(&[]);
    let url = h.url("/HelloWorld.html");
    let first = h.curl_ok(&["--http2", "-D", "-", "-o", "/dev/null", &url]);
    let etag = field(&first, "etag").expect("an ETag").to_owned();
    let inm = format!("If-None-Match: {etag}");
    let out = h.curl_ok(&["--http2", "-D", "-", "-H", &inm, &url]);
    assert!(out.starts_with("HTTP/2 304"), "{out}");
    assert_eq!(field(&out, "etag"), Some(etag.as_str()));
    assert!(out.ends_with("\r\n\r\n"), "a 304 with a body: {out}");
}

fn curl_compressed_over_http2() {
    let h = Https::start(&["--compress"]);
    let text = "a line of text that compresses well\n".repeat(200);
    write(&h.server.root, "text.txt", text.as_bytes());
    let out = h.curl_ok(&["--http2", "--compressed", "-D", "-", &h.url("/text.txt")]);
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert_eq!(field(&out, "content-encoding"), Some("gzip"), "{out}");
    assert!(out.ends_with(&text), "decoded body differs");
}

fn curl_twenty_parallel_transfers_share_one_connection() {
    let h = Https::start(&[]);
    let mut args: Vec<String> = ["--http2", "-Z", "--parallel-max", "20", "-w"]
        .map(String::from)
        .to_vec();
    args.push("%{http_version} %{http_code} %{num_connects}\n".into());
    for i in 0..20 {
        args.extend([
            "-o".into(),
            "/dev/null".into(),
            h.url(&format!("/HelloWorld.html?{i}")),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.curl_ok(&args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20, "{out}");
    let mut connects = 0;
    for line in &lines {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(&f[..2], ["2", "200"], "{out}");
        connects += f[2].parse::<u32>().unwrap();
    }
    assert_eq!(
        connects, 1,
        "20 transfers opened {connects} connections:\n{out}"
    );
}

fn alpn_prefers_h2_then_http11() {
    let h = Https::start(&[]);
    let negotiated = |offer: &[&[u8]]| {
        let config = h.certs.client_config(offer);
        let stream = tests::tls::connect(h.server.addr, config).expect("handshake");
        stream.conn.alpn_protocol().map(<[u8]>::to_vec)
    };
    // The server's preference decides, whatever order the client lists them in.
    assert_eq!(negotiated(&[b"http/1.1", b"h2"]), Some(b"h2".to_vec()));
    assert_eq!(negotiated(&[b"http/1.1"]), Some(b"http/1.1".to_vec()));
    assert_eq!(negotiated(&[]), None);
    let off = Https::start(&["--http2", "false"]);
    let config = off.certs.client_config(&[b"h2", b"http/1.1"]);
    let stream = tests::tls::connect(off.server.addr, config).expect("handshake");
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    // A client that speaks nothing but h2 is refused at the handshake.
    let config = off.certs.client_config(&[b"h2"]);
    assert!(tests::tls::connect(off.server.addr, config).is_err());
}

fn hsts_and_site_fields_are_sent_over_http2_too() {
    let h = Https::start(&["--hsts", "600", "--security-headers"]);
    for path in ["/HelloWorld.html", "/missing"] {
        let out = h.curl_ok(&["--http2", "-D", "-", "-o", "/dev/null", &h.url(path)]);
        assert!(out.starts_with("HTTP/2 "), "{out}");
        assert_eq!(
            field(&out, "strict-transport-security"),
            Some("max-age=600"),
            "{out}"
        );
        assert_eq!(
            field(&out, "x-content-type-options"),
            Some("nosniff"),
            "{out}"
        );
    }
}

fn a_listing_from_the_blocking_pool_arrives_over_http2() {
    let h = Https::start(&["--listing"]);
    let out = h.curl_ok(&["--http2", "-D", "-", &h.url("/noindex/")]);
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.contains("file.txt"), "{out}");
}

/// The HTTP version curl used with `flag` against a server started with `args`.
fn version_used(args: &[&str], flag: &str) -> String {
    let h = Https::start(args);
    h.curl_ok(&[
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version}",
        &h.url("/"),
    ])
}

fn http11_over_tls_still_works_beside_http2() {
    assert_eq!(version_used(&[], "--http1.1"), "1.1");
}

fn http2_false_offers_only_http11() {
    assert_eq!(version_used(&["--http2", "false"], "--http2"), "1.1");
}

fn the_access_log_shows_http2_requests_like_http1_ones() {
    let h = Https::start(&[]);
    h.curl_ok(&["--http2", "-o", "/dev/null", &h.url("/HelloWorld.html?x=1")]);
    h.curl_ok(&["--http2", "-o", "/dev/null", &h.url("/missing")]);
    let len = std::fs::metadata(h.server.root.join("HelloWorld.html"))
        .unwrap()
        .len();
    h.assert_logged(&format!("\"GET /HelloWorld.html?x=1 HTTP/2.0\" 200 {len}"));
    h.assert_logged("\"GET /missing HTTP/2.0\" 404 ");
    let line = h.server.wait_for_stdout("GET /missing", LOG_WAIT).unwrap();
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
}

fn the_cleartext_port_answers_an_http2_preface_with_505() {
    let server = TestServer::start();
    let mut conn = tests::raw::Conn::open(server.addr);
    conn.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let r = conn.read_response("GET").expect("a response");
    assert_eq!(r.status, 505);
    assert!(conn.is_closed());
}

fn nghttp_sees_a_clean_http2_exchange() {
    let h = Https::start(&[]);
    let out = Command::new(program("nghttp"))
        .args(["-nv", "-t", CLIENT_MAX_SECS])
        .arg(h.url("/HelloWorld.html"))
        .output()
        .expect("run nghttp");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "nghttp: {}\n{text}", out.status);
    assert!(text.contains("The negotiated protocol: h2"), "{text}");
    assert!(text.contains(") :status: 200"), "{text}");
    assert!(
        text.contains("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128]"),
        "{text}"
    );
    assert!(!text.contains(") connection:"), "{text}");
    // The whole page in one DATA frame that ends the stream.
    let len = std::fs::metadata(h.server.root.join("HelloWorld.html"))
        .unwrap()
        .len();
    let data = format!("recv DATA frame <length={len}, flags=0x01");
    assert!(text.contains(&data), "{text}");
    assert!(!text.contains("recv RST_STREAM"), "{text}");
    assert!(!text.contains("recv GOAWAY"), "{text}");
}

/// A page of `n` images and a script that lists, once all loaded, each resource with the
/// protocol it came over (Resource Timing's `nextHopProtocol`).
fn image_page(n: usize) -> String {
    let imgs: String = (0..n)
        .map(|i| format!("<img src=\"/logo.svg?{i}\" width=\"8\">"))
        .collect();
    format!(
        "<!DOCTYPE html><html><body>{imgs}<pre id=\"out\">pending</pre><script>\n\
         addEventListener('load', () => {{ document.getElementById('out').textContent = \
         performance.getEntries().filter(e => 'nextHopProtocol' in e)\
         .map(e => e.name.split('/').pop() + ' ' + e.nextHopProtocol).join('\\n'); }});\n\
         </script></body></html>"
    )
}

fn chromium_loads_a_page_of_thirty_images_over_http2() {
    let bin = program("chromium");
    let site = super::browser::www_copy();
    write(site.path(), "images.html", image_page(30).as_bytes());
    let h = Https::start_in(site.path(), &[]);
    let spki = format!(
        "--ignore-certificate-errors-spki-list={}",
        h.certs.leaf.spki_sha256_base64()
    );
    let url = h.url("/images.html");
    let resolve = format!(
        "--host-resolver-rules=MAP localhost:{0} 127.0.0.1:{0}",
        h.port()
    );
    let run = super::browser::run_chromium(&bin, &[&spki, &resolve, "--dump-dom"], &url);
    assert!(
        run.status.success(),
        "chromium: {}\n{}",
        run.status,
        run.stderr
    );
    let listed = run
        .stdout
        .split("<pre id=\"out\">")
        .nth(1)
        .unwrap_or_default();
    let listed = listed.split("</pre>").next().unwrap_or_default();
    let entries: Vec<&str> = listed.lines().collect();
    assert_eq!(
        entries.len(),
        31,
        "page and 30 images expected:\n{}",
        run.stdout
    );
    for e in &entries {
        assert!(e.ends_with(" h2"), "not over h2: {e:?}\n{listed}");
    }
    let logged = || {
        h.server
            .stdout_lines()
            .iter()
            .filter(|l| l.contains("GET /logo.svg?") && l.contains(" HTTP/2.0\" 200 "))
            .count()
    };
    let end = std::time::Instant::now() + LOG_WAIT;
    while logged() < 30 && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(logged(), 30, "{}", h.server.stdout_lines().join("\n"));
}

/// A request with a body is answered once the body has come, as over HTTP/1.1. Answered
/// before (then RST_STREAM(NO_ERROR) while curl still uploaded), curl 7.88 failed with
/// "Stream error in the HTTP/2 framing layer" instead of showing the 405.
fn curl_posting_a_body_over_http2_gets_the_405() {
    let h = Https::start(&[]);
    let body = h.server.root.join("upload.bin");
    std::fs::write(&body, vec![b'x'; 200 * 1024]).unwrap();
    let at = format!("@{}", body.display());
    let out = h.curl_ok(&[
        "--http2",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "--data-binary",
        &at,
        &h.url("/HelloWorld.html"),
    ]);
    assert!(out.starts_with("HTTP/2 405"), "{out}");
    assert_eq!(field(&out, "allow"), Some("GET, HEAD"));
}

/// The peer script for the hostile tests (see [`super::http2_attacks`]).
pub(crate) fn peer_script() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/e2e/http2_peer.py"))
}

tests::register! {
    #[needs("curl")] curl_gets_a_file_over_http2_without_http1_fields,
    #[needs("curl")] curl_head_over_http2_has_the_get_length_and_no_body,
    #[needs("curl")] curl_range_and_multirange_over_http2,
    #[needs("curl")] curl_conditional_over_http2_gets_304,
    #[needs("curl")] curl_compressed_over_http2,
    #[needs("curl")] curl_twenty_parallel_transfers_share_one_connection,
    alpn_prefers_h2_then_http11,
    #[needs("curl")] hsts_and_site_fields_are_sent_over_http2_too,
    #[needs("curl")] a_listing_from_the_blocking_pool_arrives_over_http2,
    #[needs("curl")] http11_over_tls_still_works_beside_http2,
    #[needs("curl")] http2_false_offers_only_http11,
    #[needs("curl")] the_access_log_shows_http2_requests_like_http1_ones,
    #[needs("curl")] curl_posting_a_body_over_http2_gets_the_405,
    the_cleartext_port_answers_an_http2_preface_with_505,
    #[needs("nghttp")] nghttp_sees_a_clean_http2_exchange,
    #[needs("chromium")] chromium_loads_a_page_of_thirty_images_over_http2,
}
