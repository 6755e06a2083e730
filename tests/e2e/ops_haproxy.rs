//! Two instances behind HAProxy (the shipped `deploy/haproxy.cfg`, with loopback ports
//! filled in), under a bounded keep-alive load: stopping one instance with SIGTERM, or
//! killing it with SIGKILL, fails no request, and the restarted instance rejoins and
//! takes traffic again.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::load::{self, Tally, Target};
use tests::ops::{free_port, signal};
use tests::server::{site, write, TestServer};

/// Requests each phase waits for.
const PHASE_REQUESTS: u64 = 300;
const MAX_REQUESTS: u64 = 200_000;
const MAX_TIME: Duration = Duration::from_secs(180);
const THREADS: usize = 6;

/// HAProxy in the foreground; killed when dropped.
struct Haproxy {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    addr: SocketAddr,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped configuration with the front on `front` and the instances on `ports`.
fn config(front: u16, ports: &[u16]) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg"),
    )
    .unwrap();
    let mut out = String::new();
    for line in shipped.lines() {
        let t = line.trim_start();
        if t.starts_with("bind :80") {
            out.push_str(&format!("    bind 127.0.0.1:{front}\n"));
        } else if t.starts_with("server ") {
            // Replaced by the test's instances below.
        } else {
            out.push_str(line);
            out.push('\n');
        }
        if t.starts_with("default-server ") {
            for p in ports {
                out.push_str(&format!("    server s{p} 127.0.0.1:{p}\n"));
            }
        }
    }
    for needle in [
        "option redispatch",
        "retry-on conn-failure empty-response",
        "http-reuse safe",
        "option httpchk",
    ] {
        assert!(out.contains(needle), "deploy/haproxy.cfg lost {needle:?}");
    }
    out
}

fn start_haproxy(program: &Path, dir: &Path, ports: &[u16]) -> Haproxy {
    let front = free_port();
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, config(front, ports)).unwrap();
    let check = Command::new(program)
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut child = Command::new(program)
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                output.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
    }
    let addr: SocketAddr = format!("127.0.0.1:{front}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < end, "haproxy did not listen");
        std::thread::sleep(Duration::from_millis(10));
    }
    Haproxy {
        child,
        output,
        addr,
    }
}

/// Small files only: a response the server has started to send cannot be retried by
/// anyone if the server is killed in the middle of it, and these go out in one write.
fn small_site() -> (tempfile::TempDir, Vec<Target>) {
    let site = site();
    let chunk: Vec<u8> = (0..24 * 1024u32).map(|i| (i % 241) as u8).collect();
    write(site.path(), "chunk.bin", &chunk);
    let targets = ["HelloWorld.html", "style.css", "index.html", "chunk.bin"]
        .iter()
        .map(|rel| Target {
            path: format!("/{rel}"),
            body: std::fs::read(site.path().join(rel)).unwrap(),
        })
        .collect();
    (site, targets)
}

fn instance(root: &Path, port: u16) -> TestServer {
    let mut command = Command::new(tests::bin::binary("server"));
    command
        .args(["--health", "/healthz", "--bind", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--root")
        .arg(root);
    TestServer::spawn(command, root)
}

/// How many load requests (not health checks) an instance has logged.
fn served(server: &TestServer) -> usize {
    server
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("\"GET /") && !l.contains("/healthz"))
        .count()
}

fn wait_serving(server: &TestServer, more_than: usize) {
    let end = Instant::now() + Duration::from_secs(60);
    while served(server) <= more_than {
        assert!(
            Instant::now() < end,
            "instance {} never took traffic",
            server.addr
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the whole scenario with `how` ("TERM" or "KILL") applied to the first instance.
fn one_instance_goes_away(test: &str, how: &str) -> (Tally, usize) {
    let program = tests::tools::program("haproxy");
    let (site, targets) = small_site();
    let dir = tempfile::tempdir().unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = instance(site.path(), port_a);
    let b = instance(site.path(), port_b);
    let haproxy = start_haproxy(&program, dir.path(), &[port_a, port_b]);
    let load = load::start(haproxy.addr, THREADS, targets, MAX_REQUESTS, MAX_TIME);
    // Both instances in rotation before anything happens.
    wait_serving(&a, 0);
    wait_serving(&b, 0);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    signal(a.pid(), how);
    let exited = a.wait_exit(Duration::from_secs(30));
    if how == "TERM" {
        assert_eq!(exited, Some(0), "instance did not drain and exit");
    } else {
        assert!(exited.is_some());
    }
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    // Restarted on the same port, it rejoins (two good health checks) and takes traffic.
    let a2 = instance(site.path(), port_a);
    wait_serving(&a2, 0);
    assert!(load.wait_more(PHASE_REQUESTS, Duration::from_secs(60)));
    let served_b = served(&b);
    let tally = load.finish();
    let retried = haproxy_retries(&haproxy.output.lock().unwrap_or_else(|e| e.into_inner()));
    if std::env::var_os("OPS_DUMP_HAPROXY").is_some() {
        eprintln!(
            "{}",
            haproxy
                .output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .join("\n")
        );
    }
    eprintln!(
        "{test}: client side {tally:?}; HAProxy retried {retried} request(s) on a failed or closed instance connection; served by the survivor {served_b}, by the restarted one {}",
        served(&a2)
    );
    if tally.failures() > 0 {
        eprintln!(
            "haproxy said:\n{}",
            haproxy
                .output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .join("\n")
        );
    }
    (tally, retried)
}

/// Requests HAProxy's log shows as retried: in the counts after the termination state
/// (`----`), `actconn/feconn/beconn/srv_conn/retries`, the last is not zero (`+` when
/// redispatched to another instance).
fn haproxy_retries(log: &[String]) -> usize {
    log.iter()
        .filter(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            fields.windows(2).any(|w| {
                let state =
                    w[0].len() == 4 && w[0].chars().all(|c| c == '-' || c.is_ascii_alphabetic());
                let retries = w[1].rsplit('/').next().unwrap_or("0");
                state && w[1].split('/').count() == 5 && retries.trim_start_matches('+') != "0"
            })
        })
        .count()
}

fn sigterm_one_instance_behind_haproxy_fails_no_request() {
    let test = "sigterm_one_instance_behind_haproxy_fails_no_request";
    let (tally, _) = one_instance_goes_away(test, "TERM");
    assert_eq!(tally.failures(), 0, "failed requests: {tally:?}");
    assert_eq!(tally.resets, 0, "resets: {tally:?}");
    // HAProxy keeps the client's connections; nothing reaches the client.
    assert_eq!(tally.retried, 0, "{tally:?}");
}

fn sigkill_one_instance_behind_haproxy_is_retried_to_zero_failures() {
    let test = "sigkill_one_instance_behind_haproxy_is_retried_to_zero_failures";
    let (tally, retried) = one_instance_goes_away(test, "KILL");
    // The kill did fail requests between HAProxy and the instance (counted and
    // reported above); HAProxy's retries of these GETs keep the client's at zero.
    assert!(retried > 0, "the kill failed nothing HAProxy had to retry");
    assert_eq!(tally.failures(), 0, "failed requests: {tally:?}");
    assert_eq!(tally.resets, 0, "resets: {tally:?}");
}

tests::register! {
    #[needs("haproxy")] sigterm_one_instance_behind_haproxy_fails_no_request,
    #[needs("haproxy")] sigkill_one_instance_behind_haproxy_is_retried_to_zero_failures,
}
