//! Interop with real curl: GET, HEAD, HTTP/1.0, 404 pages, connection reuse across
//! several URLs, and `--path-as-is` traversal attempts, all over real sockets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tests::server::{write, TestServer};
use tests::tools::program;

/// Upper bound on one curl run, so a hung server fails the test instead of blocking it.
const CURL_MAX_TIME_SECS: &str = "30";

/// Runs curl quietly (errors still shown), never through a proxy, with a time bound.
fn curl(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(["--silent", "--show-error", "--noproxy", "*"])
        .args(["--max-time", CURL_MAX_TIME_SECS])
        .args(args)
        .output()
        .expect("run curl")
}

/// Runs curl and requires it to exit 0; returns its stdout as text.
fn curl_ok(bin: &Path, args: &[&str]) -> String {
    let out = curl(bin, args);
    assert!(
        out.status.success(),
        "curl {args:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of header `name` in a header block dumped by `curl -D` or `curl -I`.
fn header<'a>(dump: &'a str, name: &str) -> Option<&'a str> {
    dump.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// A file in a fresh temporary folder to receive a download.
fn out_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Bytes of every value 0..=255, repeated, so any re-encoding or truncation shows.
fn binary_fixture(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

fn get_returns_the_file_byte_for_byte_with_status_and_type() {
    let bin = program("curl");
    let server = TestServer::start();
    // A binary file larger than one read chunk, to cover streaming.
    let blob = binary_fixture(300_000);
    write(&server.root, "data/blob.bin", &blob);
    let dir = tempfile::tempdir().expect("temp dir");

    for (path, rel, content_type) in [
        (
            "/HelloWorld.html",
            "HelloWorld.html",
            "text/html; charset=utf-8",
        ),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        (
            "/data/blob.bin",
            "data/blob.bin",
            "application/octet-stream",
        ),
    ] {
        let dest = out_file(&dir, "download");
        let dest_s = dest.to_str().expect("utf-8 temp path");
        let written = curl_ok(
            &bin,
            &[
                "-o",
                dest_s,
                "-w",
                "%{http_code} %{content_type}",
                &server.url(path),
            ],
        );
        assert_eq!(written, format!("200 {content_type}"), "GET {path}");
        let on_disk = std::fs::read(server.root.join(rel)).expect("read fixture");
        let got = std::fs::read(&dest).expect("read download");
        assert!(
            got == on_disk,
            "GET {path}: {} bytes downloaded, {} on disk",
            got.len(),
            on_disk.len()
        );
    }
}

fn head_gives_the_same_headers_as_get_and_no_body() {
    let bin = program("curl");
    let server = TestServer::start();
    let url = server.url("/HelloWorld.html");
    let get_headers = curl_ok(&bin, &["-D", "-", "-o", "/dev/null", &url]);
    // `-w` after the headers says how many body bytes curl received.
    let head = curl_ok(&bin, &["-I", "-w", "body=%{size_download}", &url]);
    let (head_headers, size) = head.rsplit_once("body=").expect("-w output");

    assert!(head_headers.starts_with("HTTP/1.1 200"), "{head_headers}");
    assert_eq!(size, "0", "HEAD must not send a body");
    let len = std::fs::metadata(server.root.join("HelloWorld.html"))
        .expect("stat")
        .len();
    assert_eq!(
        header(head_headers, "content-length"),
        Some(len.to_string().as_str())
    );
    for name in ["content-type", "content-length", "last-modified", "server"] {
        assert!(
            header(head_headers, name).is_some(),
            "HEAD lacks {name}: {head_headers}"
        );
        assert_eq!(
            header(head_headers, name),
            header(&get_headers, name),
            "{name} differs"
        );
    }
    // The server really received a HEAD, not a GET that curl cut short.
    assert!(server
        .wait_for_stdout(
            "\"HEAD /HelloWorld.html HTTP/1.1\" 200",
            std::time::Duration::from_secs(10)
        )
        .is_some());
}

fn http_1_0_works_and_the_connection_closes() {
    let bin = program("curl");
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = out_file(&dir, "hello.html");
    let dest_s = dest.to_str().expect("utf-8 temp path");
    let headers = curl_ok(
        &bin,
        &[
            "--http1.0",
            "-D",
            "-",
            "-o",
            dest_s,
            &server.url("/HelloWorld.html"),
        ],
    );
    assert!(headers.starts_with("HTTP/1."), "{headers}");
    assert!(
        headers.lines().next().is_some_and(|l| l.contains(" 200")),
        "{headers}"
    );
    assert!(
        header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "an HTTP/1.0 request without keep-alive must be answered with Connection: close: {headers}"
    );
    let on_disk = std::fs::read(server.root.join("HelloWorld.html")).expect("read fixture");
    assert_eq!(std::fs::read(&dest).expect("read download"), on_disk);
    assert!(server
        .wait_for_stdout(
            "\"GET /HelloWorld.html HTTP/1.0\" 200",
            std::time::Duration::from_secs(10)
        )
        .is_some());
}

fn http_1_0_with_keep_alive_reuses_the_connection() {
    let bin = program("curl");
    let server = TestServer::start();
    let out = curl_ok(
        &bin,
        &[
            "--http1.0",
            "-H",
            "Connection: keep-alive",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{num_connects}\n",
            &server.url("/HelloWorld.html"),
            &server.url("/style.css"),
        ],
    );
    // curl keeps an HTTP/1.0 connection only when the server answers keep-alive.
    assert_eq!(
        out, "200 1\n200 0\n",
        "second request should reuse the connection"
    );
}

fn missing_file_gets_404_with_an_html_body() {
    let bin = program("curl");
    let server = TestServer::start();
    let out = curl_ok(
        &bin,
        &[
            "-w",
            "\n%{http_code} %{content_type}",
            &server.url("/no-such-page.html"),
        ],
    );
    let (body, status) = out.rsplit_once('\n').expect("-w output");
    assert_eq!(status, "404 text/html; charset=utf-8");
    assert!(body.contains("<h1>404 Not Found</h1>"), "{body}");
    // With --fail curl reports the error status through its exit code (22).
    let failed = curl(
        &bin,
        &[
            "--fail",
            "-o",
            "/dev/null",
            &server.url("/no-such-page.html"),
        ],
    );
    assert_eq!(failed.status.code(), Some(22));
}

fn several_urls_share_one_keep_alive_connection() {
    let bin = program("curl");
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let files = ["HelloWorld.html", "style.css", "sub/page.txt", "index.html"];
    let mut args: Vec<String> = vec![
        "-v".into(),
        "-w".into(),
        "%{http_code} %{num_connects}\n".into(),
    ];
    for (i, rel) in files.iter().enumerate() {
        args.push("-o".into());
        args.push(
            out_file(&dir, &format!("{i}"))
                .to_str()
                .expect("utf-8 temp path")
                .into(),
        );
        args.push(server.url(&format!("/{rel}")));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = curl(&bin, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One new connection for the first URL, none for the rest.
    assert_eq!(stdout, "200 1\n200 0\n200 0\n200 0\n");
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert_eq!(verbose.matches("Connected to").count(), 1, "{verbose}");
    for (i, rel) in files.iter().enumerate() {
        let got = std::fs::read(out_file(&dir, &format!("{i}"))).expect("read download");
        let want = std::fs::read(server.root.join(rel)).expect("read fixture");
        assert!(got == want, "/{rel} differs after connection reuse");
    }
}

fn path_as_is_traversal_attempts_are_refused() {
    let bin = program("curl");
    // The served root sits inside a folder that also holds a secret beside it.
    let outer = tempfile::tempdir().expect("temp dir");
    let root = outer.path().join("site");
    write(&root, "HelloWorld.html", b"<h1>Hello, World!</h1>\n");
    write(&root, "sub/page.txt", b"plain text\n");
    write(&root, ".hidden", b"SECRET-DOTFILE\n");
    write(outer.path(), "secret.txt", b"SECRET-OUTSIDE\n");
    let server = TestServer::start_in(&root, &[]);

    // Each attempt and the one status it must get: 400 for a path that climbs out of the
    // root (however it is spelled), 404 for one that stays inside and names nothing
    // there (a literal `%2e%2e` folder, `/etc/passwd` under the root, dotfiles).
    let attempts = [
        ("/../secret.txt", "400"),
        ("/../../../../../../etc/passwd", "400"),
        ("/sub/../../secret.txt", "400"),
        ("/./../secret.txt", "400"),
        ("/%2e%2e/secret.txt", "400"),
        ("/%2E%2E/secret.txt", "400"),
        ("/.%2e/secret.txt", "400"),
        ("/..%2fsecret.txt", "400"),
        ("/..%2Fsecret.txt", "400"),
        ("/sub/..%2f..%2fsecret.txt", "400"),
        ("/..%5csecret.txt", "400"),
        ("/..\\secret.txt", "400"),
        ("/%252e%252e/secret.txt", "404"),
        ("/%2e%2e%2f%2e%2e%2fetc/passwd", "400"),
        ("//etc/passwd", "404"),
        ("/.hidden", "404"),
        ("/%2ehidden", "404"),
        ("/sub/%00/../../secret.txt", "400"),
    ];
    for (path, want) in attempts {
        let out = curl(
            &bin,
            &["--path-as-is", "-w", "\n%{http_code}", &server.url(path)],
        );
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, status) = text.rsplit_once('\n').expect("-w output");
        assert_eq!(status, want, "{path}");
        for secret in ["SECRET-OUTSIDE", "SECRET-DOTFILE", "root:"] {
            assert!(!body.contains(secret), "{path} leaked {secret}: {body}");
        }
    }
    // The same server still serves what is inside the root.
    let ok = curl_ok(
        &bin,
        &[
            "--path-as-is",
            "-w",
            "\n%{http_code}",
            &server.url("/sub/../HelloWorld.html"),
        ],
    );
    assert!(
        ok.ends_with("\n200") && ok.contains("Hello, World!"),
        "{ok}"
    );
}

tests::register! {
    #[needs("curl")] get_returns_the_file_byte_for_byte_with_status_and_type,
    #[needs("curl")] head_gives_the_same_headers_as_get_and_no_body,
    #[needs("curl")] http_1_0_works_and_the_connection_closes,
    #[needs("curl")] http_1_0_with_keep_alive_reuses_the_connection,
    #[needs("curl")] missing_file_gets_404_with_an_html_body,
    #[needs("curl")] several_urls_share_one_keep_alive_connection,
    #[needs("curl")] path_as_is_traversal_attempts_are_refused,
}
