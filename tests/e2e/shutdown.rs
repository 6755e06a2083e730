//! Graceful shutdown on SIGTERM/SIGINT: in-flight responses finish, new connections are
//! refused, idle connections close, exit status 0; a second signal exits at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::Duration;
use tests::raw::Conn;
use tests::server::{write, TestServer};

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn sigterm_lets_a_download_finish_and_refuses_new_connections() {
    let site = tests::server::site();
    let size = 50 * 1024 * 1024;
    write(site.path(), "big.bin", &vec![7u8; size]);
    let mut server = TestServer::start_in(site.path(), &["--quiet"]);
    let addr = server.addr;

    let mut idle = Conn::open(addr);
    idle.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.read_response("GET").map(|r| r.status), Some(200));

    let mut download = TcpStream::connect(addr).unwrap();
    download
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    download
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 64 * 1024];
    download.read_exact(&mut first).unwrap();

    signal(server.pid(), "TERM");
    // Idle keep-alive connections are closed at once.
    assert!(idle.is_closed(), "idle connection left open");
    // New connections are refused once the listener is gone.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).is_err() {
            refused = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(refused, "still accepting after SIGTERM");
    // The download completes in full.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).unwrap();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(first.len() - head_end + rest.len(), size);
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

fn a_second_signal_exits_at_once() {
    let site = tests::server::site();
    write(site.path(), "big.bin", &vec![1u8; 32 * 1024 * 1024]);
    let mut server = TestServer::start_in(site.path(), &["--quiet"]);
    // A stalled download keeps the grace period going.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    signal(server.pid(), "INT");
    thread::sleep(Duration::from_millis(300));
    assert!(server.is_running(), "exited while a response was in flight");
    signal(server.pid(), "INT");
    let code = server.wait_exit(Duration::from_secs(5));
    assert!(code.is_some_and(|c| c != 0), "second signal: {code:?}");
}

tests::register! {
    sigterm_lets_a_download_finish_and_refuses_new_connections,
    a_second_signal_exits_at_once,
}
