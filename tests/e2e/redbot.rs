//! REDbot (an HTTP conformance checker by the author of several HTTP RFCs) finds nothing
//! `bad` in our responses: a plain file, a large file, a folder index, a listing and a
//! precompressed twin.

use std::process::Command;
use tests::server::{write, TestServer};

/// REDbot's findings for `url`, as `(level, summary)` pairs.
fn redbot(program: &std::path::Path, url: &str) -> Vec<(String, String)> {
    let out = Command::new("timeout")
        .arg("120")
        .arg(program)
        .args(["-o", "har", url])
        .output()
        .expect("run redbot");
    assert!(
        out.status.success(),
        "redbot failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let har = String::from_utf8_lossy(&out.stdout).into_owned();
    // A tiny extraction instead of a JSON dependency: each message has "level" then
    // "summary" keys in one object.
    let script = r#"
import json, sys
d = json.load(sys.stdin)
for e in d["log"]["entries"]:
    for m in e.get("_red_messages", []):
        print(m.get("level", ""), "\t", m.get("summary", ""))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), har.as_bytes()).unwrap();
    let parsed = child.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "could not read REDbot's HAR for {url}"
    );
    String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.trim().to_ascii_lowercase(), b.trim().to_string()))
        .collect()
}

fn redbot_reports_nothing_bad() {
    let program = tests::tools::program("redbot");
    let site = tests::server::site();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(site.path(), "big.bin", &big);
    let text = "REDbot checks this text file. ".repeat(100);
    write(site.path(), "notes.txt", text.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    write(site.path(), "notes.txt.gz", &gz.finish().unwrap());
    let server = TestServer::start_in(site.path(), &["--quiet", "--listing"]);
    let mut bad = Vec::new();
    for path in [
        "/HelloWorld.html",
        "/big.bin",
        "/",
        "/sub/",
        "/noindex/",
        "/notes.txt",
    ] {
        let findings = redbot(&program, &server.url(path));
        assert!(!findings.is_empty(), "REDbot said nothing about {path}");
        for (level, summary) in findings {
            if level == "bad" {
                bad.push(format!("{path}: {summary}"));
            }
        }
    }
    assert!(bad.is_empty(), "REDbot found problems: {bad:#?}");
}

/// The same checks over HTTPS. REDbot checks HTTP, not TLS: it does not verify the
/// certificate, and it resolves names itself, so the URL uses the IP address.
fn redbot_over_https_reports_nothing_bad() {
    let program = tests::tools::program("redbot");
    let certs = tests::certs::TestCerts::new();
    let site = tests::server::site();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(site.path(), "big.bin", &big);
    let server = TestServer::start_in(site.path(), &certs.server_flags(&["--quiet", "--listing"]));
    let mut bad = Vec::new();
    for path in ["/HelloWorld.html", "/big.bin", "/noindex/"] {
        let url = format!("https://{}{path}", server.addr);
        let findings = redbot(&program, &url);
        assert!(!findings.is_empty(), "REDbot said nothing about {url}");
        for (level, summary) in findings {
            if level == "bad" {
                bad.push(format!("{path}: {summary}"));
            }
        }
    }
    assert!(bad.is_empty(), "REDbot found problems over https: {bad:#?}");
}

tests::register! {
    #[needs("redbot")] redbot_reports_nothing_bad,
    #[needs("redbot")] redbot_over_https_reports_nothing_bad,
}
