//! System calls per request, counted by strace around the real server over real
//! sockets: the costs the benchmark's figures rest on (docs/BENCHMARKS.md), held here
//! so a change that adds one to every request fails a test, not a benchmark weeks later.
//!
//! Counts, not times: they do not depend on the machine's speed or load. The server
//! runs one serving thread (`--threads 1`) and no access log, and the requests are many
//! so start-up and shutdown calls are lost in the average.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tests::server::{site, write, TestServer};
use tests::tools::program;

/// Keep-alive connections the small-file clients use at once.
const CONNECTIONS: usize = 8;

/// Requests each of them sends.
const REQUESTS_EACH: usize = 400;

/// The big file: 1 MiB, well past the small-file cache, sent by `sendfile`.
const BIG: usize = 1 << 20;

/// How long a file must sit unchanged before the server caches it (its `SETTLE_TIME`,
/// with a margin): the test waits so the requests measure the cached path.
const SETTLE: Duration = Duration::from_millis(2300);

/// Runs the server under `strace -f -c` serving `root` (with `extra` flags), calls
/// `work` with its address, stops it, and returns the calls made per system call name.
fn counted(root: &Path, extra: &[&str], work: impl FnOnce(SocketAddr)) -> HashMap<String, u64> {
    let summary = root.join("strace.txt");
    let mut command = Command::new(program("strace"));
    command
        .args(["-f", "-qq", "-c", "-U", "calls,name", "-o"])
        .arg(&summary)
        .arg(tests::bin::binary("server"))
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--quiet",
            "--threads",
            "1",
        ])
        .args(extra)
        .arg("--root")
        .arg(root);
    let mut server = TestServer::spawn(command, root);
    work(server.addr);
    // strace runs the server as its child: stop that, and strace writes its summary.
    let children = format!("/proc/{0}/task/{0}/children", server.pid());
    let pid = std::fs::read_to_string(children).expect("strace's child");
    let pid = pid
        .split_whitespace()
        .next()
        .expect("the server under strace");
    tests::ops::signal(pid.parse().expect("a pid"), "TERM");
    assert!(
        server.wait_exit(Duration::from_secs(20)).is_some(),
        "strace did not end"
    );
    let text = std::fs::read_to_string(&summary).expect("strace summary");
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let calls = words.next()?.parse().ok()?;
            Some((words.next()?.to_string(), calls))
        })
        .collect()
}

/// Whether the server trusts inotify for files under `path`: its file system is one of
/// `LOCAL_FILE_SYSTEMS` in server/src/files/watch.rs (ext2/3/4, XFS, Btrfs, tmpfs, F2FS).
fn inotify_follows(path: &Path) -> bool {
    const LOCAL: [i64; 5] = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0xF2F5_2010];
    #[allow(clippy::unnecessary_cast)] // `f_type`'s width differs between platforms.
    rustix::fs::statfs(path).is_ok_and(|fs| LOCAL.contains(&(fs.f_type as i64)))
}

/// Sends `n` keep-alive GETs for `path` on one connection, reading each response whole.
fn keep_alive_gets(addr: SocketAddr, path: &str, n: usize, body_len: usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut buf = vec![0u8; 256 * 1024];
    for _ in 0..n {
        s.write_all(request.as_bytes()).unwrap();
        let mut got = Vec::new();
        let total = loop {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "the server closed the connection");
            got.extend_from_slice(&buf[..k]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4 + body_len;
            }
        };
        while got.len() < total {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "the server closed the connection mid-body");
            got.extend_from_slice(&buf[..k]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200 "), "not a 200");
        assert_eq!(got.len(), total, "more bytes than one response");
    }
}

/// Runs `client` on `n` threads at once and waits for all of them.
fn in_parallel(n: usize, client: impl Fn() + Send + Sync) {
    std::thread::scope(|s| {
        let running: Vec<_> = (0..n).map(|_| s.spawn(&client)).collect();
        for c in running {
            c.join().unwrap();
        }
    });
}

/// Calls of `name` per request.
fn per(counts: &HashMap<String, u64>, name: &str, requests: usize) -> f64 {
    counts.get(name).copied().unwrap_or(0) as f64 / requests as f64
}

/// Every call that writes to a socket or file, whatever its name.
fn writes(counts: &HashMap<String, u64>) -> u64 {
    ["sendto", "write", "writev", "sendmsg"]
        .iter()
        .filter_map(|name| counts.get(*name))
        .sum()
}

/// Asserts that `name`'s calls per request (or response) lie in `range`; the failure
/// shows every count.
fn calls_per(
    counts: &HashMap<String, u64>,
    name: &str,
    requests: usize,
    range: std::ops::RangeInclusive<f64>,
) {
    let got = per(counts, name, requests);
    assert!(
        range.contains(&got),
        "{name} calls per request: {got}, wanted {range:?}; {counts:?}"
    );
}

/// The test site, once its files are settled enough to be cached, with the length of
/// its `HelloWorld.html`.
fn settled_site() -> (tempfile::TempDir, usize) {
    let site = site();
    let len = std::fs::metadata(site.path().join("HelloWorld.html"))
        .unwrap()
        .len() as usize;
    std::thread::sleep(SETTLE);
    (site, len)
}

fn a_cached_small_file_costs_one_read_one_write_and_one_check_per_request() {
    let (site, len) = settled_site();
    let requests = CONNECTIONS * REQUESTS_EACH;
    let counts = counted(site.path(), &[], |addr| {
        in_parallel(CONNECTIONS, || {
            keep_alive_gets(addr, "/HelloWorld.html", REQUESTS_EACH, len)
        })
    });
    let shown = format!("{counts:?}");
    eprintln!("{requests} small-file requests: {shown}");
    let per = |name| per(&counts, name, requests);
    // One read brings each request: no read that finds nothing before waiting.
    calls_per(&counts, "recvfrom", requests, 0.0..=1.05);
    // Head and body in one write.
    calls_per(&counts, "sendto", requests, 0.0..=1.02);
    // The cache's one check: whether inotify has anything queued (an `ioctl`), no stat
    // (one per second proves the entry again), no open, no close. Where inotify cannot
    // follow the file system, a stat instead.
    if inotify_follows(site.path()) {
        calls_per(&counts, "ioctl", requests, 0.5..=1.02);
        calls_per(&counts, "newfstatat", requests, 0.0..=0.02);
    } else {
        calls_per(&counts, "newfstatat", requests, 0.5..=1.02);
    }
    calls_per(&counts, "openat2", requests, 0.0..=0.01);
    // At most one wait per request (fewer when one wait finds many sockets ready), and
    // no re-arm: each socket is registered once, edge-triggered, when first waited on
    // (its one registration, per connection, is 0.0025 here; its close removes it).
    let waits = per("epoll_pwait") + per("epoll_wait") + per("epoll_pwait2");
    assert!(waits <= 1.02, "waits per request: {waits}; {shown}");
    calls_per(&counts, "epoll_ctl", requests, 0.0..=0.01);
    // No timer armed around a wait: the reactor passes its deadline to the wait itself.
    calls_per(&counts, "timerfd_settime", requests, 0.0..=0.001);
    // No wake-up from another thread: readiness is seen by the thread that serves it.
    calls_per(&counts, "futex", requests, 0.0..=0.01);
    // Accepted once per connection, not retried on every wake-up.
    assert!(
        counts.get("accept4").copied().unwrap_or(0) <= 4 * CONNECTIONS as u64 + 10,
        "{shown}"
    );
}

fn a_1_mib_file_goes_in_large_sendfile_calls_with_no_open_or_cork_per_response() {
    let site = site();
    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    write(site.path(), "big.bin", &data);
    std::thread::sleep(SETTLE);
    let (connections, each) = (4, 16);
    let responses = connections * each;
    let counts = counted(site.path(), &[], |addr| {
        in_parallel(connections, || keep_alive_gets(addr, "/big.bin", each, BIG))
    });
    let shown = format!("{counts:?}");
    eprintln!("{responses} responses of 1 MiB: {shown}");
    // 256 KiB asked of each call: four when the socket takes them, a few more when the
    // reader falls behind, never one per 64 KiB.
    calls_per(&counts, "sendfile", responses, 3.9..=12.0);
    // The open-file cache: no open per response (the first one opens it).
    calls_per(&counts, "openat2", responses, 0.0..=0.1);
    // The head goes with MSG_MORE: no cork and uncork per response (and TCP_NODELAY
    // comes from the listener, not one call per connection).
    let setsockopts = counts.get("setsockopt").copied().unwrap_or(0);
    assert!(setsockopts <= 4, "{shown}");
    // The head in one write.
    calls_per(&counts, "sendto", responses, 0.0..=1.05);
}

/// Sends one `GET` with `Connection: close` and reads the response to the server's close.
fn get_and_close(addr: SocketAddr, body_len: usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /HelloWorld.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read to the close");
    assert!(got.starts_with(b"HTTP/1.1 200 "), "not a 200");
    let head = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    assert_eq!(got.len(), head + 4 + body_len, "not one whole response");
}

fn a_connection_per_request_costs_no_socket_option_call() {
    let (site, len) = settled_site();
    let connections = 400;
    let counts = counted(site.path(), &[], |addr| {
        for _ in 0..connections {
            get_and_close(addr, len);
        }
    });
    let shown = format!("{counts:?}");
    eprintln!("{connections} connections of one request each: {shown}");
    // TCP_NODELAY is set once on the listener and inherited by every connection.
    let setsockopts = counts.get("setsockopt").copied().unwrap_or(0);
    assert!(setsockopts <= 4, "{shown}");
    calls_per(&counts, "close", connections, 0.95..=1.1);
    // One write per response, head and body together.
    calls_per(&counts, "sendto", connections, 0.95..=1.02);
}

/// A new HTTPS connection per request (TLS 1.3) whose request comes with the client's
/// `Finished` (as from curl or wrk): after the handshake's one flight, the session
/// tickets leave with the response in one write, and `close_notify` and the FIN follow:
/// three writes per connection, where sending the tickets on their own made four. (A
/// client whose request comes later gets the tickets at once: see tests/e2e/tls.rs.)
fn a_tls_connection_per_request_sends_its_tickets_with_the_response() {
    let (site, len) = settled_site();
    let certs = tests::certs::TestCerts::new();
    let tls = certs.server_flags(&[]);
    let client = certs.client_config(&[b"http/1.1"]);
    let connections = 200;
    let counts = counted(site.path(), &tls, |addr| {
        for _ in 0..connections {
            let (got, ending) = tests::tls::exchange_with_finished(
                addr,
                client.clone(),
                b"GET /HelloWorld.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            )
            .expect("an HTTPS exchange");
            assert_eq!(ending, tests::tls::Ending::CloseNotify);
            assert!(got.starts_with(b"HTTP/1.1 200 "), "not a 200");
            assert!(got.ends_with(&std::fs::read(site.path().join("HelloWorld.html")).unwrap()));
            assert!(got.len() > len, "no whole response");
        }
    });
    let writes = writes(&counts);
    let per = writes as f64 / connections as f64;
    eprintln!("{connections} HTTPS connections in {writes} writes: {counts:?}");
    assert!(
        per <= 3.05,
        "{writes} writes for {connections} connections; {counts:?}"
    );
}

/// Requests that reach an HTTP/2 connection together are answered together: h2load
/// keeps 100 streams open on one connection, and their responses leave in a few
/// writes, not one write (and one TLS record) each.
fn http2_requests_that_arrive_together_are_answered_in_a_few_writes() {
    let site = site();
    std::thread::sleep(SETTLE);
    let certs = tests::certs::TestCerts::new();
    let tls = certs.server_flags(&[]);
    let (streams, total) = (100, 1000);
    let counts = counted(site.path(), &tls, |addr| {
        let out = Command::new(program("h2load"))
            .args([
                "-n",
                &total.to_string(),
                "-c",
                "1",
                "-m",
                &streams.to_string(),
            ])
            .arg(format!("https://127.0.0.1:{}/HelloWorld.html", addr.port()))
            .output()
            .expect("run h2load");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("{total} succeeded")), "{text}");
    });
    let writes = writes(&counts);
    // One each would be 1.0; the handshake, settings and the log add a few in all.
    let per = writes as f64 / total as f64;
    eprintln!("{total} HTTP/2 responses in {writes} writes: {counts:?}");
    assert!(
        per <= 0.25,
        "{writes} writes for {total} responses; {counts:?}"
    );
}

tests::register! {
    #[needs("strace", "h2load")]
    http2_requests_that_arrive_together_are_answered_in_a_few_writes,
    #[needs("strace")]
    a_cached_small_file_costs_one_read_one_write_and_one_check_per_request,
    #[needs("strace")]
    a_connection_per_request_costs_no_socket_option_call,
    #[needs("strace")]
    a_tls_connection_per_request_sends_its_tickets_with_the_response,
    #[needs("strace")]
    a_1_mib_file_goes_in_large_sendfile_calls_with_no_open_or_cork_per_response,
}
