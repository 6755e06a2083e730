//! Concurrency: one task per connection; many parallel clients get every byte exactly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;
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
    write(site.path(), "big.bin", &pattern(8 * 1024 * 1024, 9));
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    // This client asks for a big file and does not read it.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    // Others are still served.
    for _ in 0..20 {
        let r = tests::raw::get(server.addr, "/HelloWorld.html");
        assert_eq!(r.status, 200);
    }
    let mut first = [0u8; 12];
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
}

fn connection_cap_queues_instead_of_refusing() {
    let server = TestServer::start_with(&["--max-connections", "2", "--quiet"]);
    // Two idle connections fill the cap.
    let a = Conn::open(server.addr);
    let b = Conn::open(server.addr);
    thread::sleep(Duration::from_millis(100));
    // A third connects (kernel queue) and is served once a slot frees.
    let addr = server.addr;
    let third = thread::spawn(move || tests::raw::get(addr, "/HelloWorld.html").status);
    thread::sleep(Duration::from_millis(300));
    assert!(!third.is_finished(), "served beyond the cap");
    drop(a);
    assert_eq!(third.join().unwrap(), 200);
    drop(b);
}

tests::register! {
    sixty_four_parallel_clients_get_every_byte,
    a_slow_reader_does_not_block_others,
    connection_cap_queues_instead_of_refusing,
}
