//! Socket activation, readiness notification, the unit files, `--health` and
//! `--access-log`: the server started the way systemd starts it.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::ops::{activated, free_port, loopback_listener, signal, ListenPid};
use tests::raw::get;
use tests::server::{site, TestServer};

const HELLO: &str = "HelloWorld.html";

fn hello_bytes(root: &Path) -> Vec<u8> {
    std::fs::read(root.join(HELLO)).unwrap()
}

fn systemd_socket_activate_serves_on_the_socket_it_opened() {
    let activate = tests::tools::program("systemd-socket-activate");
    let site = site();
    let port = free_port();
    let mut command = Command::new(activate);
    command
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .arg(tests::bin::binary("server"))
        .arg("--root")
        .arg(site.path())
        // Whatever --port says, the handed-over socket is used.
        .args(["--port", "1"]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // systemd-socket-activate starts the server at the first connection, once its
    // socket listens.
    let first = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < end,
                "systemd-socket-activate never listened"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        get(addr, "/HelloWorld.html")
    });
    let server = TestServer::spawn(command, site.path());
    assert_eq!(server.addr, addr);
    let r = first.join().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, hello_bytes(site.path()));
}

fn two_handed_over_sockets_both_serve() {
    let site = site();
    let (a, b) = (loopback_listener(), loopback_listener());
    let (addr_a, addr_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let root = site.path().to_str().unwrap();
    let command = activated(
        &[(&a, "http"), (&b, "http")],
        ListenPid::Server,
        &["--root", root, "--port", "1"],
    );
    let server = TestServer::spawn(command, site.path());
    drop((a, b));
    let line = server
        .wait_for_stdout("Serving", Duration::from_secs(5))
        .unwrap();
    assert!(
        line.contains(&format!("http://{addr_a}/")) && line.contains(&format!("http://{addr_b}/")),
        "start-up line does not show both sockets: {line}"
    );
    for addr in [addr_a, addr_b] {
        let r = get(addr, "/HelloWorld.html");
        assert_eq!(r.status, 200, "{addr}");
        assert_eq!(r.body, hello_bytes(site.path()), "{addr}");
    }
}

fn a_wrong_listen_pid_is_ignored_and_the_port_bound() {
    let site = site();
    let held = loopback_listener();
    let held_addr = held.local_addr().unwrap();
    let root = site.path().to_str().unwrap();
    let command = activated(
        &[(&held, "http")],
        ListenPid::Other,
        &["--root", root, "--port", "0", "--bind", "127.0.0.1"],
    );
    let server = TestServer::spawn(command, site.path());
    assert_ne!(
        server.addr, held_addr,
        "served the socket meant for another PID"
    );
    let r = get(server.addr, "/HelloWorld.html");
    assert_eq!(r.status, 200);
    let note = server.stderr_lines().join("\n");
    assert!(
        note.contains("ignoring LISTEN_FDS") && note.contains("process 1"),
        "no note about the ignored LISTEN_FDS: {note}"
    );
    // The socket at fd 3 was left alone: its connection is never accepted.
    held.set_nonblocking(true).unwrap();
    let _c = TcpStream::connect(held_addr).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match held.accept() {
            Ok(_) => break,
            Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the connection to the ignored socket did not queue: {e}"),
        }
    }
}

fn a_socket_named_https_is_refused_until_tls_is_configured() {
    let site = site();
    let l = loopback_listener();
    let root = site.path().to_str().unwrap();
    let mut command = activated(&[(&l, "https")], ListenPid::Server, &["--root", root]);
    let out = command.stdout(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("server: error: ") && err.contains("--tls-cert"),
        "{err}"
    );
}

fn handed_over_https_socket_speaks_tls_and_the_http_one_redirects_to_it() {
    let site = site();
    let certs = tests::certs::TestCerts::new();
    let (tls, plain) = (loopback_listener(), loopback_listener());
    let (tls_addr, plain_addr) = (tls.local_addr().unwrap(), plain.local_addr().unwrap());
    let root = site.path().to_str().unwrap();
    let command = activated(
        &[(&tls, "https"), (&plain, "http")],
        ListenPid::Server,
        // The port is systemd's; --redirect-http only says "redirect the cleartext ones".
        &certs.server_flags(&["--root", root, "--redirect-http", "1"]),
    );
    let server = TestServer::spawn(command, site.path());
    drop((tls, plain));
    let line = server.stdout_lines()[0].clone();
    assert!(
        line.contains(&format!("at https://{tls_addr}/"))
            && line.contains(&format!("redirecting http://{plain_addr}/ there")),
        "{line}"
    );
    let request = b"GET /HelloWorld.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let (reply, _) = tests::tls::exchange(tls_addr, certs.client_config(&[]), request).unwrap();
    let body = hello_bytes(site.path());
    assert!(
        reply.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert!(reply.ends_with(&body));
    let r = get(plain_addr, "/HelloWorld.html");
    assert_eq!(r.status, 308);
    let location = format!("https://localhost:{}/HelloWorld.html", tls_addr.port());
    assert_eq!(r.header("location"), Some(location.as_str()));
}

fn sd_notify_socket_receives_ready_then_stopping() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut command = Command::new(tests::bin::binary("server"));
    command
        .args(["--port", "0", "--bind", "127.0.0.1", "--quiet", "--root"])
        .arg(site.path())
        .env("NOTIFY_SOCKET", &path);
    let mut server = TestServer::spawn(command, site.path());
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("no READY=1 datagram");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    // READY=1 comes once the listener is live: a request now must be served.
    assert_eq!(get(server.addr, "/HelloWorld.html").status, 200);
    signal(server.pid(), "TERM");
    let n = socket.recv(&mut buf).expect("no STOPPING=1 datagram");
    let stopping = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

/// The shipped `deploy/` folder.
fn deploy() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Runs `systemd-analyze verify` on `units` in `dir`: it must succeed and say nothing.
fn verify(analyze: &Path, dir: &Path, units: &[&str]) {
    let out = Command::new(analyze)
        .arg("verify")
        .args(units)
        .current_dir(dir)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{units:?}: {said}");
    assert!(said.trim().is_empty(), "{units:?}: warnings: {said}");
}

fn systemd_analyze_verify_accepts_the_unit_files() {
    let analyze = tests::tools::program("systemd-analyze");
    // As shipped, in place: ExecStart= goes through /usr/bin/env, so the units verify
    // whether or not the server is installed yet.
    verify(&analyze, &deploy(), &["server.socket", "server.service"]);
    // An instance behind HAProxy: the template socket, and server.service installed
    // under the template name as the README says.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        deploy().join("instances/server@.socket"),
        dir.path().join("server@.socket"),
    )
    .unwrap();
    std::fs::copy(
        deploy().join("server.service"),
        dir.path().join("server@.service"),
    )
    .unwrap();
    verify(
        &analyze,
        dir.path(),
        &["server@8081.socket", "server@8081.service"],
    );
    let service = std::fs::read_to_string(deploy().join("server.service")).unwrap();
    for hardening in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadOnlyPaths=/srv/www",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
        "Type=notify",
    ] {
        assert!(
            service.contains(hardening),
            "server.service lacks {hardening}"
        );
    }
}

fn health_answers_ok_without_touching_the_disk() {
    let site = site();
    let server = TestServer::start_in(site.path(), &["--health", "/healthz", "--quiet"]);
    let r = get(server.addr, "/healthz");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // With the whole site gone, files are 404 and the probe still answers.
    for entry in std::fs::read_dir(site.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    assert_eq!(get(server.addr, "/HelloWorld.html").status, 404);
    let r = get(server.addr, "/healthz");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
}

fn health_flag_refuses_a_path_that_could_inject_a_header() {
    let out = Command::new(tests::bin::binary("server"))
        .args(["--port", "0", "--health", "healthz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with '/'"));
}

/// Waits until `path` holds a line containing `needle`.
fn wait_for_line(path: &Path, needle: &str) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < end,
            "{} never got {needle:?}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn access_log_file_is_reopened_on_sigusr1() {
    let site = site();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("access.log");
    let rotated = logs.path().join("access.log.1");
    let server = TestServer::start_in(site.path(), &["--access-log", log.to_str().unwrap()]);
    assert_eq!(get(server.addr, "/HelloWorld.html?before").status, 200);
    wait_for_line(&log, "GET /HelloWorld.html?before ");
    std::fs::rename(&log, &rotated).unwrap();
    signal(server.pid(), "USR1");
    // The reopen creates the new file at once, before any new line.
    let end = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < end, "SIGUSR1 did not reopen the log");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(get(server.addr, "/HelloWorld.html?after").status, 200);
    let new = wait_for_line(&log, "GET /HelloWorld.html?after ");
    assert!(!new.contains("?before"), "{new}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("?before") && !old.contains("?after"), "{old}");
    // Nothing went to stdout but the start-up line.
    let stdout = server.stdout_lines();
    assert_eq!(stdout.len(), 1, "{stdout:?}");
    let mut f = std::fs::File::open(&log).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert!(s.ends_with('\n'));
}

fn access_log_in_a_missing_folder_fails_at_start_up() {
    let out = Command::new(tests::bin::binary("server"))
        .args(["--port", "0", "--access-log", "/nonexistent/dir/access.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("server: error: cannot open the access log '/nonexistent/dir/access.log'"),
        "{err}"
    );
}

tests::register! {
    #[needs("systemd-socket-activate")] systemd_socket_activate_serves_on_the_socket_it_opened,
    two_handed_over_sockets_both_serve,
    a_wrong_listen_pid_is_ignored_and_the_port_bound,
    a_socket_named_https_is_refused_until_tls_is_configured,
    handed_over_https_socket_speaks_tls_and_the_http_one_redirects_to_it,
    sd_notify_socket_receives_ready_then_stopping,
    #[needs("systemd-analyze")] systemd_analyze_verify_accepts_the_unit_files,
    health_answers_ok_without_touching_the_disk,
    health_flag_refuses_a_path_that_could_inject_a_header,
    access_log_file_is_reopened_on_sigusr1,
    access_log_in_a_missing_folder_fails_at_start_up,
}
