//! Validators, conditional requests and ranges (RFC 9110 sections 8.8, 13, 14) end to end.

use std::time::{Duration, SystemTime};
use tests::raw::{exchange, Response};
use tests::server::{write, TestServer};

fn req(server: &TestServer, path: &str, extra: &str) -> Response {
    exchange(
        server.addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
    .expect("response")
}

/// A server whose `data.txt` holds 100 known bytes and was modified a while ago.
fn server_with_data() -> (TestServer, Vec<u8>) {
    let site = tests::server::site();
    let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    write(site.path(), "data.txt", &data);
    let old = SystemTime::now() - Duration::from_secs(3600);
    let f = std::fs::File::options()
        .write(true)
        .open(site.path().join("data.txt"))
        .unwrap();
    f.set_modified(old).unwrap();
    let root = site.path().to_path_buf();
    std::mem::forget(site); // kept for the test's life; the OS temp cleaner removes it
    (TestServer::start_in(&root, &["--quiet"]), data)
}

fn every_file_response_has_strong_etag_last_modified_and_cache_control() {
    let (server, _) = server_with_data();
    let r = req(&server, "/data.txt", "");
    let etag = r.header("etag").expect("ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );
    assert!(r.header("last-modified").is_some());
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    // The same file gives the same tag; a changed file a different one.
    assert_eq!(req(&server, "/data.txt", "").header("etag"), Some(etag));
    write(&server.root, "data.txt", b"changed");
    assert_ne!(req(&server, "/data.txt", "").header("etag"), Some(etag));
}

fn if_none_match_gives_304_with_validators_and_no_body() {
    let (server, _) = server_with_data();
    let etag = req(&server, "/data.txt", "")
        .header("etag")
        .unwrap()
        .to_string();
    for value in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_string(),
    ] {
        let r = req(&server, "/data.txt", &format!("If-None-Match: {value}\r\n"));
        assert_eq!(r.status, 304, "{value}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        for h in ["date", "last-modified", "cache-control"] {
            assert!(r.header(h).is_some(), "304 lacks {h}");
        }
    }
    assert_eq!(
        req(&server, "/data.txt", "If-None-Match: \"nope\"\r\n").status,
        200
    );
}

fn if_modified_since_compares_dates_not_strings() {
    let (server, _) = server_with_data();
    let lm = req(&server, "/data.txt", "")
        .header("last-modified")
        .unwrap()
        .to_string();
    assert_eq!(
        req(
            &server,
            "/data.txt",
            &format!("If-Modified-Since: {lm}\r\n")
        )
        .status,
        304
    );
    // A later date in the obsolete RFC 850 format: its two-digit year 50 is 2050 (RFC 9110
    // section 5.6.7: less than 50 years ahead), after the file's date, so not modified.
    let later = "Sunday, 06-Nov-50 08:49:37 GMT";
    let r = req(
        &server,
        "/data.txt",
        &format!("If-Modified-Since: {later}\r\n"),
    );
    assert_eq!(r.status, 304);
    // And in the asctime format.
    let r = req(
        &server,
        "/data.txt",
        "If-Modified-Since: Sun Nov  6 08:49:37 2050\r\n",
    );
    assert_eq!(r.status, 304);
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    assert_eq!(
        req(
            &server,
            "/data.txt",
            &format!("If-Modified-Since: {future}\r\n")
        )
        .status,
        304
    );
    let past = "Thu, 01 Jan 1970 00:00:01 GMT";
    assert_eq!(
        req(
            &server,
            "/data.txt",
            &format!("If-Modified-Since: {past}\r\n")
        )
        .status,
        200
    );
    assert_eq!(
        req(&server, "/data.txt", "If-Modified-Since: garbage\r\n").status,
        200
    );
    // Ignored when If-None-Match is present (and does not match).
    let r = req(
        &server,
        "/data.txt",
        &format!("If-None-Match: \"x\"\r\nIf-Modified-Since: {future}\r\n"),
    );
    assert_eq!(r.status, 200);
}

fn if_match_and_if_unmodified_since_give_412() {
    let (server, _) = server_with_data();
    let etag = req(&server, "/data.txt", "")
        .header("etag")
        .unwrap()
        .to_string();
    assert_eq!(
        req(&server, "/data.txt", &format!("If-Match: {etag}\r\n")).status,
        200
    );
    assert_eq!(req(&server, "/data.txt", "If-Match: *\r\n").status, 200);
    assert_eq!(
        req(&server, "/data.txt", "If-Match: \"nope\"\r\n").status,
        412
    );
    assert_eq!(
        req(&server, "/data.txt", &format!("If-Match: W/{etag}\r\n")).status,
        412
    );
    let past = "Thu, 01 Jan 1970 00:00:01 GMT";
    assert_eq!(
        req(
            &server,
            "/data.txt",
            &format!("If-Unmodified-Since: {past}\r\n")
        )
        .status,
        412
    );
    // If-Unmodified-Since is ignored when If-Match is present.
    let r = req(
        &server,
        "/data.txt",
        &format!("If-Match: {etag}\r\nIf-Unmodified-Since: {past}\r\n"),
    );
    assert_eq!(r.status, 200);
}

fn single_ranges_give_206_with_content_range() {
    let (server, data) = server_with_data();
    let cases: [(&str, usize, usize); 8] = [
        ("bytes=0-9", 0, 9),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=10-10", 10, 10),
        ("bytes=95-1000", 95, 99),
        // A huge last-byte-pos is valid (1*DIGIT) and clamps to the end.
        ("bytes=0-9999999999999999999999", 0, 99),
        // Range units compare case-insensitively (RFC 9110 section 14.1).
        ("BYTES=0-0", 0, 0),
        // The list allows whitespace around its elements (RFC 9110 section 5.6.1).
        ("bytes= 0-0 ,", 0, 0),
    ];
    for (range, first, last) in cases {
        let r = req(&server, "/data.txt", &format!("Range: {range}\r\n"));
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {first}-{last}/100").as_str()),
            "{range}"
        );
        assert_eq!(r.body, data[first..=last], "{range}");
        assert_eq!(
            r.header("content-length"),
            Some((last - first + 1).to_string().as_str())
        );
    }
}

fn unsatisfiable_ranges_give_416_and_malformed_ones_are_ignored() {
    let (server, data) = server_with_data();
    let r = req(&server, "/data.txt", "Range: bytes=100-200\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */100"));
    for bad in [
        "bytes=abc",
        "items=0-5",
        "bytes=5-1",
        "bytes",
        "bytes=--1",
        // `range-unit "=" range-set`: no whitespace before the `=` (RFC 9110 section 14.1).
        "bytes = 0-0",
    ] {
        let r = req(&server, "/data.txt", &format!("Range: {bad}\r\n"));
        assert_eq!(r.status, 200, "{bad}");
        assert_eq!(r.body, data, "{bad}");
    }
    // HEAD ignores Range.
    let r = exchange(
        server.addr,
        b"HEAD /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.status, 200);
}

fn several_ranges_give_multipart_byteranges() {
    let (server, data) = server_with_data();
    let r = req(&server, "/data.txt", "Range: bytes=0-4, 95-99\r\n");
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("multipart type");
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let body = r.text();
    assert!(body.starts_with(&format!("--{boundary}\r\n")), "{body}");
    assert!(body.ends_with(&format!("\r\n--{boundary}--\r\n")), "{body}");
    let part1 = format!(
        "Content-Range: bytes 0-4/100\r\n\r\n{}\r\n",
        String::from_utf8_lossy(&data[0..5])
    );
    let part2 = format!(
        "Content-Range: bytes 95-99/100\r\n\r\n{}\r\n",
        String::from_utf8_lossy(&data[95..100])
    );
    assert!(body.contains(&part1) && body.contains(&part2), "{body}");
    assert_eq!(
        body.matches("Content-Type: text/plain; charset=utf-8")
            .count(),
        2
    );
    // The parts come in the order asked (RFC 9110 section 14.6), the suffix first here.
    let r = req(&server, "/data.txt", "Range: bytes=-5, 0-4\r\n");
    assert_eq!(r.status, 206);
    let body = r.text();
    let (last, first) = (
        body.find("Content-Range: bytes 95-99/100")
            .expect("the suffix part"),
        body.find("Content-Range: bytes 0-4/100")
            .expect("the first part"),
    );
    assert!(last < first, "parts out of the asked order: {body}");
    // Two Range lines make one invalid list (RFC 9110 section 5.3): the whole file.
    let r = req(
        &server,
        "/data.txt",
        "Range: bytes=0-1\r\nRange: bytes=5-6\r\n",
    );
    assert_eq!((r.status, r.body.len()), (200, data.len()));
}

fn range_amplification_is_refused() {
    let (server, data) = server_with_data();
    // Many overlapping ranges (CVE-2017-7529 family) never produce more than the file.
    let many = (0..200).map(|_| "0-99").collect::<Vec<_>>().join(",");
    let r = req(&server, "/data.txt", &format!("Range: bytes={many}\r\n"));
    assert!(
        r.body.len() <= data.len() + 200,
        "amplified to {} bytes",
        r.body.len()
    );
    let tiny = (0..100)
        .map(|i| format!("{i}-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let r = req(&server, "/data.txt", &format!("Range: bytes={tiny}\r\n"));
    assert!(
        r.body.len() <= 2 * data.len() + 1000,
        "amplified to {} bytes",
        r.body.len()
    );
}

fn if_range_decides_between_206_and_200() {
    let (server, data) = server_with_data();
    let full = req(&server, "/data.txt", "");
    let etag = full.header("etag").unwrap();
    let lm = full.header("last-modified").unwrap();
    let r = req(
        &server,
        "/data.txt",
        &format!("Range: bytes=0-9\r\nIf-Range: {etag}\r\n"),
    );
    assert_eq!(r.status, 206);
    let r = req(
        &server,
        "/data.txt",
        &format!("Range: bytes=0-9\r\nIf-Range: {lm}\r\n"),
    );
    assert_eq!(r.status, 206);
    let r = req(
        &server,
        "/data.txt",
        "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n",
    );
    assert_eq!((r.status, r.body.clone()), (200, data.clone()));
    let r = req(
        &server,
        "/data.txt",
        "Range: bytes=0-9\r\nIf-Range: Thu, 01 Jan 1970 00:00:01 GMT\r\n",
    );
    assert_eq!(r.status, 200);
    let r = req(
        &server,
        "/data.txt",
        &format!("Range: bytes=0-9\r\nIf-Range: W/{etag}\r\n"),
    );
    assert_eq!(r.status, 200, "weak tags never satisfy If-Range");
}

fn ranges_work_beyond_4_gib() {
    let site = tests::server::site();
    let len: u64 = 5 * 1024 * 1024 * 1024;
    let f = std::fs::File::create(site.path().join("huge.bin")).unwrap();
    f.set_len(len).unwrap();
    use std::io::{Seek, SeekFrom, Write};
    let mut f = f;
    f.seek(SeekFrom::Start(len - 4)).unwrap();
    f.write_all(b"tail").unwrap();
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let r = req(&server, "/huge.bin", "Range: bytes=-4\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{len}", len - 4, len - 1).as_str())
    );
    assert_eq!(r.body, b"tail");
    let r = req(
        &server,
        "/huge.bin",
        &format!("Range: bytes={}-{}\r\n", 4_294_967_296u64, 4_294_967_299u64),
    );
    assert_eq!(r.body, vec![0u8; 4]);
}

fn files_dated_before_1970_or_in_the_future_are_served_with_sane_dates() {
    let site = tests::server::site();
    write(site.path(), "old.txt", b"old");
    write(site.path(), "future.txt", b"future");
    let set = |name: &str, t: SystemTime| {
        let f = std::fs::File::options()
            .write(true)
            .open(site.path().join(name))
            .unwrap();
        f.set_modified(t).unwrap();
    };
    set("old.txt", SystemTime::UNIX_EPOCH - Duration::from_secs(60));
    set(
        "future.txt",
        SystemTime::now() + Duration::from_secs(86_400),
    );
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    // Regression: formatting a pre-1970 Last-Modified panicked and the file could never
    // be served.
    let r = req(&server, "/old.txt", "");
    assert_eq!((r.status, r.text().as_str()), (200, "old"));
    assert_eq!(
        r.header("last-modified"),
        Some("Thu, 01 Jan 1970 00:00:00 GMT")
    );
    // RFC 9110 section 8.8.2.1: Last-Modified is never later than Date.
    let r = req(&server, "/future.txt", "");
    assert_eq!(r.status, 200);
    let date = shared_date(r.header("date").unwrap());
    let lm = shared_date(r.header("last-modified").unwrap());
    assert!(lm <= date, "Last-Modified {lm:?} after Date {date:?}");
}

fn shared_date(s: &str) -> SystemTime {
    shared::wire::date::parse_http_date(s).expect("an HTTP date")
}

tests::register! {
    every_file_response_has_strong_etag_last_modified_and_cache_control,
    if_none_match_gives_304_with_validators_and_no_body,
    if_modified_since_compares_dates_not_strings,
    if_match_and_if_unmodified_since_give_412,
    single_ranges_give_206_with_content_range,
    unsatisfiable_ranges_give_416_and_malformed_ones_are_ignored,
    several_ranges_give_multipart_byteranges,
    range_amplification_is_refused,
    if_range_decides_between_206_and_200,
    ranges_work_beyond_4_gib,
    files_dated_before_1970_or_in_the_future_are_served_with_sane_dates,
}
