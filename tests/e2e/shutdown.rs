//! Graceful shutdown on SIGTERM/SIGINT: in-flight responses finish, new connections are
//! refused, idle connections close, exit status 0; a second signal exits at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};
use tests::raw::Conn;
use tests::server::{write, TestServer};

/// How long a step of the shutdown may take before the test calls it hung. Not a speed
/// check: each step is immediate on an idle machine; this turns a hang into a failure.
const STEP_LIMIT: Duration = Duration::from_secs(20);

/// What the server prints on stderr when the first signal arrives.
const SHUTTING_DOWN: &str = "server: shutting down";

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
    assert!(
        server.wait_for_stderr(SHUTTING_DOWN, STEP_LIMIT).is_some(),
        "no shutdown line: {:?}",
        server.stderr_lines()
    );
    // New connections are refused once the listener is gone.
    let end = Instant::now() + STEP_LIMIT;
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < end, "still accepting after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    }
    // The download completes in full.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).unwrap();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(first.len() - head_end + rest.len(), size);
    assert_eq!(server.wait_exit(STEP_LIMIT), Some(0));
}

fn a_second_signal_exits_at_once() {
    let site = tests::server::site();
    write(site.path(), "big.bin", &vec![1u8; 32 * 1024 * 1024]);
    let mut server = TestServer::start_in(site.path(), &["--quiet"]);
    // A download read in steps: its response is in flight when the signals arrive.
    let mut download = TcpStream::connect(server.addr).unwrap();
    download.set_read_timeout(Some(STEP_LIMIT)).unwrap();
    download
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    download.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    signal(server.pid(), "INT");
    assert!(
        server.wait_for_stderr(SHUTTING_DOWN, STEP_LIMIT).is_some(),
        "no shutdown line: {:?}",
        server.stderr_lines()
    );
    // The first signal lets the response go on: more of it arrives than the socket
    // buffers (a few MiB on loopback) could have held before the signal.
    let mut more = vec![0u8; 16 * 1024 * 1024];
    download.read_exact(&mut more).unwrap();
    assert!(server.is_running(), "exited while a response was in flight");
    // The second cuts the rest (16 MiB still to send) short: exit 130, as shells do.
    signal(server.pid(), "INT");
    assert_eq!(server.wait_exit(STEP_LIMIT), Some(130));
    assert!(
        server
            .wait_for_stderr("stopped at once by a second signal", STEP_LIMIT)
            .is_some(),
        "{:?}",
        server.stderr_lines()
    );
}

/// Issue 9 item 13: SIGHUP and SIGUSR1 killed the server at once (the default action);
/// each now gets a log line and the server keeps serving. (SIGUSR2 starts a binary
/// upgrade, tested in `ops_restart`.)
fn hup_and_usr1_are_logged_and_do_not_stop_the_server() {
    let mut server = TestServer::start_with(&["--quiet"]);
    for (sig, line) in [
        ("HUP", "server: SIGHUP: reload"),
        ("USR1", "server: SIGUSR1:"),
    ] {
        signal(server.pid(), sig);
        server
            .wait_for_stderr(line, STEP_LIMIT)
            .unwrap_or_else(|| panic!("no log line for SIG{sig}: {:?}", server.stderr_lines()));
        assert!(server.is_running(), "SIG{sig} stopped the server");
        assert_eq!(tests::raw::get(server.addr, "/HelloWorld.html").status, 200);
    }
}

tests::register! {
    sigterm_lets_a_download_finish_and_refuses_new_connections,
    a_second_signal_exits_at_once,
    hup_and_usr1_are_logged_and_do_not_stop_the_server,
}
