//! Starting the real `server` binary on 127.0.0.1, port 0, with a temporary root.

use crate::bin::binary;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
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
        let mut command = Command::new(binary("server"));
        command
            .args(["--port", "0", "--bind", "127.0.0.1", "--root"])
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
        collect(child.stdout.take().expect("stdout"), stdout.clone());
        collect(child.stderr.take().expect("stderr"), stderr.clone());
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
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Some(l) = self.stdout_lines().into_iter().find(|l| l.contains(needle)) {
                return Some(l);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
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

fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
}

/// Reads the address out of `Serving /root at http://127.0.0.1:PORT/`.
pub fn parse_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("http://").nth(1)?;
    rest.split('/').next()?.parse().ok()
}
