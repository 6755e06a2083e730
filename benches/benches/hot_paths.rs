//! Criterion benches for the server's per-request pure work: parsing a browser-sized
//! request head, sanitising its path, and formatting a response head.
//!
//! Run with `cargo bench` in `benches/` (its own workspace, like `fuzz/`); not part of
//! `cargo test --workspace`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared::wire::limits::MAX_HEADERS;
use shared::wire::message::{Status, EMPTY_HEADER};
use shared::wire::request::parse_request;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

/// What Chromium sends for a page on a local server (about 500 bytes).
const BROWSER_HEAD: &[u8] = b"GET /docs/HelloWorld.html?ref=nav HTTP/1.1\r\n\
Host: 127.0.0.1:6789\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: http://127.0.0.1:6789/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9\r\n\
If-None-Match: \"1bc-6b0762b5-1a14a0bf\"\r\n\
If-Modified-Since: Wed, 25 Nov 2026 22:35:33 GMT\r\n\r\n";

/// What `wrk` sends.
const MINIMAL_HEAD: &[u8] = b"GET /HelloWorld.html HTTP/1.1\r\nHost: 127.0.0.1:6789\r\n\r\n";

fn request_parser(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_request");
    for (name, head) in [("browser", BROWSER_HEAD), ("minimal", MINIMAL_HEAD)] {
        g.throughput(Throughput::Bytes(head.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut headers = [EMPTY_HEADER; MAX_HEADERS];
                match parse_request(black_box(head), &mut headers) {
                    Ok(Status::Complete(r)) => r.head_len,
                    _ => 0,
                }
            })
        });
    }
    g.finish();
}

fn path_function(c: &mut Criterion) {
    let mut g = c.benchmark_group("sanitize_path");
    for (name, path) in [
        ("plain", "/docs/HelloWorld.html"),
        ("encoded", "/docs/caf%C3%A9%20menu/./a/../index.html"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| shared::site::path::sanitize_path(black_box(path)))
        });
    }
    g.finish();
}

fn response_formatter(c: &mut Criterion) {
    let modified = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let mut dates = shared::wire::date::DateCache::new();
    let mut out = Vec::with_capacity(512);
    c.bench_function("format_response_head", |b| {
        b.iter(|| {
            out.clear();
            shared::wire::format::status_line(&mut out, shared::StatusCode::OK);
            shared::wire::format::header(&mut out, "Date", dates.get(black_box(modified)));
            shared::wire::format::header(&mut out, "Server", b"server/0.1.0");
            let ct = shared::site::mime::content_type(black_box("HelloWorld.html"));
            shared::wire::format::header(&mut out, "Content-Type", ct.as_bytes());
            shared::wire::format::header_u64(&mut out, "Content-Length", black_box(444));
            let version = shared::site::validators::FileVersion {
                device: 1,
                inode: 2,
                size: 444,
                modified,
                changed: (3, 4),
            };
            let etag = shared::site::validators::strong_etag(&version, None);
            shared::wire::format::header(&mut out, "ETag", etag.as_bytes());
            let lm = shared::wire::date::format_http_date(modified);
            shared::wire::format::header(&mut out, "Last-Modified", lm.as_bytes());
            shared::wire::format::end_head(&mut out);
            out.len()
        })
    });
}

criterion_group!(benches, request_parser, path_function, response_formatter);
criterion_main!(benches);
