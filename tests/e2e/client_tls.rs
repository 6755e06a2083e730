//! HTTPS against peers the tests start: a rustls server with rcgen certificates (a CA, a
//! good leaf for localhost and 127.0.0.1, an expired leaf, a wrong-name leaf) and nginx
//! with `ssl`. Every failure is one line naming the cause, with exit code 7.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tests::certs::{Leaf, TestCerts};
use tests::client::{run, Home};
use tests::client_tls::{greeter, hostile_self_signed, nginx_tls, Ending, TlsPeer};
use tests::server::TestServer;

const TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

const REPLY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello tls\n";

fn client(args: &[&str]) -> Output {
    run(Home::new().client(args), b"")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn good(certs: &TestCerts, ending: Ending) -> TlsPeer {
    serve(&certs.leaf, REPLY, ending)
}

/// A TLS peer presenting `leaf` (with its chain) that answers every request with `reply`.
fn serve(leaf: &Leaf, reply: &'static [u8], ending: Ending) -> TlsPeer {
    TlsPeer::start(&leaf.fullchain, &leaf.key, reply, ending, None)
}

/// Our client fetching `https://localhost:PORT/` from `peer`, trusting the test CA.
fn fetch_trusting_ca(certs: &TestCerts, peer: &TlsPeer) -> Output {
    let url = format!("https://localhost:{}/", peer.port);
    client(&["--cacert", certs.ca_pem().to_str().unwrap(), &url])
}

fn trusted_with_cacert_by_name_and_by_ip() {
    let certs = TestCerts::new();
    let peer = good(&certs, Ending::KeepAlive);
    let ca = certs.ca_pem();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}/", peer.port);
        let out = client(&["--cacert", ca.to_str().unwrap(), &url]);
        assert_eq!(out.status.code(), Some(0), "{host}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "hello tls\n");
        assert_eq!(text(&out.stderr), "", "no warning when verified");
    }
    // SNI names the host; an IP address is never sent as one (RFC 6066 section 3).
    assert_eq!(
        *peer.names.lock().unwrap(),
        [Some("localhost".to_string()), None]
    );
    // The HOST PORT form with --tls speaks TLS too.
    let port = peer.port.to_string();
    let out = client(&[
        "--tls",
        "--cacert",
        ca.to_str().unwrap(),
        "localhost",
        &port,
        "/x",
    ]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "hello tls\n"),
        "{}",
        text(&out.stderr)
    );
}

fn the_system_store_is_used_when_no_cacert_is_given() {
    // rustls-platform-verifier reads the system's store, which SSL_CERT_FILE names.
    let certs = TestCerts::new();
    let peer = good(&certs, Ending::KeepAlive);
    let url = format!("https://localhost:{}/", peer.port);
    let mut cmd = Home::new().client(&[&url]);
    cmd.env("SSL_CERT_FILE", certs.ca_pem());
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello tls\n");
}

fn an_unknown_issuer_says_to_pass_cacert_or_k() {
    let certs = TestCerts::new();
    let peer = good(&certs, Ending::KeepAlive);
    let url = format!("https://localhost:{}/", peer.port);
    let out = client(&[&url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.starts_with("client: error: the certificate of localhost was issued by an authority this system does not trust (CN=server tests CA)"), "{err}");
    assert!(
        err.contains("pass --cacert FILE") && err.contains("-k"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn k_skips_verification_and_warns() {
    let certs = TestCerts::new();
    let peer = TlsPeer::start(
        &certs.expired.cert,
        &certs.expired.key,
        REPLY,
        Ending::KeepAlive,
        None,
    );
    let url = format!("https://localhost:{}/", peer.port);
    let out = client(&["-k", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello tls\n");
    assert!(
        text(&out.stderr).contains("warning: -k: the certificate of localhost was not verified"),
        "{}",
        text(&out.stderr)
    );
}

fn an_expired_certificate_gives_its_date() {
    let certs = TestCerts::new();
    let peer = serve(&certs.expired, REPLY, Ending::KeepAlive);
    let out = fetch_trusting_ca(&certs, &peer);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("the certificate of localhost expired on 2001-01-01 00:00:00 UTC"),
        "{err}"
    );
}

fn a_wrong_name_lists_the_names_the_certificate_has() {
    let certs = TestCerts::new();
    let peer = serve(&certs.wrong_name, REPLY, Ending::KeepAlive);
    let out = fetch_trusting_ca(&certs, &peer);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("the certificate of localhost is for wrong.example, not localhost"),
        "{err}"
    );
}

fn a_plain_http_server_on_the_tls_port_is_named() {
    let port =
        greeter(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let url = format!("https://127.0.0.1:{port}/");
    let out = client(&[&url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("answered in plain HTTP, not TLS; try http://127.0.0.1:"),
        "{err}"
    );
}

fn a_tls_server_on_a_plain_port_is_named() {
    let certs = TestCerts::new();
    let peer = good(&certs, Ending::KeepAlive);
    let url = format!("http://127.0.0.1:{}/", peer.port);
    let out = client(&[&url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("this port speaks TLS, try https://127.0.0.1:"),
        "{err}"
    );
}

fn verbose_shows_version_suite_alpn_and_the_certificate() {
    let certs = TestCerts::new();
    let ca = certs.ca_pem();
    let peer = good(&certs, Ending::KeepAlive);
    let url = format!("https://localhost:{}/", peer.port);
    let out = client(&["-v", "--cacert", ca.to_str().unwrap(), &url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("* TLSv1.3, TLS13_"), "{err}");
    assert!(err.contains("ALPN http/1.1"), "{err}");
    assert!(
        err.contains("certificate: subject CN=server tests leaf 0x1001; issuer CN=server tests CA; names localhost, 127.0.0.1, ::1; expires 2099-01-01 00:00:00 UTC"),
        "{err}"
    );
    let old = TlsPeer::start(
        &certs.leaf.fullchain,
        &certs.leaf.key,
        REPLY,
        Ending::KeepAlive,
        Some(TLS12_ONLY),
    );
    let url = format!("https://localhost:{}/", old.port);
    let out = client(&["-v", "--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("* TLSv1.2, TLS_ECDHE_"),
        "{}",
        text(&out.stderr)
    );
}

fn kept_and_reopened_tls_connections() {
    let certs = TestCerts::new();
    let ca = certs.ca_pem();
    let kept = good(&certs, Ending::KeepAlive);
    let port = kept.port.to_string();
    let script = b"get /a\nget /b\nget /c\n";
    let out = run(
        Home::new().client(&[
            "--body-only",
            "--cacert",
            ca.to_str().unwrap(),
            "--tls",
            "localhost",
            &port,
        ]),
        script,
    );
    assert_eq!(
        text(&out.stdout),
        "hello tls\n".repeat(3),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        kept.connection_count(),
        1,
        "one TLS connection for three requests"
    );
    // A server that closes (with close_notify) after each reply: a new one each time, no error.
    let closing = serve(&certs.leaf, REPLY, Ending::CloseNotify);
    let port = closing.port.to_string();
    let out = run(
        Home::new().client(&[
            "--body-only",
            "--cacert",
            ca.to_str().unwrap(),
            "--tls",
            "localhost",
            &port,
        ]),
        script,
    );
    assert_eq!(
        text(&out.stdout),
        "hello tls\n".repeat(3),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "");
    assert_eq!(closing.connection_count(), 3);
}

fn a_close_delimited_body_cut_without_close_notify_is_a_truncation() {
    let certs = TestCerts::new();
    let ca = certs.ca_pem();
    let reply: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nmaybe all";
    let cut = serve(&certs.leaf, reply, Ending::Cut);
    let url = format!("https://localhost:{}/", cut.port);
    let out = client(&["--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(text(&out.stdout), "maybe all");
    assert!(
        text(&out.stderr).contains("the TLS connection was cut without close_notify"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1));
    let clean = serve(&certs.leaf, reply, Ending::CloseNotify);
    let url = format!("https://localhost:{}/", clean.port);
    let out = client(&["--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(0), "")
    );
}

fn nginx_over_tls() {
    let nginx = tests::tools::program("nginx");
    let certs = TestCerts::new();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("HelloWorld.html"),
        "<h1>Hello over TLS</h1>\n",
    )
    .unwrap();
    let server = nginx_tls(&nginx, root.path(), &certs.leaf.fullchain, &certs.leaf.key)
        .expect("start nginx with ssl");
    let ca = certs.ca_pem();
    let url = format!("https://localhost:{}/HelloWorld.html", server.port);
    let out = client(&["-v", "--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "<h1>Hello over TLS</h1>\n");
    assert!(
        text(&out.stderr).contains("ALPN http/1.1"),
        "{}",
        text(&out.stderr)
    );
    let out = client(&[&url]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "untrusted without --cacert: {}",
        text(&out.stderr)
    );
    let port = server.port.to_string();
    let out = run(
        Home::new().client(&[
            "--body-only",
            "--cacert",
            ca.to_str().unwrap(),
            "--tls",
            "localhost",
            &port,
        ]),
        b"get /HelloWorld.html\nget /HelloWorld.html\n",
    );
    assert_eq!(
        text(&out.stdout),
        "<h1>Hello over TLS</h1>\n".repeat(2),
        "{}",
        text(&out.stderr)
    );
}

fn our_server_over_https() {
    let certs = TestCerts::new();
    let server = tests::server::TestServer::start_with(&certs.server_flags(&[]));
    let ca = certs.ca_pem();
    let port = server.addr.port();
    let url = format!("https://localhost:{port}/HelloWorld.html");
    let out = client(&["-v", "--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        out.stdout,
        std::fs::read(server.root.join("HelloWorld.html")).unwrap()
    );
    assert!(
        text(&out.stderr).contains("ALPN http/1.1"),
        "{}",
        text(&out.stderr)
    );
    let script = b"get /HelloWorld.html\nhead /style.css\nget /HelloWorld.html\n";
    let out = run(
        Home::new().client(&[
            "--headers-only",
            "--cacert",
            ca.to_str().unwrap(),
            "--tls",
            "localhost",
            &port.to_string(),
        ]),
        script,
    );
    assert_eq!(
        text(&out.stdout).matches("HTTP/1.1 200 OK").count(),
        3,
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "");
    // Our server answers plain HTTP on its TLS port with a 400 that says what to do
    // (as nginx does), which the client shows as the response it is.
    let out = client(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("use https://"),
        "{}",
        text(&out.stdout)
    );
}

fn a_certificates_escape_sequences_are_never_printed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = hostile_self_signed(dir.path());
    let peer = TlsPeer::start(&cert, &key, REPLY, Ending::KeepAlive, None);
    let url = format!("https://localhost:{}/", peer.port);
    let out = client(&[&url]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        !out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07),
        "{:?}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("evil \\x1b]0;pwned\\x07 CA"),
        "{}",
        text(&out.stderr)
    );
    let out = client(&["-k", "-v", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !out.stderr.contains(&0x1b),
        "-v escapes the subject too: {:?}",
        text(&out.stderr)
    );
}

/// Runs the README's certificate one-liner in `dir` (openssl marks it `CA:TRUE`),
/// writing `{stem}cert.pem` and `{stem}key.pem`.
fn readme_certificate(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{stem}cert.pem")),
        dir.join(format!("{stem}key.pem")),
    );
    let out = Command::new(tests::tools::program("openssl"))
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "365", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl: {}", text(&out.stderr));
    (cert, key)
}

/// Our server on `bind` with that certificate, and the site it serves (kept alive with it).
fn our_server_with(cert: &Path, key: &Path, bind: &str) -> (TestServer, tempfile::TempDir) {
    let site = tests::server::site();
    let mut command = Command::new(tests::bin::binary("server"));
    command
        .args(["--port", "0", "--bind", bind, "--root"])
        .arg(site.path())
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key);
    (TestServer::spawn(command, site.path()), site)
}

fn the_readme_certificate_named_by_cacert_is_trusted_as_the_servers_own() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = readme_certificate(dir.path(), "");
    let (server, _site) = our_server_with(&cert, &key, "127.0.0.1");
    let page = std::fs::read(server.root.join("HelloWorld.html")).unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}/HelloWorld.html", server.addr.port());
        let out = client(&["--cacert", cert.to_str().unwrap(), &url]);
        assert_eq!(out.status.code(), Some(0), "{host}: {}", text(&out.stderr));
        assert_eq!(out.stdout, page, "{host}");
        assert_eq!(text(&out.stderr), "", "{host}: verified, so no warning");
    }
}

fn the_readme_certificate_for_another_host_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = readme_certificate(dir.path(), "");
    // The same server, certificate and --cacert, reached as ::1: a name it does not have.
    let (server, _site) = our_server_with(&cert, &key, "::1");
    let url = format!("https://[::1]:{}/HelloWorld.html", server.addr.port());
    let out = client(&["--cacert", cert.to_str().unwrap(), &url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.starts_with("client: error: the certificate of ")
            && err.contains("is for localhost, 127.0.0.1, not "),
        "{err}"
    );
    assert_eq!(out.stdout, b"", "nothing fetched");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn an_unrelated_self_signed_ca_certificate_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = readme_certificate(dir.path(), "");
    let (other, _) = readme_certificate(dir.path(), "other-");
    let (server, _site) = our_server_with(&cert, &key, "127.0.0.1");
    let url = format!("https://localhost:{}/HelloWorld.html", server.addr.port());
    for args in [vec!["--cacert", other.to_str().unwrap(), &url], vec![&url]] {
        let out = client(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{args:?}: {err}");
        assert_eq!(
            err,
            "client: error: the certificate of localhost was refused: it is a CA certificate (CA:TRUE) used as the server's own; pass that very certificate with --cacert FILE, or make one with -addext basicConstraints=critical,CA:FALSE (or -k to skip verification (insecure))\n",
            "{args:?}"
        );
        assert_eq!(out.stdout, b"", "{args:?}: nothing fetched");
    }
}

fn an_expired_self_signed_certificate_named_by_cacert_is_refused_with_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let peer = TlsPeer::start(&cert_path, &key_path, REPLY, Ending::KeepAlive, None);
    let url = format!("https://localhost:{}/", peer.port);
    let out = client(&["--cacert", cert_path.to_str().unwrap(), &url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("the certificate of localhost expired on 2001-01-01 00:00:00 UTC"),
        "{err}"
    );
    assert_eq!(out.stdout, b"");
}

tests::register! {
    our_server_over_https,
    a_certificates_escape_sequences_are_never_printed_raw,
    trusted_with_cacert_by_name_and_by_ip,
    the_system_store_is_used_when_no_cacert_is_given,
    an_unknown_issuer_says_to_pass_cacert_or_k,
    k_skips_verification_and_warns,
    an_expired_certificate_gives_its_date,
    a_wrong_name_lists_the_names_the_certificate_has,
    a_plain_http_server_on_the_tls_port_is_named,
    a_tls_server_on_a_plain_port_is_named,
    verbose_shows_version_suite_alpn_and_the_certificate,
    kept_and_reopened_tls_connections,
    a_close_delimited_body_cut_without_close_notify_is_a_truncation,
    #[needs("nginx")] nginx_over_tls,
    #[needs("openssl")] the_readme_certificate_named_by_cacert_is_trusted_as_the_servers_own,
    #[needs("openssl")] the_readme_certificate_for_another_host_name_is_refused,
    #[needs("openssl")] an_unrelated_self_signed_ca_certificate_is_refused_in_plain_words,
    an_expired_self_signed_certificate_named_by_cacert_is_refused_with_its_date,
}
