//! Sending bodies: files over 4 GiB, and files that change while they are sent.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tests::raw::Conn;
use tests::server::{write, TestServer};

fn sparse_file_over_4_gib_has_the_right_length() {
    let site = tests::server::site();
    let path = site.path().join("huge.bin");
    let len: u64 = 5 * 1024 * 1024 * 1024 + 3;
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.set_len(len).unwrap();
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let mut c = Conn::open(server.addr);
    c.send(b"HEAD /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response("HEAD").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    // The first megabytes of a GET arrive as zeros; then we hang up mid-body.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 4 * 1024 * 1024];
    s.read_exact(&mut got).unwrap();
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(String::from_utf8_lossy(&got[..head_end]).contains(&format!("Content-Length: {len}")));
    assert!(got[head_end..].iter().all(|&b| b == 0));
    drop(s);
    // The server is fine afterwards.
    assert_eq!(tests::raw::get(server.addr, "/HelloWorld.html").status, 200);
}

fn a_file_truncated_while_sent_closes_the_connection_and_nothing_breaks() {
    let site = tests::server::site();
    let size = 40 * 1024 * 1024;
    write(site.path(), "shrinking.bin", &vec![5u8; size]);
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 256 * 1024];
    s.read_exact(&mut first).unwrap();
    // Truncate it under the server's feet, then keep reading: the server must close the
    // connection early rather than pad, hang or panic.
    OpenOptions::new()
        .write(true)
        .open(site.path().join("shrinking.bin"))
        .unwrap()
        .set_len(1024)
        .unwrap();
    let mut rest = Vec::new();
    // The connection must end (EOF, or a reset): a read timeout means the server hung.
    if let Err(e) = s.read_to_end(&mut rest) {
        assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server neither finished nor closed the connection: {e}"
        );
    }
    assert!(
        first.len() + rest.len() < size,
        "a truncated file cannot deliver its full length"
    );
    // Deleted and replaced files are fine for the next request.
    std::fs::remove_file(site.path().join("shrinking.bin")).unwrap();
    assert_eq!(tests::raw::get(server.addr, "/shrinking.bin").status, 404);
    write(site.path(), "shrinking.bin", b"new");
    assert_eq!(tests::raw::get(server.addr, "/shrinking.bin").text(), "new");
}

fn a_file_replaced_while_sent_keeps_sending_the_old_bytes() {
    let site = tests::server::site();
    let size = 20 * 1024 * 1024;
    write(site.path(), "swap.bin", &vec![1u8; size]);
    let server = TestServer::start_in(site.path(), &["--quiet"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /swap.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 64 * 1024];
    s.read_exact(&mut first).unwrap();
    // Atomic replace (rename over): the open descriptor still names the old content.
    write(site.path(), "swap.tmp", &[2u8; 10]);
    std::fs::rename(site.path().join("swap.tmp"), site.path().join("swap.bin")).unwrap();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut body = first[head_end..].to_vec();
    let mut buf = vec![0u8; 1 << 20];
    while body.len() < size {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early");
        body.extend_from_slice(&buf[..n]);
    }
    assert!(body.iter().all(|&b| b == 1));
    assert_eq!(
        tests::raw::get(server.addr, "/swap.bin").body,
        vec![2u8; 10]
    );
}

fn out_of_descriptors_backs_off_and_recovers() {
    let site = tests::server::site();
    let server_bin = tests::bin::binary("server");
    // A hard limit of 32 descriptors and a cap far above it forces accept() to hit EMFILE.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 32 && exec '{}' --port 0 --bind 127.0.0.1 --quiet --max-connections 1000 --root '{}'",
            server_bin.display(),
            site.path().display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let addr = tests::server::parse_addr(&line).expect("address in the start-up line");
    // The server says when accept() fails for lack of descriptors.
    let (backed_off, backing_off) = std::sync::mpsc::channel();
    let err = std::io::BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(err).map_while(Result::ok) {
            if line.contains("accept failed") && line.contains("backing off") {
                let _ = backed_off.send(line);
            }
        }
    });
    let hogs: Vec<TcpStream> = (0..60)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    let line = backing_off.recv_timeout(Duration::from_secs(20));
    assert!(
        line.is_ok(),
        "the server never reported running out of descriptors"
    );
    // While starved, the server must not spin: little CPU over a second.
    let ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = ticks(child.id());
    std::thread::sleep(Duration::from_secs(1));
    let used = ticks(child.id()) - before;
    assert!(used < 50, "accept loop spun: {used} ticks in 1 s");
    drop(hogs);
    // Once descriptors free up, it serves again.
    let mut ok = false;
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        let mut c = Conn::open(addr);
        c.send(b"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if c.read_response("GET").is_some_and(|r| r.status == 200) {
            ok = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "server did not recover after descriptors were freed");
}

fn an_aborted_download_logs_the_bytes_actually_sent() {
    let site = tests::server::site();
    write(site.path(), "big.bin", &vec![3u8; 30 * 1024 * 1024]);
    let server = TestServer::start_in(site.path(), &[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = vec![0u8; 1024 * 1024];
    s.read_exact(&mut got).unwrap();
    drop(s);
    let line = server
        .wait_for_stdout("\"GET /big.bin HTTP/1.1\"", Duration::from_secs(10))
        .expect("logged");
    let bytes: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        bytes > 0 && bytes < 30 * 1024 * 1024,
        "logged {bytes} bytes: {line}"
    );
}

tests::register! {
    sparse_file_over_4_gib_has_the_right_length,
    a_file_truncated_while_sent_closes_the_connection_and_nothing_breaks,
    a_file_replaced_while_sent_keeps_sending_the_old_bytes,
    out_of_descriptors_backs_off_and_recovers,
    an_aborted_download_logs_the_bytes_actually_sent,
}
