//! Concurrency: one task per connection; many parallel clients get every byte exactly.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};
use tests::raw::Conn;
use tests::server::{write, TestServer};

/// Deterministic pseudo-random bytes, so a corrupted or reordered byte is caught.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn sixty_four_parallel_clients_get_every_byte() {
    let site = tests::server::site();
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            let len = match i {
                0 => 0,
                1 => 1,
                2 => 3000,
                3 => 70_000,
                4 => 3 * 1024 * 1024 + 17,
                _ => 5 * 1024 * 1024,
            };
            (format!("f{i}.bin"), pattern(len, i + 1))
        })
        .collect();
    for (name, data) in &files {
        write(site.path(), name, data);
    }
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let addr = server.addr;
    let files = std::sync::Arc::new(files);
    let handles: Vec<_> = (0..64)
        .map(|client| {
            let files = files.clone();
            thread::spawn(move || {
                let mut c = Conn::open(addr);
                for round in 0..4 {
                    let (name, data) = &files[(client + round) % files.len()];
                    c.send(format!("GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
                    let r = c.read_response("GET").expect("response");
                    assert_eq!(r.status, 200, "{name}");
                    assert!(
                        r.body == *data,
                        "{name}: body differs ({} vs {} bytes)",
                        r.body.len(),
                        data.len()
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
}

fn a_slow_reader_does_not_block_others() {
    let site = tests::server::site();
    // Far more than loopback's socket buffers (a few MiB) hold, so the server is left
    // with bytes it cannot send.
    write(site.path(), "big.bin", &pattern(32 * 1024 * 1024, 9));
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    // This client asks for a big file, sees its response start, and reads no more.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Others are still served.
    for _ in 0..20 {
        let r = tests::raw::get(server.addr, "/HelloWorld.html");
        assert_eq!(r.status, 200);
    }
}

fn connection_cap_queues_instead_of_refusing() {
    let server = TestServer::start_with(&["--max-connections", "2", "--quiet"]);
    // Two connections in the middle of a request fill the cap: each was served its first
    // request and has begun a second, so each holds a slot no new client may take.
    let hold = |server: &TestServer| {
        let mut c = Conn::open(server.addr);
        c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
        c.send(b"GET /HelloWorld.html HTTP/1.1\r\n");
        c
    };
    let a = hold(&server);
    let b = hold(&server);
    // A third connects (the kernel queues it) and asks; no answer while the cap is full.
    // (Proving "never" needs a window; a correct server never fails this one.)
    let mut third = Conn::open(server.addr);
    third.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    third
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = third.stream.read(&mut byte);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "served beyond the cap: {early:?}"
    );
    // A slot frees: the queued connection is served.
    drop(a);
    third
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(third.read_response("GET").map(|r| r.status), Some(200));
    drop(b);
}

/// Finding 1: with the cap full of idle keep-alive connections, a new client waited the
/// whole `--keep-alive-timeout` in the kernel's queue. An idle one is closed (cleanly:
/// end of input, no reset) to admit it, and only one.
fn idle_keep_alive_connections_make_room_for_a_new_client_at_the_cap() {
    // One serving thread: under the full suite with two, a fourth connection this test
    // does not make was sometimes queued (and rightly made room for), closing both idle
    // ones; not yet explained (see docs/PROFILE.md). The one-thread behaviour is pinned.
    let server = TestServer::start_with(&[
        "--threads",
        "1",
        "--max-connections",
        "2",
        "--keep-alive-timeout",
        "60",
        "--quiet",
    ]);
    let idle = || {
        let mut c = Conn::open(server.addr);
        c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.read_response("GET").map(|r| r.status), Some(200));
        c
    };
    let mut kept = [idle(), idle()];
    // Conn's read timeout (10 s) is far below the keep-alive timeout (60 s).
    let mut third = Conn::open(server.addr);
    third.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(third.read_response("GET").map(|r| r.status), Some(200));
    // Which idle connection saw end of input (the oldest, unless both became idle in the
    // same millisecond; the watchdog's unit test pins the order).
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed = loop {
        let ended: Vec<usize> = (0..2)
            .filter(|&i| {
                let s = &kept[i].stream;
                s.set_nonblocking(true).unwrap();
                let peeked = s.peek(&mut [0u8; 1]);
                s.set_nonblocking(false).unwrap();
                !peeked
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::WouldBlock)
            })
            .collect();
        if let [i] = ended[..] {
            break i;
        }
        assert!(ended.is_empty(), "both idle connections were closed");
        assert!(Instant::now() < deadline, "no idle connection was closed");
        thread::sleep(Duration::from_millis(10));
    };
    let mut byte = [0u8; 1];
    let end = kept[closed].stream.read(&mut byte);
    assert_eq!(
        end.ok(),
        Some(0),
        "a clean close (FIN), not a reset or data"
    );
    // The other one is still served on the same connection.
    let other = &mut kept[1 - closed];
    other.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(other.read_response("GET").map(|r| r.status), Some(200));
}

tests::register! {
    sixty_four_parallel_clients_get_every_byte,
    a_slow_reader_does_not_block_others,
    connection_cap_queues_instead_of_refusing,
    idle_keep_alive_connections_make_room_for_a_new_client_at_the_cap,
}
