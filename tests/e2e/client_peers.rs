//! The real `client` against servers no one here wrote: Python's `http.server`
//! (HTTP/1.0, close-delimited) and Debian's nginx (HTTP/1.1, keep-alive, chunked).
//! Each is ignored when its program is missing, except under `CI=true`, where it fails.

use std::path::Path;
use std::process::Output;
use tests::client::{nginx_server, python_server, run, Home};

const PAGE: &str = "<html><body><a href=\"other.html\">other</a> caf\u{e9}</body></html>\n";

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).expect("write the site");
    };
    write("HelloWorld.html", PAGE.as_bytes());
    write("a b.txt", b"spaced\n");
    write("bin.dat", &[0, 1, 2, 255]);
    dir
}

fn client(port: u16, args: &[&str], stdin: &str) -> Output {
    let port = port.to_string();
    let mut all = vec!["127.0.0.1", port.as_str()];
    all.extend_from_slice(args);
    run(Home::new().client(&all), stdin.as_bytes())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn python_http_server() {
    let root = site();
    let server = python_server(root.path()).expect("start python3 -m http.server");
    let port = server.port;

    let out = client(port, &["HelloWorld.html", "-i"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("HTTP/1.0 200 OK\r\n"), "{stdout}");
    assert!(stdout.ends_with(&format!("\r\n\r\n{PAGE}")), "{stdout}");

    let out = client(port, &["a b.txt", "--body-only"], "");
    assert_eq!(text(&out.stdout), "spaced\n");

    let out = client(port, &["bin.dat", "--body-only"], "");
    assert_eq!(out.stdout, [0u8, 1, 2, 255]);

    let out = client(port, &["missing.html"], "");
    assert_eq!(out.status.code(), Some(4));

    let out = client(port, &["HelloWorld.html", "-I"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("\r\n\r\n"),
        "no body after HEAD"
    );

    // HTTP/1.0 closes after each reply: the REPL must reconnect every time.
    let out = client(port, &["--body-only"], "get /a%20b.txt\nget /a b.txt\n");
    assert_eq!(
        text(&out.stdout),
        "spaced\nspaced\n",
        "{}",
        text(&out.stderr)
    );
}

fn nginx() {
    let nginx = tests::tools::program("nginx");
    let root = site();
    let server = nginx_server(Path::new(&nginx), root.path()).expect("start nginx");
    let port = server.port;

    let out = client(port, &["/HelloWorld.html", "-i"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("HTTP/1.1 200 OK\r\nServer: nginx"),
        "{stdout}"
    );
    assert!(stdout.ends_with(PAGE));

    // sub_filter drops Content-Length, so nginx sends the page chunked.
    let out = client(port, &["/filtered/HelloWorld.html", "-i"], "");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&PAGE.replace("</body>", "<p>filtered</p></body>")),
        "{stdout}"
    );

    let out = client(port, &["/nope"], "");
    assert_eq!(out.status.code(), Some(4));

    // Keep-alive: several commands, one after another, on nginx's kept connection.
    let out = client(
        port,
        &["--body-only"],
        "get /a b.txt\nhead /HelloWorld.html\nget /HelloWorld.html\nget /\n",
    );
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("spaced\n{PAGE}")), "{stdout}");
    assert!(
        stdout.contains("HelloWorld.html"),
        "autoindex lists the file: {stdout}"
    );
    assert_eq!(text(&out.stderr), "");
}

tests::register! {
    #[needs("python3")] python_http_server,
    #[needs("nginx")] nginx,
}
