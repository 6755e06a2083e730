//! Zero-downtime restarts of one instance under a steady keep-alive load, with no
//! balancer in front: a binary upgrade (SIGUSR2), a restart with the socket held by the
//! service manager (`systemctl restart`), and a hand-over between two `--reuse-port`
//! instances. Each must show zero failed requests, zero connection resets, and every
//! response byte-exact.

use std::path::Path;
use std::time::{Duration, Instant};
use tests::load::{self, Tally, Target};
use tests::ops::{activated, loopback_listener, signal, ListenPid};
use tests::raw::get;
use tests::server::{site, write, TestServer};

/// Requests each phase of a test waits for: enough to be sure the load runs through the
/// change, small enough for a loaded machine.
const PHASE_REQUESTS: u64 = 300;

/// Caps on the whole load, so a broken server cannot make a test run forever.
const MAX_REQUESTS: u64 = 200_000;
const MAX_TIME: Duration = Duration::from_secs(120);

/// Load threads (connections).
const THREADS: usize = 6;

/// A site with a small file (served from memory), a 200 KiB one (sendfile) and a
/// 1 MiB one, and the targets that check them byte for byte.
fn site_with_targets() -> (tempfile::TempDir, Vec<Target>) {
    let site = site();
    let medium: Vec<u8> = (0..200 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let large: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 13 % 253) as u8).collect();
    write(site.path(), "medium.bin", &medium);
    write(site.path(), "large.bin", &large);
    let target = |path: &str, rel: &str| Target {
        path: path.to_owned(),
        body: std::fs::read(site.path().join(rel)).unwrap(),
    };
    let targets = vec![
        target("/HelloWorld.html", "HelloWorld.html"),
        target("/medium.bin", "medium.bin"),
        target("/style.css", "style.css"),
        target("/large.bin", "large.bin"),
    ];
    (site, targets)
}

fn assert_clean(what: &str, tally: &Tally) {
    eprintln!("{what}: {tally:?}");
    assert_eq!(tally.failures(), 0, "{what}: failed requests: {tally:?}");
    assert_eq!(tally.resets, 0, "{what}: connection resets: {tally:?}");
    assert!(
        tally.ok >= 2 * PHASE_REQUESTS,
        "{what}: too little load: {tally:?}"
    );
}

/// Stops a process we did not start as a child (the new one after an upgrade) when the
/// test ends, pass or fail.
struct Pid(u32);

impl Drop for Pid {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", &self.0.to_string()])
            .status();
    }
}

fn wait_gone(pid: u32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its parent (init) to reap it.
        if stat.is_empty() || stat.split(' ').nth(2) == Some("Z") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn wait_stderr(server: &TestServer, needle: &str) -> String {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(l) = server
            .stderr_lines()
            .into_iter()
            .find(|l| l.contains(needle))
        {
            return l;
        }
        assert!(
            Instant::now() < end,
            "no stderr line with {needle:?}: {:?}",
            server.stderr_lines()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn binary_upgrade_on_sigusr2_under_load_loses_nothing() {
    let (site, targets) = site_with_targets();
    let mut old = TestServer::start_in(site.path(), &["--quiet"]);
    let load = load::start(old.addr, THREADS, targets, MAX_REQUESTS, MAX_TIME);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    signal(old.pid(), "USR2");
    let ready = wait_stderr(&old, "is ready;");
    let new_pid: u32 = ready
        .split("process ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no PID in {ready:?}"));
    let _new = Pid(new_pid);
    assert_eq!(
        old.wait_exit(Duration::from_secs(30)),
        Some(0),
        "the old process did not drain and exit"
    );
    // Everything from here is served by the new process.
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    let tally = load.finish();
    assert_clean("binary upgrade", &tally);
    assert_eq!(get(old.addr, "/HelloWorld.html").status, 200);
    signal(new_pid, "TERM");
    assert!(
        wait_gone(new_pid, Duration::from_secs(30)),
        "the new process did not stop"
    );
}

fn upgrade_under_a_service_manager_hands_it_the_new_main_pid() {
    // As systemd sees it (Type=notify): the old process is ready, the new one says
    // ready too, then the old one names the new one the main process (MAINPID=) and
    // exits without STOPPING=1, since the service is not stopping.
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut command = std::process::Command::new(tests::bin::binary("server"));
    command
        .args(["--port", "0", "--bind", "127.0.0.1", "--quiet", "--root"])
        .arg(site.path())
        .env("NOTIFY_SOCKET", &path);
    let mut old = TestServer::spawn(command, site.path());
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(next().lines().any(|l| l == "READY=1"));
    signal(old.pid(), "USR2");
    let mut seen = Vec::new();
    let main_pid = loop {
        let message = next();
        if let Some(pid) = message.lines().find_map(|l| l.strip_prefix("MAINPID=")) {
            break pid.parse::<u32>().expect("a PID");
        }
        seen.push(message);
    };
    let _new = Pid(main_pid);
    let ready = wait_stderr(&old, "is ready;");
    assert!(ready.contains(&format!("process {main_pid} ")), "{ready}");
    assert!(
        seen.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "the new process did not say READY=1 first: {seen:?}"
    );
    assert_eq!(old.wait_exit(Duration::from_secs(30)), Some(0));
    socket.set_nonblocking(true).unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        !seen.iter().any(|m| m.contains("STOPPING=1")),
        "an upgrade must not tell the manager the service stops: {seen:?}"
    );
    assert_eq!(get(old.addr, "/HelloWorld.html").status, 200);
}

/// Seconds each wrk run lasts: long enough to span a restart on a loaded machine.
const WRK_SECONDS: u64 = 8;

/// Starts wrk (2 threads, 8 keep-alive connections) against `url` for WRK_SECONDS.
fn start_wrk(url: &str) -> std::process::Child {
    std::process::Command::new(tests::tools::program("wrk"))
        .args(["-t2", "-c8", &format!("-d{WRK_SECONDS}s"), url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start wrk")
}

/// Waits until `server` has logged `n` more requests than `from` (the start-up line is
/// the first stdout line); the new process of an upgrade logs to the same pipe.
fn wait_logged(server: &TestServer, from: usize, n: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = server.stdout_lines().len();
        if lines >= from + n {
            return lines;
        }
        assert!(
            Instant::now() < end,
            "only {lines} lines logged, waited for {}",
            from + n
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// wrk's report, checked: requests were made, none failed at the socket or HTTP level.
fn assert_wrk_clean(what: &str, wrk: std::process::Child) {
    let out = wrk.wait_with_output().expect("wrk ran");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{what}: wrk said:\n{report}");
    assert!(
        out.status.success(),
        "{what}: wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains(" requests in "), "{what}: {report}");
    assert!(!report.contains("Socket errors"), "{what}: {report}");
    assert!(!report.contains("Non-2xx"), "{what}: {report}");
}

fn binary_upgrade_under_wrk_shows_no_socket_error() {
    let site = site();
    let mut old = TestServer::start_in(site.path(), &[]);
    let wrk = start_wrk(&old.url("/HelloWorld.html"));
    let before = wait_logged(&old, 1, 500);
    signal(old.pid(), "USR2");
    let ready = wait_stderr(&old, "is ready;");
    let new_pid: u32 = ready
        .split("process ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no PID in {ready:?}"));
    let _new = Pid(new_pid);
    assert_eq!(old.wait_exit(Duration::from_secs(30)), Some(0));
    // The new process takes the load from here.
    wait_logged(&old, before, 500);
    assert_wrk_clean("binary upgrade under wrk", wrk);
}

fn reuse_port_hand_over_under_wrk_shows_no_socket_error() {
    let site = site();
    let mut old = TestServer::start_in(site.path(), &["--reuse-port"]);
    let wrk = start_wrk(&old.url("/HelloWorld.html"));
    wait_logged(&old, 1, 500);
    let new = TestServer::start_on(old.addr.port(), site.path(), &["--reuse-port"]);
    signal(old.pid(), "TERM");
    assert_eq!(old.wait_exit(Duration::from_secs(30)), Some(0));
    wait_logged(&new, 1, 500);
    assert_wrk_clean("reuse-port hand-over under wrk", wrk);
}

fn failed_upgrade_keeps_the_old_process_serving() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    // A "new binary" that exits at once: the old process must carry on.
    let fake = dir.path().join("server");
    std::fs::write(&fake, "#!/bin/sh\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    // argv[0] names the fake, which is what an upgrade runs.
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(tests::bin::binary("server"));
    command
        .arg0(&fake)
        .args(["--port", "0", "--bind", "127.0.0.1", "--quiet", "--root"])
        .arg(site.path());
    let mut server = TestServer::spawn(command, site.path());
    signal(server.pid(), "USR2");
    let failed = wait_stderr(&server, "upgrade failed");
    assert!(
        failed.contains("exited") && failed.contains("still serving"),
        "{failed}"
    );
    assert!(server.is_running());
    assert_eq!(get(server.addr, "/HelloWorld.html").status, 200);
}

fn restart_with_the_socket_held_by_the_service_manager_loses_nothing() {
    // As systemd does for `systemctl restart`: the socket stays open in the manager
    // (here, the test); the old process drains and exits, then the new one starts.
    let (site, targets) = site_with_targets();
    let held = loopback_listener();
    let addr = held.local_addr().unwrap();
    let root = site.path().to_str().unwrap();
    let start = |root: &Path| {
        TestServer::spawn(
            activated(
                &[(&held, "http")],
                ListenPid::Server,
                &["--quiet", "--root", root.to_str().unwrap()],
            ),
            root,
        )
    };
    let mut first = start(Path::new(root));
    assert_eq!(first.addr, addr);
    let load = load::start(addr, THREADS, targets, MAX_REQUESTS, MAX_TIME);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    signal(first.pid(), "TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(30)), Some(0));
    // Connections made now wait in the held socket's queue.
    let second = start(Path::new(root));
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    let tally = load.finish();
    assert_clean("restart with a held socket", &tally);
    drop(second);
}

fn reuse_port_hand_over_loses_nothing() {
    // Start a new instance on the same port, then SIGTERM the old one.
    let (site, targets) = site_with_targets();
    let mut old = TestServer::start_in(site.path(), &["--quiet", "--reuse-port"]);
    let load = load::start(old.addr, THREADS, targets, MAX_REQUESTS, MAX_TIME);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    let new = TestServer::start_on(old.addr.port(), site.path(), &["--quiet", "--reuse-port"]);
    assert_eq!(new.addr, old.addr);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    signal(old.pid(), "TERM");
    assert_eq!(old.wait_exit(Duration::from_secs(30)), Some(0));
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    let tally = load.finish();
    assert_clean("reuse-port hand-over", &tally);
}

fn a_port_in_use_suggests_reuse_port() {
    let site = site();
    let l = loopback_listener();
    let port = l.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(tests::bin::binary("server"))
        .args(["--port", &port, "--bind", "127.0.0.1", "--root"])
        .arg(site.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already in use") && err.contains("--reuse-port"),
        "{err}"
    );
}

tests::register! {
    #[needs("wrk")] binary_upgrade_under_wrk_shows_no_socket_error,
    #[needs("wrk")] reuse_port_hand_over_under_wrk_shows_no_socket_error,
    upgrade_under_a_service_manager_hands_it_the_new_main_pid,
    binary_upgrade_on_sigusr2_under_load_loses_nothing,
    failed_upgrade_keeps_the_old_process_serving,
    restart_with_the_socket_held_by_the_service_manager_loses_nothing,
    reuse_port_hand_over_loses_nothing,
    a_port_in_use_suggests_reuse_port,
}
