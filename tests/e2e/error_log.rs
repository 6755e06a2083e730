//! The server's stderr can be broken (`server 2>&1 | head -1`, a restarted log
//! collector) or full (a pipe nobody reads) without the server stopping: error lines go
//! through a never-blocking queue (issue 9 item 2).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tests::raw::Conn;
use tests::server::write;

/// How long a step may take before the test calls it hung (not a speed check).
const STEP_LIMIT: Duration = Duration::from_secs(20);

/// Starts the server on `root` with `stderr` as its standard error.
fn start(root: &std::path::Path, stderr: Stdio, args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(tests::bin::binary("server"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--quiet", "--root"])
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start server binary");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("start-up line");
    let addr = tests::server::parse_addr(&line).expect("address in the start-up line");
    // Keep stdout drained for the rest of the run.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, addr)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// The exit status, if the child exits within [`STEP_LIMIT`].
fn wait_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + STEP_LIMIT;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut c = Conn::open(addr);
    c.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    c.read_response("GET").map(|r| r.status)
}

/// A broken stderr made the signal task panic on its "shutting down" line, before it
/// fired the shutdown: SIGTERM was ignored for good.
fn sigterm_stops_the_server_even_when_stderr_is_a_broken_pipe() {
    let site = tests::server::site();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let (mut child, addr) = start(site.path(), Stdio::from(writer), &[]);
    assert_eq!(get_status(addr, "/HelloWorld.html"), Some(200));
    signal(&child, "HUP");
    assert_eq!(get_status(addr, "/HelloWorld.html"), Some(200));
    signal(&child, "TERM");
    let status = wait_exit(&mut child).expect("server exited after SIGTERM");
    assert!(status.success(), "{status}");
}

/// A full stderr blocked the thread writing an error line (and every other thread on
/// the stderr lock): the signal task never fired the shutdown.
fn a_full_stderr_blocks_neither_requests_nor_shutdown() {
    let site = tests::server::site();
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    // A pipe holds 64 KiB: fill it, and never read.
    writer
        .write_all(&vec![b'.'; 64 * 1024])
        .expect("fill the pipe");
    let (mut child, addr) = start(site.path(), Stdio::from(writer), &[]);
    // SIGHUP writes a line; requests go on.
    signal(&child, "HUP");
    assert_eq!(get_status(addr, "/HelloWorld.html"), Some(200));
    signal(&child, "TERM");
    let status = wait_exit(&mut child).expect("server exited after SIGTERM");
    assert!(status.success(), "{status}");
    drop(reader);
}

/// With a broken stderr, logging a connection's error panicked after the connection's
/// `catch_unwind`, so its slot was never returned: `--max-connections 1` and one client
/// that never reads stopped the server accepting for good.
fn a_connection_slot_is_returned_even_when_its_error_line_cannot_be_written() {
    let site = tests::server::site();
    write(site.path(), "big.bin", &vec![1u8; 32 * 1024 * 1024]);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let args = ["--max-connections", "1", "--send-timeout", "1"];
    let (mut child, addr) = start(site.path(), Stdio::from(writer), &args);
    // A client that never reads: its send times out, which logs an error line.
    let mut stalled = TcpStream::connect(addr).expect("connect");
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 1];
    stalled
        .read_exact(&mut first)
        .expect("the download started");
    // The next client waits in the kernel's queue until that slot is free again.
    let mut next = TcpStream::connect(addr).expect("connect");
    next.set_read_timeout(Some(STEP_LIMIT)).unwrap();
    next.write_all(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = Vec::new();
    let _ = next.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 "), "got {text:?}");
    drop(stalled);
    let _ = child.kill();
    let _ = child.wait();
}

tests::register! {
    sigterm_stops_the_server_even_when_stderr_is_a_broken_pipe,
    a_full_stderr_blocks_neither_requests_nor_shutdown,
    a_connection_slot_is_returned_even_when_its_error_line_cannot_be_written,
}
