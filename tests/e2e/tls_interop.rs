//! HTTPS against real clients that check certificates: curl (`--cacert` with the test
//! CA: GET, HEAD, a range, `--compressed`, connection reuse, following the redirect port,
//! refusing a wrong name) and Python's `ssl` + `http.client` (keep-alive, ALPN, the
//! serial it was shown).

use std::path::Path;
use std::process::{Command, Output};
use tests::certs::{TestCerts, LEAF_SERIAL};
use tests::server::{write, TestServer};
use tests::tools::program;

/// Upper bound on one curl or Python run, so a hung server fails the test.
const CLIENT_MAX_TIME_SECS: &str = "30";

/// Starts the server over HTTPS with `leaf`'s files and `extra` flags.
fn https_with(cert: &Path, key: &Path, extra: &[&str]) -> TestServer {
    TestServer::start_with(&tests::certs::tls_flags(cert, key, extra))
}

/// curl trusting only the test CA, with `localhost` pinned to the server's loopback
/// address (never a lookup), quiet but for errors, never through a proxy.
fn curl(certs: &TestCerts, port: u16, args: &[&str]) -> Output {
    let ca = certs.ca_pem();
    Command::new(program("curl"))
        .args(["--silent", "--show-error", "--noproxy", "*"])
        .args(["--max-time", CLIENT_MAX_TIME_SECS])
        .arg("--cacert")
        .arg(&ca)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        // HTTPS with HTTP/1.1 here; tests/e2e/http2.rs runs curl over HTTP/2.
        .arg("--http1.1")
        .args(args)
        .output()
        .expect("run curl")
}

fn curl_ok(certs: &TestCerts, port: u16, args: &[&str]) -> String {
    let out = curl(certs, port, args);
    assert!(
        out.status.success(),
        "curl {args:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn header<'a>(dump: &'a str, name: &str) -> Option<&'a str> {
    dump.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn curl_gets_heads_ranges_and_decompresses_over_https() {
    let certs = TestCerts::new();
    let server = https_with(&certs.cert_pem(), &certs.key_pem(), &["--compress"]);
    let port = server.addr.port();
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let page = std::fs::read(server.root.join("HelloWorld.html")).expect("fixture");

    let out = curl_ok(
        &certs,
        port,
        &[
            "-w",
            "\n%{http_code} %{ssl_verify_result} %{http_version}",
            &url("/HelloWorld.html"),
        ],
    );
    let (body, stats) = out.rsplit_once('\n').expect("the -w line");
    assert_eq!(stats, "200 0 1.1", "status, verification, version");
    assert_eq!(body.as_bytes(), page.as_slice());

    let head = curl_ok(&certs, port, &["-I", &url("/HelloWorld.html")]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "content-length"),
        Some(page.len().to_string().as_str())
    );

    let range = curl_ok(
        &certs,
        port,
        &["-r", "0-4", "-D", "-", &url("/HelloWorld.html")],
    );
    assert!(range.starts_with("HTTP/1.1 206"), "{range}");
    assert!(range.ends_with("\r\n\r\n<!DOC"), "{range}");

    let big: Vec<u8> = b"compressible text, ".repeat(4000);
    write(&server.root, "big.txt", &big);
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("big.txt");
    let dump = curl_ok(
        &certs,
        port,
        &[
            "--compressed",
            "-D",
            "-",
            "-o",
            dest.to_str().unwrap(),
            &url("/big.txt"),
        ],
    );
    assert_eq!(header(&dump, "content-encoding"), Some("gzip"), "{dump}");
    assert_eq!(std::fs::read(&dest).expect("download"), big);
}

fn curl_reuses_one_tls_connection_for_several_urls() {
    let certs = TestCerts::new();
    let server = https_with(&certs.cert_pem(), &certs.key_pem(), &[]);
    let port = server.addr.port();
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let out = curl_ok(
        &certs,
        port,
        &[
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{num_connects}\n",
            &url("/HelloWorld.html"),
            &url("/style.css"),
            &url("/sub/page.txt"),
        ],
    );
    assert_eq!(out, "1\n0\n0\n", "curl opened more than one connection");
}

fn curl_follows_the_redirect_port_to_https() {
    let certs = TestCerts::new();
    let server = https_with(
        &certs.cert_pem(),
        &certs.key_pem(),
        &["--redirect-http", "0"],
    );
    let port = server.addr.port();
    let line = &server.stdout_lines()[0];
    let plain: std::net::SocketAddr = line
        .split("redirecting http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .expect("the redirect address on the start-up line");
    let out = curl_ok(
        &certs,
        port,
        &[
            "-L",
            "--resolve",
            &format!("localhost:{}:127.0.0.1", plain.port()),
            "-o",
            "/dev/null",
            "-w",
            "%{num_redirects} %{http_code} %{url_effective}",
            &format!("http://localhost:{}/HelloWorld.html?x=1", plain.port()),
        ],
    );
    assert_eq!(
        out,
        format!("1 200 https://localhost:{port}/HelloWorld.html?x=1")
    );
}

fn curl_refuses_a_certificate_for_another_name() {
    // The trust set-up above must be real: the wrong-name leaf is refused.
    let certs = TestCerts::new();
    let server = https_with(&certs.wrong_name.cert, &certs.wrong_name.key, &[]);
    let port = server.addr.port();
    let out = curl(&certs, port, &[&format!("https://localhost:{port}/")]);
    // 60: "Peer certificate cannot be authenticated with known CA certificates" / name.
    assert_eq!(
        out.status.code(),
        Some(60),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's one-liner for a local certificate, as written there.
const README_OPENSSL: &[&str] = &[
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "cert.pem",
    "-days",
    "365",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
];

fn the_readme_openssl_certificate_works_with_pkcs8_and_pkcs1_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let openssl = |args: &[&str]| {
        let out = Command::new(program("openssl"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(README_OPENSSL);
    // The same RSA key in the older PKCS#1 form (`BEGIN RSA PRIVATE KEY`).
    openssl(&[
        "rsa",
        "-in",
        "key.pem",
        "-traditional",
        "-out",
        "key-pkcs1.pem",
    ]);
    let pkcs1 = std::fs::read_to_string(dir.path().join("key-pkcs1.pem")).expect("key");
    assert!(
        pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1}"
    );
    let cert = dir.path().join("cert.pem");
    for key in ["key.pem", "key-pkcs1.pem"] {
        let server = https_with(&cert, &dir.path().join(key), &[]);
        let port = server.addr.port();
        let out = Command::new(program("curl"))
            .args([
                "--silent",
                "--show-error",
                "--noproxy",
                "*",
                "--max-time",
                CLIENT_MAX_TIME_SECS,
            ])
            .arg("--cacert")
            .arg(&cert)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}"])
            .arg(format!("https://localhost:{port}/"))
            .output()
            .expect("run curl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "200 0",
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Two requests on one `HTTPSConnection` with a context trusting the test CA and offering
/// http/1.1 (all `http.client` speaks); prints statuses, the connection count, ALPN, version and serial.
const PYTHON_SCRIPT: &str = r#"
import http.client, ssl, sys

port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols(["http/1.1"])
connects = 0
class Counting(http.client.HTTPSConnection):
    def connect(self):
        global connects
        connects += 1
        super().connect()
conn = Counting("localhost", port, context=ctx, timeout=20)
out = []
for path in ["/HelloWorld.html", "/style.css"]:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    out.append("%s %d %d" % (path, resp.status, len(body)))
sock = conn.sock
out.append("alpn %s" % sock.selected_alpn_protocol())
out.append("version %s" % sock.version())
out.append("serial %s" % sock.getpeercert()["serialNumber"])
out.append("connects %d" % connects)
conn.close()
print("\n".join(out))
"#;

fn python_ssl_keeps_one_verified_connection_and_negotiates_http11() {
    let certs = TestCerts::new();
    let server = https_with(&certs.cert_pem(), &certs.key_pem(), &[]);
    let (port, ca) = (server.addr.port().to_string(), certs.ca_pem());
    let stdout = tests::tools::run_python(PYTHON_SCRIPT, &[&port, ca.to_str().unwrap()]);
    let lines: Vec<&str> = stdout.lines().collect();
    let page = std::fs::metadata(server.root.join("HelloWorld.html"))
        .unwrap()
        .len();
    assert_eq!(lines[0], format!("/HelloWorld.html 200 {page}"));
    assert_eq!(lines[1], "/style.css 200 23");
    assert_eq!(lines[2], "alpn http/1.1");
    assert_eq!(lines[3], "version TLSv1.3");
    assert_eq!(lines[4], format!("serial {LEAF_SERIAL:X}"));
    assert_eq!(lines[5], "connects 1");
}

tests::register! {
    #[needs("curl")] curl_gets_heads_ranges_and_decompresses_over_https,
    #[needs("curl")] curl_reuses_one_tls_connection_for_several_urls,
    #[needs("curl")] curl_follows_the_redirect_port_to_https,
    #[needs("curl")] curl_refuses_a_certificate_for_another_name,
    #[needs("python3")] python_ssl_keeps_one_verified_connection_and_negotiates_http11,
    #[needs("openssl", "curl")] the_readme_openssl_certificate_works_with_pkcs8_and_pkcs1_keys,
}
