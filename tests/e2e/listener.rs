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

/// A burst of new clients is spread over the serving threads, not left to whichever
/// thread woke first, which used to accept the whole queue (and `wrk`'s 64 connections
/// split from 34 and 34 to 66 and 2). The server is stopped (SIGSTOP) while the clients
/// connect, so all of them wait in the queue when its threads run again. Each serving
/// thread has its own epoll instance, and a kept-alive connection waiting for its next
/// request is registered in its thread's: `/proc`'s fdinfo lists them.
fn a_burst_of_clients_is_spread_over_the_serving_threads() {
    const CLIENTS: usize = 40;
    let server = TestServer::start_with(&["--threads", "2"]);
    // Both threads are in their accept loops once the first request is answered by
    // each; a moment more makes sure of the second.
    thread::sleep(Duration::from_millis(300));
    tests::ops::signal(server.pid(), "STOP");
    let mut clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    for c in &mut clients {
        c.write_all(b"GET /HelloWorld.html HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
    }
    tests::ops::signal(server.pid(), "CONT");
    for c in &mut clients {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 4096];
        assert!(c.read(&mut buf).unwrap() > 0);
    }
    // Connection sockets registered in each epoll instance, once all 40 are. Each
    // thread's copy of the listener is the same socket: the one listening on our port
    // in /proc/net/tcp (state 0A).
    let port = format!(":{:04X}", server.addr.port());
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let inode = tcp
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 9 && f[1].ends_with(&port) && f[3] == "0A")
        .map(|f| f[9].to_owned())
        .expect("our listener in /proc/net/tcp");
    let listening = std::path::PathBuf::from(format!("socket:[{inode}]"));
    let sockets_in = |epoll: &str| -> usize {
        let info = std::fs::read_to_string(format!("/proc/{}/fdinfo/{epoll}", server.pid()));
        info.unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("tfd:")?.split_whitespace().next())
            .filter(|fd| {
                let link = std::fs::read_link(format!("/proc/{}/fd/{fd}", server.pid()));
                link.is_ok_and(|t| t != listening && t.to_string_lossy().starts_with("socket:"))
            })
            .count()
    };
    let end = Instant::now() + Duration::from_secs(20);
    let counts = loop {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", server.pid())).unwrap();
        let mut counts: Vec<usize> = fds
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|t| t.to_string_lossy() == "anon_inode:[eventpoll]")
            })
            .map(|e| sockets_in(&e.file_name().to_string_lossy()))
            .collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // The two serving threads' instances hold the most (a third, not a serving
        // thread's, holds a socket of its own).
        if counts.iter().take(2).sum::<usize>() >= CLIENTS || Instant::now() > end {
            break counts;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        counts.iter().take(2).sum::<usize>() >= CLIENTS,
        "{counts:?}"
    );
    // Even is 20 and 20; the old way gave 40 and 1 in four runs of five.
    assert!(
        counts[1] >= CLIENTS / 3,
        "connections per serving thread: {counts:?}"
    );
}

tests::register! {
    sixty_four_parallel_clients_get_every_byte,
    a_slow_reader_does_not_block_others,
    connection_cap_queues_instead_of_refusing,
    idle_keep_alive_connections_make_room_for_a_new_client_at_the_cap,
    a_burst_of_clients_is_spread_over_the_serving_threads,
}
