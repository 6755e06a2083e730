//! Starting the real `server` binary on 127.0.0.1, port 0, with a temporary root.

use crate::bin::binary;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The served folder.
    pub root: PathBuf,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The threads draining stdout and stderr; they end at the pipes' end of file.
    collectors: Vec<JoinHandle<()>>,
    _site: Option<tempfile::TempDir>,
}

/// A temporary site with the files every test relies on.
pub fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "HelloWorld.html", b"<!DOCTYPE html><html><head><title>Hello</title></head><body><h1>Hello, World!</h1></body></html>\n");
    write(
        root,
        "index.html",
        b"<!DOCTYPE html><html><body><a href=\"HelloWorld.html\">hello</a></body></html>\n",
    );
    write(root, "style.css", b"body { color: black; }\n");
    write(root, "sub/index.html", b"<p>sub index</p>\n");
    write(root, "sub/page.txt", b"plain text\n");
    write(root, "noindex/file.txt", b"x\n");
    write(root, ".hidden", b"secret dotfile\n");
    write(root, ".git/config", b"[core]\n");
    write(
        root,
        ".well-known/security.txt",
        b"Contact: mailto:security@example.com\n",
    );
    write(root, "with space.txt", b"space\n");
    write(root, "caf\u{e9}.txt", b"cafe\n");
    dir
}

/// Writes `contents` to `root/rel`, creating folders.
pub fn write(root: &Path, rel: &str, contents: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folders");
    }
    std::fs::write(path, contents).expect("write fixture");
}

impl TestServer {
    /// Starts the server on a fresh temporary [`site`].
    pub fn start() -> TestServer {
        let site = site();
        let root = site.path().to_path_buf();
        let mut s = TestServer::start_in(&root, &[]);
        s._site = Some(site);
        s
    }

    /// Starts the server on a fresh [`site`] with extra flags.
    pub fn start_with(args: &[&str]) -> TestServer {
        let site = site();
        let root = site.path().to_path_buf();
        let mut s = TestServer::start_in(&root, args);
        s._site = Some(site);
        s
    }

    /// Starts the server serving `root` with extra flags.
    pub fn start_in(root: &Path, args: &[&str]) -> TestServer {
        TestServer::start_on(0, root, args)
    }

    /// Starts the server on 127.0.0.1:`port` (0: one the OS picks) serving `root`, with
    /// extra flags; a second instance beside another one takes that one's port.
    pub fn start_on(port: u16, root: &Path, args: &[&str]) -> TestServer {
        let mut command = Command::new(binary("server"));
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--root"])
            .arg(root)
            .args(args);
        TestServer::spawn(command, root)
    }

    /// Runs `command` (the server binary, or a program that runs it) serving `root`,
    /// and waits for its start-up line.
    pub fn spawn(mut command: Command, root: &Path) -> TestServer {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start server binary");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        // Drain both pipes so the server never blocks writing its log.
        let collectors = vec![
            collect(child.stdout.take().expect("stdout"), stdout.clone()),
            collect(child.stderr.take().expect("stderr"), stderr.clone()),
        ];
        let end = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Some(addr) = stdout
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find_map(|l| l.starts_with("Serving ").then(|| parse_addr(l)).flatten())
            {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "server exited with {status}: {:?}",
                    stderr.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
            assert!(Instant::now() < end, "server did not print its address");
            thread::sleep(Duration::from_millis(10));
        };
        TestServer {
            addr,
            root: root.to_path_buf(),
            child,
            stdout,
            stderr,
            collectors,
            _site: None,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Lines the server printed on stdout so far (start-up line and access log).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Lines the server printed on stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits up to `limit` for a stdout line containing `needle`.
    pub fn wait_for_stdout(&self, needle: &str, limit: Duration) -> Option<String> {
        wait_for_line(&self.stdout, needle, limit)
    }

    /// Waits up to `limit` for a stderr line containing `needle`.
    pub fn wait_for_stderr(&self, needle: &str, limit: Duration) -> Option<String> {
        wait_for_line(&self.stderr, needle, limit)
    }

    /// Stops the server with SIGTERM and waits until it has exited and everything it
    /// printed has been read, so [`Self::stdout_lines`] is then complete: a test can
    /// assert that a line was *never* printed without guessing how long to wait.
    /// Returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-s", "TERM", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not send SIGTERM to the server");
        let code = self.wait_exit(STOP_LIMIT);
        for collector in self.collectors.drain(..) {
            let _ = collector.join();
        }
        code
    }

    /// The process id, for sending signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, up to `limit`; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The server's resident set size in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long [`TestServer::stop`] waits for the server to exit. An idle server exits at
/// once; this only turns a hang into a failure.
const STOP_LIMIT: Duration = Duration::from_secs(20);

fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

/// Waits up to `limit` for a line of `lines` containing `needle`.
fn wait_for_line(lines: &Mutex<Vec<String>>, needle: &str, limit: Duration) -> Option<String> {
    let end = Instant::now() + limit;
    loop {
        let found = lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|l| l.contains(needle))
            .cloned();
        if found.is_some() || Instant::now() >= end {
            return found;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads the address out of `Serving /root at http://127.0.0.1:PORT/`.
pub fn parse_addr(line: &str) -> Option<SocketAddr> {
    // `http://` or `https://`: the first address on the line is the main listener's.
    let rest = line.split("://").nth(1)?;
    rest.split('/').next()?.parse().ok()
}
