//! Hostile HTTP/2 clients over real TLS, sent by a small Python script on the `h2`
//! package's frame and HPACK libraries (`http2_peer.py`): malformed requests, rapid
//! reset (CVE-2023-44487) in both shapes, PING, SETTINGS and CONTINUATION floods, and a
//! stream whose window never opens.

use super::http2::{peer_script, Https};
use std::process::Command;
use tests::tools::program;

/// Runs the peer script in `mode` against `h`; returns its one result line.
fn peer(h: &Https, mode: &str, args: &[&str]) -> String {
    let out = Command::new(program("python3:h2"))
        .arg(peer_script())
        .arg(mode)
        .arg(h.port().to_string())
        .arg(h.certs.ca_pem())
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "http2_peer.py {mode} {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// RST_STREAM PROTOCOL_ERROR (RFC 9113 sections 8.1.1 and 8.2.2).
const MALFORMED: &str = "rst 1";

fn requests_with_connection_specific_fields_are_reset_as_malformed() {
    let h = Https::start(&[]);
    for (name, value) in [
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
        ("te", "gzip"),
        ("host", "elsewhere.example"),
    ] {
        assert_eq!(
            peer(&h, "malformed", &[name, value]),
            MALFORMED,
            "{name}: {value}"
        );
    }
    assert_eq!(peer(&h, "malformed", &["te", "trailers"]), "headers");
}

fn rapid_reset_of_served_streams_gets_goaway_enhance_your_calm() {
    let h = Https::start(&[]);
    let line = peer(&h, "reset-accepted", &["1000", "/HelloWorld.html"]);
    let after: u32 = line
        .strip_prefix("goaway 11 after ")
        .unwrap_or_else(|| panic!("no GOAWAY ENHANCE_YOUR_CALM: {line}"))
        .parse()
        .unwrap();
    // More than a browser cancelling a full page (256) passes; the cap comes soon after.
    assert!((256..=500).contains(&after), "{line}");
    let logged = h.server.stderr_lines().join("\n");
    assert!(
        logged.contains("too many stream resets (HTTP/2 rapid reset)"),
        "{logged}"
    );
}

fn a_page_worth_of_resets_is_no_attack() {
    let h = Https::start(&[]);
    assert_eq!(
        peer(&h, "reset-accepted", &["200", "/HelloWorld.html"]),
        "headers after 200"
    );
}

fn a_burst_of_resets_before_accept_gets_goaway_enhance_your_calm() {
    let h = Https::start(&[]);
    assert_eq!(peer(&h, "reset-burst", &["500"]), "goaway 11");
}

fn a_ping_flood_gets_goaway_enhance_your_calm() {
    let h = Https::start(&[]);
    assert_eq!(peer(&h, "flood", &["PING", "200000"]), "goaway 11");
}

fn a_settings_flood_gets_goaway_enhance_your_calm() {
    let h = Https::start(&[]);
    assert_eq!(peer(&h, "flood", &["SETTINGS", "200000"]), "goaway 11");
}

fn a_continuation_flood_gets_goaway_enhance_your_calm() {
    let h = Https::start(&[]);
    assert_eq!(peer(&h, "continuation", &["10000"]), "goaway 11");
}

fn a_stream_whose_window_never_opens_is_reset_after_the_send_timeout() {
    let h = Https::start(&["--send-timeout", "1"]);
    super::http2::write_big(&h, "big.bin", 1 << 20);
    // The head needs no window; the body does: RST_STREAM CANCEL after the timeout.
    assert_eq!(peer(&h, "zero-window", &["/big.bin"]), "headers rst 8");
}

tests::register! {
    #[needs("python3:h2")] requests_with_connection_specific_fields_are_reset_as_malformed,
    #[needs("python3:h2")] rapid_reset_of_served_streams_gets_goaway_enhance_your_calm,
    #[needs("python3:h2")] a_page_worth_of_resets_is_no_attack,
    #[needs("python3:h2")] a_burst_of_resets_before_accept_gets_goaway_enhance_your_calm,
    #[needs("python3:h2")] a_ping_flood_gets_goaway_enhance_your_calm,
    #[needs("python3:h2")] a_settings_flood_gets_goaway_enhance_your_calm,
    #[needs("python3:h2")] a_continuation_flood_gets_goaway_enhance_your_calm,
    #[needs("python3:h2")] a_stream_whose_window_never_opens_is_reset_after_the_send_timeout,
}
