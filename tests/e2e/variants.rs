//! Precompressed twins and on-the-fly gzip, plus the curl checks (`-r`, `-z`,
//! `--compressed`) from a real client.

use std::io::Read;
use std::process::Command;
use tests::raw::{exchange, Response};
use tests::server::{write, TestServer};

fn req(server: &TestServer, path: &str, extra: &str) -> Response {
    exchange(
        server.addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
    .expect("response")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-c", "-n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    out.stdout
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::GzDecoder::new(data);
    let mut out = Vec::new();
    d.read_to_end(&mut out).expect("valid gzip");
    out
}

fn text() -> Vec<u8> {
    "The quick brown fox jumps over the lazy dog.\n"
        .repeat(200)
        .into_bytes()
}

fn precompressed_twin_is_sent_when_accepted() {
    let site = tests::server::site();
    let body = text();
    write(site.path(), "app.js", &body);
    write(site.path(), "app.js.gz", &gzip(&body));
    write(
        site.path(),
        "app.js.br",
        b"not really brotli but it is the br twin",
    );
    let server = TestServer::start_in(site.path(), &["--quiet"]);

    let plain = req(&server, "/app.js", "");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, body);

    let gz = req(&server, "/app.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        gz.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(gunzip(&gz.body), body);

    let br = req(&server, "/app.js", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(br.header("content-encoding"), Some("br"));
    let no_br = req(&server, "/app.js", "Accept-Encoding: br;q=0, gzip\r\n");
    assert_eq!(no_br.header("content-encoding"), Some("gzip"));
    let identity = req(&server, "/app.js", "Accept-Encoding: identity\r\n");
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("vary"), Some("Accept-Encoding"));

    // Each coding has its own validator, and ranges apply to the coded bytes.
    let tags = [plain.header("etag"), gz.header("etag"), br.header("etag")];
    assert!(
        tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
        "{tags:?}"
    );
    let r = req(
        &server,
        "/app.js",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.body, gz.body[..10]);
    // A 304 for the gzip tag.
    let etag = gz.header("etag").unwrap();
    let r = req(
        &server,
        "/app.js",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(r.status, 304);
}

fn compress_flag_gzips_text_on_the_fly_but_not_ranges_or_images() {
    let site = tests::server::site();
    let body = text();
    write(site.path(), "page.html", &body);
    write(site.path(), "small.txt", b"tiny");
    write(site.path(), "photo.png", &vec![0x89u8; 5000]);
    let server = TestServer::start_in(site.path(), &["--quiet", "--compress"]);
    let r = req(&server, "/page.html", "Accept-Encoding: gzip, deflate\r\n");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert!(r.body.len() < body.len() / 4);
    assert_eq!(gunzip(&r.body), body);
    let r = req(
        &server,
        "/page.html",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!((r.status, r.header("content-encoding")), (206, None));
    assert_eq!(
        req(&server, "/photo.png", "Accept-Encoding: gzip\r\n").header("content-encoding"),
        None
    );
    assert_eq!(
        req(&server, "/small.txt", "Accept-Encoding: gzip\r\n").header("content-encoding"),
        None
    );
    assert_eq!(
        req(&server, "/page.html", "").header("content-encoding"),
        None
    );
    // Without the flag nothing is compressed on the fly.
    let plain = TestServer::start_in(site.path(), &["--quiet"]);
    assert_eq!(
        req(&plain, "/page.html", "Accept-Encoding: gzip\r\n").header("content-encoding"),
        None
    );
}

fn curl_ranges_conditionals_and_compression() {
    let curl = tests::tools::program("curl");
    let site = tests::server::site();
    let body = text();
    write(site.path(), "doc.txt", &body);
    write(site.path(), "doc.txt.gz", &gzip(&body));
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let curl_out = |args: &[&str]| -> (String, Vec<u8>) {
        let out = Command::new(&curl)
            .args([
                "-s",
                "--noproxy",
                "*",
                "--max-time",
                "20",
                "-w",
                "%{http_code}",
                "-o",
                "-",
            ])
            .args(args)
            .output()
            .expect("curl");
        let mut stdout = out.stdout;
        let code = String::from_utf8_lossy(&stdout[stdout.len() - 3..]).into_owned();
        stdout.truncate(stdout.len() - 3);
        (code, stdout)
    };
    let url = server.url("/doc.txt");
    let (code, got) = curl_out(&["-r", "4-8", &url]);
    assert_eq!((code.as_str(), got.as_slice()), ("206", &body[4..9]));
    let (code, got) = curl_out(&["-z", "Fri, 01 Jan 2100 00:00:00 GMT", &url]);
    assert_eq!((code.as_str(), got.len()), ("304", 0));
    let (code, got) = curl_out(&["-z", "Thu, 01 Jan 1970 00:00:01 GMT", &url]);
    assert_eq!((code.as_str(), got), ("200", body.clone()));
    let (code, got) = curl_out(&["--compressed", &url]);
    assert_eq!((code.as_str(), got), ("200", body.clone()));
    let (_, headers) = curl_out(&["--compressed", "-D", "-", "-o", "/dev/null", &url]);
    assert!(String::from_utf8_lossy(&headers)
        .to_ascii_lowercase()
        .contains("content-encoding: gzip"));
    // Resume a download: curl -C - after a partial file.
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("doc.part");
    std::fs::write(&part, &body[..1000]).unwrap();
    let status = Command::new(&curl)
        .args(["-s", "--noproxy", "*", "--max-time", "20", "-C", "-", "-o"])
        .arg(&part)
        .arg(&url)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&part).unwrap(), body);
}

/// Sets `name`'s modification time to one second after 1970 (`touch -d @1`).
fn set_mtime_to_one(root: &std::path::Path, name: &str) {
    let f = std::fs::File::options()
        .write(true)
        .open(root.join(name))
        .unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
}

/// Issue 9 item 1: the gzip cache was keyed by size + mtime, so a HEAD (or GET) for one
/// file made every gzip client get its bytes for another file of the same size and
/// mtime (tar extraction, `cp -p`, reproducible builds).
fn compress_never_serves_one_files_gzip_for_another_of_the_same_size_and_mtime() {
    let site = tests::server::site();
    let a = "a".repeat(4000).into_bytes();
    let b = "b".repeat(4000).into_bytes();
    write(site.path(), "a.txt", &a);
    write(site.path(), "b.txt", &b);
    set_mtime_to_one(site.path(), "a.txt");
    set_mtime_to_one(site.path(), "b.txt");
    let server = TestServer::start_in(site.path(), &["--quiet", "--compress"]);
    let head = exchange(
        server.addr,
        b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .expect("HEAD response");
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    let gz_b = req(&server, "/b.txt", "Accept-Encoding: gzip\r\n");
    assert_eq!(gz_b.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz_b.body), b);
    let gz_a = req(&server, "/a.txt", "Accept-Encoding: gzip\r\n");
    assert_eq!(gunzip(&gz_a.body), a);
    // Their validators differ too, so no cache can mix them up either.
    assert_ne!(gz_a.header("etag"), gz_b.header("etag"));
    let (plain_a, plain_b) = (req(&server, "/a.txt", ""), req(&server, "/b.txt", ""));
    assert_ne!(plain_a.header("etag"), plain_b.header("etag"));
}

/// Issue 9 item 1: a file replaced by one of the same size with the old mtime put back
/// (`cp -p`, `touch -r`) kept its ETag, so a client's If-None-Match got a 304 for the
/// old bytes.
fn a_replacement_with_the_same_size_and_mtime_gets_a_new_etag() {
    let site = tests::server::site();
    write(site.path(), "doc.txt", b"version one\n");
    set_mtime_to_one(site.path(), "doc.txt");
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let first = req(&server, "/doc.txt", "");
    let etag = first.header("etag").expect("etag").to_string();
    write(site.path(), "doc.new", b"version two\n");
    set_mtime_to_one(site.path(), "doc.new");
    std::fs::rename(site.path().join("doc.new"), site.path().join("doc.txt")).unwrap();
    let again = req(&server, "/doc.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(again.status, 200);
    assert_eq!(again.body, b"version two\n");
    assert_ne!(again.header("etag"), Some(etag.as_str()));
}

tests::register! {
    precompressed_twin_is_sent_when_accepted,
    compress_never_serves_one_files_gzip_for_another_of_the_same_size_and_mtime,
    a_replacement_with_the_same_size_and_mtime_gets_a_new_etag,
    compress_flag_gzips_text_on_the_fly_but_not_ranges_or_images,
    #[needs("curl")] curl_ranges_conditionals_and_compression,
}
