//! Helpers for the client's end-to-end tests: find (or build) the real `client` binary,
//! run it with a private home, script small TCP peers, and start outside programs
//! (python3, nginx, tmux); a test declares those it needs when it registers (see
//! [`crate::tools`]).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a client run may take before the test calls it hung and kills it. Not a
/// speed check: every run here ends in well under a second or at its own `--timeout`;
/// this only turns a hang (the bug class "never hangs" forbids) into a failure.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Largest request head a scripted peer reads; the client sends about 100 bytes.
const MAX_PEER_REQUEST: usize = 64 * 1024;

/// The real `client` binary, built on first use (see [`crate::bin::binary`]).
pub fn client_bin() -> PathBuf {
    crate::bin::binary("client")
}

/// A private home for one test, so history never touches the real one.
#[derive(Debug)]
pub struct Home {
    /// The temporary directory used as HOME and XDG_STATE_HOME's parent.
    pub dir: tempfile::TempDir,
}

impl Home {
    /// A fresh empty home.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `$XDG_STATE_HOME` inside this home.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The client's history file in this home.
    pub fn history(&self) -> PathBuf {
        self.state().join("client").join("history")
    }

    /// A `client` command with this home and no colour or timeout from the environment.
    pub fn client(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(client_bin());
        cmd.args(args)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.state())
            .env_remove("CLIENT_TIMEOUT")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        cmd
    }
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a client to completion with `stdin` piped in; kills it if it hangs.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn client");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = wait_or_kill(child);
    let _ = writer.join();
    output
}

/// Waits for `child`, collecting its output; panics (after killing it) past [`HANG_LIMIT`].
pub fn wait_or_kill(mut child: Child) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("client hung for {HANG_LIMIT:?} and was killed");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A scripted peer: a listener on 127.0.0.1:0 whose every connection runs `handler` in
/// its own thread. The listener lives as long as the test process.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The port it listens on.
    pub port: u16,
    /// How many connections it accepted.
    pub connections: Arc<AtomicUsize>,
    /// Every request head it read, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    /// Starts a peer; `handler(stream, n, peer)` serves the n-th connection (from 1).
    pub fn start<F>(handler: F) -> Peer
    where
        F: Fn(TcpStream, usize, &Peer) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self::serve(listener, handler)
    }

    /// Starts a peer on an existing listener (for IPv6).
    pub fn serve<F>(listener: TcpListener, handler: F) -> Peer
    where
        F: Fn(TcpStream, usize, &Peer) + Send + Sync + 'static,
    {
        let peer = Peer {
            port: listener.local_addr().expect("local_addr").port(),
            connections: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(Mutex::new(Vec::new())),
        };
        let handler = Arc::new(handler);
        let shared = peer.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let (handler, peer) = (Arc::clone(&handler), shared.clone());
                thread::spawn(move || handler(stream, n, &peer));
            }
        });
        peer
    }

    /// A peer that answers every request (keep-alive) with one canned reply.
    pub fn canned(reply: &'static [u8]) -> Peer {
        Peer::start(move |mut s, _, peer| {
            while peer.read_request(&mut s).is_some() {
                if s.write_all(reply).is_err() {
                    return;
                }
            }
        })
    }

    /// A keep-alive peer serving `pages` (path, content type, body) with Content-Length,
    /// and 404 for anything else.
    pub fn pages(pages: Vec<(&'static str, &'static str, &'static str)>) -> Peer {
        Peer::start(move |mut s, _, peer| {
            while let Some(head) = peer.read_request(&mut s) {
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let head_only = head.starts_with("HEAD ");
                let (status, ctype, body) = match pages.iter().find(|p| p.0 == path) {
                    Some((_, ctype, body)) => ("200 OK", *ctype, *body),
                    None => ("404 Not Found", "text/plain", "not found\n"),
                };
                let mut reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if !head_only {
                    reply.push_str(body);
                }
                if s.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        })
    }

    /// A keep-alive peer that answers every request with `200` and, as the body, the exact
    /// bytes of the request it received (head and `Content-Length` body), so a test can
    /// assert the client's encoding byte for byte. It honours `Expect: 100-continue`.
    pub fn echo() -> Peer {
        Peer::start(move |mut s, _, peer| {
            while let Some(head) = peer.read_request(&mut s) {
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if head
                    .to_ascii_lowercase()
                    .contains("\r\nexpect: 100-continue\r\n")
                    && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
                {
                    return;
                }
                let mut body = vec![0u8; len];
                if s.read_exact(&mut body).is_err() {
                    return;
                }
                let mut echoed = head.into_bytes();
                echoed.extend_from_slice(&body);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    echoed.len()
                );
                if s.write_all(reply.as_bytes())
                    .and_then(|()| s.write_all(&echoed))
                    .is_err()
                {
                    return;
                }
            }
        })
    }

    /// Reads one request head (up to the blank line) and records it; `None` at EOF.
    pub fn read_request(&self, s: &mut TcpStream) -> Option<String> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return None,
            }
            if head.len() > MAX_PEER_REQUEST {
                return None;
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        self.requests
            .lock()
            .expect("requests lock")
            .push(text.clone());
        Some(text)
    }

    /// How many connections were accepted so far.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The request lines received so far.
    pub fn request_lines(&self) -> Vec<String> {
        let requests = self.requests.lock().expect("requests lock");
        requests
            .iter()
            .map(|r| r.lines().next().unwrap_or("").to_string())
            .collect()
    }
}

/// A peer that never answers: reads (and drops) whatever comes until the client closes
/// the connection (or [`HANG_LIMIT`] passes), so the client's timeout, not a sleep in the
/// peer, decides when the exchange ends.
pub fn hold_until_closed(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(HANG_LIMIT));
    let mut sink = [0u8; 4096];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// Writes `bytes` and closes the write side, ignoring a client that already left.
pub fn send_and_close(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read it, drop it). Callers
/// retry when another process takes it in between.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Background {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Kept so its directory lives as long as the process.
    _dir: Option<tempfile::TempDir>,
}

impl Background {
    /// The process once it accepts connections on `port`; `None` (after killing it) if
    /// it exited or never listened.
    pub fn started(
        mut child: Child,
        port: u16,
        dir: Option<tempfile::TempDir>,
    ) -> Option<Background> {
        if wait_listening(&mut child, port) {
            return Some(Background {
                child,
                port,
                _dir: dir,
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something accepts connections on `port`, or `child` exits. Returns false
/// if it never came up.
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let start = Instant::now();
    while start.elapsed() < HANG_LIMIT {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// How many times a server is started on a fresh free port before giving up.
const START_ATTEMPTS: usize = 5;

/// Python's `http.server` (HTTP/1.0, close-delimited) serving `root`.
pub fn python_server(root: &Path) -> io::Result<Background> {
    for _ in 0..START_ATTEMPTS {
        let port = free_port();
        let mut child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        if wait_listening(&mut child, port) {
            return Ok(Background {
                child,
                port,
                _dir: None,
            });
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    Err(io::Error::other("python3 -m http.server did not start"))
}

/// Debian's nginx, in the foreground with a temporary config, serving `root`.
pub fn nginx_server(nginx: &Path, root: &Path) -> io::Result<Background> {
    let r = root.display();
    nginx_with(
        nginx,
        "",
        &format!(
            "root {r};\n    autoindex on;\n    keepalive_timeout 30s;\n    \
             location /filtered/ {{ alias {r}/; sub_filter_types *; sub_filter </body> <p>filtered</p></body>; }}"
        ),
    )
}

/// nginx in the foreground with a temporary config whose one server listens on a free
/// loopback port (`listen 127.0.0.1:PORT{listen_options};`) with `server_body` inside.
pub fn nginx_with(nginx: &Path, listen_options: &str, server_body: &str) -> io::Result<Background> {
    for _ in 0..START_ATTEMPTS {
        let port = free_port();
        let dir = tempfile::tempdir()?;
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nerror_log stderr;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             default_type application/octet-stream;\n  types {{ text/html html; text/plain txt; }}\n\
             server {{\n    listen 127.0.0.1:{port}{listen_options};\n    {server_body}\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(started) = Background::started(child, port, Some(dir)) {
            return Ok(started);
        }
    }
    Err(io::Error::other("nginx did not start"))
}

/// What a [`Tmux`] pane prints when its command has ended, before `STATUS]`.
pub const EXITED: &str = "[the command exited with status";

/// A tmux server of its own (`-L name`) running one command in a 120x40 window; killed
/// when dropped.
#[derive(Debug)]
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (a shell line) in a new detached session on a private socket.
    ///
    /// The pane's shell outlives the command: it prints [`EXITED`] with the status and
    /// sleeps. tmux throws away the output it has not yet processed when a pane's process
    /// exits (tmux issue 506), which lost a fast client's last lines under load, and a
    /// dead pane's screen can also lose its first line (tmux issue 1663).
    /// `remain-on-exit`, set by the config file the server starts with, still keeps the
    /// screen of a shell that dies.
    pub fn start(name: &str, command: &str) -> Tmux {
        let command = format!(
            "{command}; s=$?; printf '\\n{EXITED} %d]\\n' \"$s\"; exec sleep {}",
            HANG_LIMIT.as_secs() * 10
        );
        let socket = format!("{name}-{}", std::process::id());
        let config = std::env::temp_dir().join(format!("{socket}.tmux.conf"));
        std::fs::write(&config, "set-option -g remain-on-exit on\n")
            .expect("write the tmux config");
        let status = Command::new("tmux")
            .env_remove("TMUX")
            .args(["-L", &socket, "-f"])
            .arg(&config)
            .args(["new-session", "-d", "-x", "120", "-y", "40"])
            .arg(command)
            .status()
            .expect("run tmux");
        let _ = std::fs::remove_file(&config);
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    /// Runs a tmux command against this server.
    pub fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .env_remove("TMUX")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys (tmux key names like `Enter`, `C-c`, `Tab`, or literal text with `-l`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.cmd(&args);
    }

    /// Types literal text.
    pub fn type_text(&self, text: &str) {
        self.cmd(&["send-keys", "-t", "0", "-l", text]);
    }

    /// The visible pane text.
    pub fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "0"])
    }

    /// Whether the command in the pane has exited (its [`EXITED`] line is on the screen,
    /// so everything it printed before has been drawn).
    pub fn exited(&self) -> bool {
        self.screen().contains(EXITED)
    }

    /// Polls the screen until `pred` holds; panics with the screen after [`HANG_LIMIT`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() >= HANG_LIMIT {
                let dead = self.cmd(&[
                    "display-message",
                    "-p",
                    "-t",
                    "0",
                    "#{pane_dead} #{pane_dead_status}",
                ]);
                panic!("waited {HANG_LIMIT:?} for {what}; pane dead/exit status: '{}'; screen:\n{screen}", dead.trim());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .env_remove("TMUX")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A shell-quoted word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
