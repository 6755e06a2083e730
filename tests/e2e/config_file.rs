//! Start-up settings end to end: `--config FILE`, `--print-config`, `hash-password`, and
//! the values refused or accepted at start-up (issue 9 items 15 and 16).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use tests::bin::binary;
use tests::raw::get;
use tests::server::{parse_addr, TestServer};

/// Runs the server binary to completion (for runs that must stop at start-up).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary("server"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run server")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cache_control_with_crlf_is_refused_at_start_up() {
    let o = run(
        &[
            "--port",
            "0",
            "--cache-control",
            "no-cache\r\nX-Injected: 1",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("CR, LF or NUL"), "{}", stderr(&o));
    let o = run(&["--port", "0"], &[("SERVER_CACHE_CONTROL", "a\nb")]);
    assert!(!o.status.success(), "the environment is checked too");
}

fn max_connections_zero_is_refused_at_start_up() {
    let o = run(&["--port", "0", "--max-connections", "0"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 1"), "{}", stderr(&o));
}

fn empty_index_name_is_refused_at_start_up() {
    let o = run(&["--port", "0", "--index", ""], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot be empty"), "{}", stderr(&o));
}

fn listing_from_environment_accepts_one() {
    let site = tests::server::site();
    let mut child = Command::new(binary("server"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--root"])
        .arg(site.path())
        .env("SERVER_LISTING", "1")
        .env("SERVER_QUIET", "yes")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let addr = first_line_addr(&mut child);
    let r = get(addr, "/noindex/");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status, 200, "SERVER_LISTING=1 must turn listings on");
    assert!(r.text().contains("file.txt"));
}

fn bind_localhost_resolves_and_serves() {
    let site = tests::server::site();
    let mut child = Command::new(binary("server"))
        .args(["--port", "0", "--bind", "localhost", "--quiet", "--root"])
        .arg(site.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let addr = first_line_addr(&mut child);
    let r = get(addr, "/HelloWorld.html");
    let _ = child.kill();
    let _ = child.wait();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_eq!(r.status, 200);
}

/// The address from the server's first stdout line.
fn first_line_addr(child: &mut std::process::Child) -> std::net::SocketAddr {
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    parse_addr(&line).unwrap_or_else(|| panic!("no address in {line:?}"))
}

fn config_file_settings_apply_and_flags_override_them() {
    let site = tests::server::site();
    let conf = site.path().join("site.toml");
    std::fs::write(
        &conf,
        "cache_control = \"public, max-age=60\"\nlisting = true\nquiet = true\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    let s = TestServer::start_in(site.path(), &["--config", conf]);
    let r = get(s.addr, "/HelloWorld.html");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(
        get(s.addr, "/noindex/").status,
        200,
        "listing = true applies"
    );
    drop(s);
    let s = TestServer::start_in(site.path(), &["--config", conf, "--listing=off"]);
    assert_eq!(
        get(s.addr, "/noindex/").status,
        404,
        "--listing=off beats the file"
    );
}

fn config_file_unknown_key_stops_start_up_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.toml");
    std::fs::write(&conf, "port = 0\nlistng = true\n").unwrap();
    let o = run(&["--config", conf.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("site.toml:2: unknown key 'listng'; did you mean 'listing'?"),
        "{e}"
    );
    assert!(e.starts_with("server: error: "), "{e}");
}

fn print_config_prints_the_effective_settings_as_toml() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.toml");
    std::fs::write(
        &conf,
        "port = 7100\n[[redirects]]\nsource = \"/old/*\"\ndestination = \"/new/$1\"\n",
    )
    .unwrap();
    let o = run(
        &[
            "--config",
            conf.to_str().unwrap(),
            "--print-config",
            "--compress",
        ],
        &[("SERVER_SHUTDOWN_GRACE", "3")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "port = 7100  # from the config file",
        "compress = true  # from the command line",
        "shutdown_grace = 3  # from the environment (SERVER_SHUTDOWN_GRACE)",
        "cache_control = \"no-cache\"\n",
        "[[redirects]]",
        "destination = \"/new/$1\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

fn hash_password_from_a_pipe_prints_an_argon2id_hash() {
    let mut child = Command::new(binary("server"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("$argon2id$v=19$"), "{out}");
    assert_eq!(out.lines().count(), 1);
}

/// On a terminal the password is asked twice and never echoed (python3's pty module
/// plays the terminal).
fn hash_password_on_a_terminal_does_not_echo() {
    let python = tests::tools::program("python3");
    let script = r#"
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "hash-password"])
seen = b""
def until(needle):
    global seen
    deadline = time.time() + 20
    while needle not in seen and time.time() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
until(b"Password: ")
os.write(fd, b"s3cret-typed\r")
until(b"Again: ")
os.write(fd, b"s3cret-typed\r")
until(b"$argon2id$")
until(b"\n$")
_, status = os.waitpid(pid, 0)
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        seen += chunk
except OSError:
    pass
sys.stdout.write(seen.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let o = Command::new(python)
        .args(["-c", script])
        .arg(binary("server"))
        .output()
        .expect("run python3");
    let seen = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{seen} {}", stderr(&o));
    assert!(
        seen.contains("Password: ") && seen.contains("Again: "),
        "{seen}"
    );
    assert!(seen.contains("$argon2id$v=19$"), "{seen}");
    assert!(!seen.contains("s3cret"), "the password was echoed: {seen}");
}

fn serving_forms_of_the_first_round_still_work() {
    // `server --port N` (and every flag form the README shows) starts as before.
    let s = TestServer::start_with(&[
        "--quiet",
        "--index",
        "index.html",
        "--listing",
        "--compress",
    ]);
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(
        get(s.addr, "/noindex/").status,
        200,
        "a bare --listing still turns listings on"
    );
}

tests::register! {
    cache_control_with_crlf_is_refused_at_start_up,
    max_connections_zero_is_refused_at_start_up,
    empty_index_name_is_refused_at_start_up,
    listing_from_environment_accepts_one,
    bind_localhost_resolves_and_serves,
    config_file_settings_apply_and_flags_override_them,
    config_file_unknown_key_stops_start_up_naming_the_line,
    print_config_prints_the_effective_settings_as_toml,
    hash_password_from_a_pipe_prints_an_argon2id_hash,
    #[needs("python3")] hash_password_on_a_terminal_does_not_echo,
    serving_forms_of_the_first_round_still_work,
}
