//! A real browser against the server: headless Chromium loads the repo's `www/` pages
//! and a missing page, and we check what it rendered, what it fetched, and its
//! screenshots (the assignment's hand-in). `UPDATE_SCREENSHOTS=1` copies the
//! screenshots to `docs/` for the README.

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tests::server::TestServer;

/// Longest one Chromium run may take before it is killed and the test fails; a healthy
/// run takes a second or two, a first start on a cold machine a few more.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(60);

/// How long to wait for an access-log line after the browser has exited; the server
/// logs a request as it answers it, so this only covers the log pipe's latency.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// Screenshot size in pixels, as passed to `--window-size`.
const WIDTH: u32 = 900;
const HEIGHT: u32 = 600;

/// A 900x600 screenshot of an almost empty page is about 3 KiB; one showing a heading
/// and a paragraph is several times that.
const MIN_SCREENSHOT_BYTES: u64 = 6 * 1024;

/// What one Chromium run left behind.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A temporary copy of the repo's `www/` folder, so the test shows the real pages.
pub(crate) fn www_copy() -> tempfile::TempDir {
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&www, dir.path());
    assert!(
        dir.path().join("HelloWorld.html").is_file(),
        "www/HelloWorld.html missing"
    );
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read www/") {
        let entry = entry.expect("www/ entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&dest).expect("create folder");
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy www/ file");
        }
    }
}

/// Runs headless Chromium with `args` then `url`, with a fresh profile, and kills it if
/// it has not exited within [`CHROMIUM_LIMIT`]. Output goes to files, not pipes, so a
/// helper process that outlives the browser cannot keep us waiting.
pub(crate) fn run_chromium(bin: &Path, args: &[&str], url: &str) -> Run {
    let scratch = tempfile::tempdir().expect("temp dir");
    let profile = scratch.path().join("profile");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let end = Instant::now() + CHROMIUM_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            panic!("chromium did not finish within {CHROMIUM_LIMIT:?} on {url}; stderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    Run {
        status,
        stdout: std::fs::read_to_string(&out_path).expect("read chromium stdout"),
        stderr: std::fs::read_to_string(&err_path).expect("read chromium stderr"),
    }
}

/// Loads `url` and returns the DOM Chromium built from it.
fn dump_dom(bin: &Path, url: &str) -> String {
    let run = run_chromium(bin, &["--dump-dom"], url);
    assert!(
        run.status.success(),
        "chromium --dump-dom {url}: {}\n{}",
        run.status,
        run.stderr
    );
    run.stdout
}

/// Loads `url`, lets its scripts run (fetches included) for up to 10 s of virtual time,
/// and returns the DOM they left.
pub(crate) fn dump_dom_after_scripts(bin: &Path, url: &str) -> String {
    let run = run_chromium(bin, &["--dump-dom", "--virtual-time-budget=10000"], url);
    assert!(
        run.status.success(),
        "chromium --dump-dom {url}: {}\n{}",
        run.status,
        run.stderr
    );
    run.stdout
}

/// Loads `url` and saves a [`WIDTH`]x[`HEIGHT`] screenshot to `png`.
fn screenshot(bin: &Path, url: &str, png: &Path) {
    let shot = format!("--screenshot={}", png.display());
    let size = format!("--window-size={WIDTH},{HEIGHT}");
    let run = run_chromium(bin, &[&shot, &size], url);
    assert!(
        run.status.success(),
        "chromium --screenshot {url}: {}\n{}",
        run.status,
        run.stderr
    );
}

/// Checks that `png` is a PNG of the window's size with more than blank-page content.
fn assert_screenshot(png: &Path) -> Vec<u8> {
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
    // The IHDR chunk comes first: width and height are big-endian at bytes 16..24.
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!((dim(16), dim(20)), (WIDTH, HEIGHT), "{}", png.display());
    assert!(
        bytes.len() as u64 >= MIN_SCREENSHOT_BYTES,
        "{} is only {} bytes: an empty page?",
        png.display(),
        bytes.len()
    );
    bytes
}

/// Requires an access-log line for `GET path` over `version` answered with `status`.
fn assert_logged_as(server: &TestServer, path: &str, version: &str, status: u16) {
    let needle = format!("\"GET {path} {version}\" {status} ");
    assert!(
        server.wait_for_stdout(&needle, LOG_WAIT).is_some(),
        "no access-log line with {needle}; log:\n{}",
        server.stdout_lines().join("\n")
    );
}

fn chromium_renders_hello_world_and_fetches_its_stylesheet_and_image() {
    let bin = tests::tools::program("chromium");
    let site = www_copy();
    let server = TestServer::start_in(site.path(), &[]);
    let dom = dump_dom(&bin, &server.url("/HelloWorld.html"));
    assert!(dom.contains("<title>Hello World</title>"), "{dom}");
    assert!(dom.contains("<h1>Hello, World!</h1>"), "{dom}");
    // The DOM ends with the document's real end, so the whole body arrived.
    assert!(dom.contains("Back to the index"), "{dom}");
    assert_logged_as(&server, "/HelloWorld.html", "HTTP/1.1", 200);
    assert_logged_as(&server, "/style.css", "HTTP/1.1", 200);
    assert_logged_as(&server, "/logo.svg", "HTTP/1.1", 200);
}

fn chromium_renders_the_404_page_for_a_missing_file() {
    let bin = tests::tools::program("chromium");
    let site = www_copy();
    let server = TestServer::start_in(site.path(), &[]);
    let dom = dump_dom(&bin, &server.url("/missing.html"));
    assert!(dom.contains("<title>404 Not Found</title>"), "{dom}");
    assert!(dom.contains("<h1>404 Not Found</h1>"), "{dom}");
    assert!(!dom.contains("Hello, World!"), "{dom}");
    assert_logged_as(&server, "/missing.html", "HTTP/1.1", 404);
}

fn chromium_screenshots_show_the_page_and_the_404() {
    let bin = tests::tools::program("chromium");
    let site = www_copy();
    let server = TestServer::start_in(site.path(), &[]);
    let shots = tempfile::tempdir().expect("temp dir");
    let hello = shots.path().join("hello.png");
    let missing = shots.path().join("404.png");
    screenshot(&bin, &server.url("/HelloWorld.html"), &hello);
    screenshot(&bin, &server.url("/missing.html"), &missing);
    let hello_bytes = assert_screenshot(&hello);
    let missing_bytes = assert_screenshot(&missing);
    assert!(
        hello_bytes != missing_bytes,
        "the page and the 404 rendered the same"
    );
    // The page's stylesheet and image were loaded for the screenshot.
    assert_logged_as(&server, "/style.css", "HTTP/1.1", 200);
    assert_logged_as(&server, "/logo.svg", "HTTP/1.1", 200);

    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::create_dir_all(&docs).expect("create docs/");
        std::fs::copy(&hello, docs.join("screenshot-hello.png")).expect("copy screenshot");
        std::fs::copy(&missing, docs.join("screenshot-404.png")).expect("copy screenshot");
        eprintln!("updated docs/screenshot-hello.png and docs/screenshot-404.png");
    }
}

/// Headless Chromium over HTTPS, trusting exactly our test leaf by the SHA-256 of its key
/// (`--ignore-certificate-errors-spki-list`, which Chromium honours with a profile dir):
/// the page renders and its assets load; trusting another key instead gets no page.
fn chromium_loads_hello_world_over_https() {
    let bin = tests::tools::program("chromium");
    let certs = tests::certs::TestCerts::new();
    let site = www_copy();
    let server = TestServer::start_in(site.path(), &certs.server_flags(&[]));
    let url = format!("https://localhost:{}/HelloWorld.html", server.addr.port());
    let trust = |leaf: &tests::certs::Leaf| {
        format!(
            "--ignore-certificate-errors-spki-list={}",
            leaf.spki_sha256_base64()
        )
    };
    let run = run_chromium(&bin, &["--dump-dom", &trust(&certs.leaf)], &url);
    assert!(
        run.status.success(),
        "chromium: {}\n{}",
        run.status,
        run.stderr
    );
    assert!(
        run.stdout.contains("<h1>Hello, World!</h1>"),
        "{}",
        run.stdout
    );
    assert_logged_as(&server, "/HelloWorld.html", "HTTP/2.0", 200);
    assert_logged_as(&server, "/style.css", "HTTP/2.0", 200);
    assert_logged_as(&server, "/logo.svg", "HTTP/2.0", 200);
    let untrusted = run_chromium(&bin, &["--dump-dom", &trust(&certs.wrong_name)], &url);
    assert!(
        !untrusted.stdout.contains("Hello, World!"),
        "an untrusted certificate was accepted: {}",
        untrusted.stdout
    );
}

tests::register! {
    #[needs("chromium")] chromium_renders_hello_world_and_fetches_its_stylesheet_and_image,
    #[needs("chromium")] chromium_renders_the_404_page_for_a_missing_file,
    #[needs("chromium")] chromium_screenshots_show_the_page_and_the_404,
    #[needs("chromium")] chromium_loads_hello_world_over_https,
}
