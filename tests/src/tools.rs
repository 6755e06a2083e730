//! Outside programs a test needs (curl, python3, chromium, nginx, tmux, redbot...): a
//! test declares them when it is registered (`#[needs("curl")]`, see
//! [`crate::register!`]); the harness reports it *ignored* with the reason when one is
//! missing, and fails it under `CI=true` (or `CI=1`), where `.ci/run` installs them all.
//! Inside the test, [`program`] gives the path.
//!
//! A need is a program name (looked up on `PATH`, or an absolute path), a Python module
//! as `python3:MODULE` (for example `python3:h2`), or `ipv6` (a usable `::1` loopback).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Places a program lives other than its name on `PATH`: Debian puts nginx and haproxy
/// in `/usr/sbin`, which is not on every user's `PATH`; Chromium has two names.
const ALTERNATIVES: &[(&str, &[&str])] = &[
    ("chromium", &["chromium", "chromium-browser"]),
    ("nginx", &["nginx", "/usr/sbin/nginx"]),
    ("haproxy", &["haproxy", "/usr/sbin/haproxy"]),
];

/// Each need checked once per run: `Ok(path)` (empty for a non-program need) or
/// `Err(reason)`.
static FOUND: Mutex<Option<HashMap<&'static str, Result<PathBuf, String>>>> = Mutex::new(None);

/// Whether we run under CI (`CI=true` or `CI=1`), where every need must be met.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds `program` on `PATH` (or as a path, if it contains a `/`).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Why the first unmet need in `needs` is unmet, or `None` when all are met.
pub fn missing(needs: &[&'static str]) -> Option<String> {
    needs.iter().find_map(|need| check(need).err())
}

/// The path of `program`, a need the running test declared at registration. Panics if it
/// is missing, which the harness has ruled out unless the test was not registered with
/// `#[needs("...")]`.
pub fn program(program: &'static str) -> PathBuf {
    match check(program) {
        Ok(path) => path,
        Err(reason) => panic!(
            "{reason}; register the test with #[needs(\"{program}\")] so it is ignored instead"
        ),
    }
}

/// Runs `python3 -I -c script args...` (a need the test declared) and returns what it
/// printed; panics with its output and errors when it fails.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(program("python3"))
        .args(["-I", "-c", script])
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python3 failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn check(need: &'static str) -> Result<PathBuf, String> {
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    let found = found.get_or_insert_with(HashMap::new);
    found.entry(need).or_insert_with(|| look(need)).clone()
}

fn look(need: &str) -> Result<PathBuf, String> {
    if need == "ipv6" {
        return std::net::TcpListener::bind("[::1]:0")
            .map(|_| PathBuf::new())
            .map_err(|e| format!("no IPv6 loopback here (binding [::1]:0: {e})"));
    }
    if let Some(module) = need.strip_prefix("python3:") {
        let python = look("python3")?;
        return python_module(&python, module).map(|()| python);
    }
    let alone = [need];
    let candidates: &[&str] = ALTERNATIVES
        .iter()
        .find(|(name, _)| *name == need)
        .map_or(&alone, |(_, c)| c);
    candidates
        .iter()
        .find_map(|c| which(c))
        .ok_or_else(|| format!("{} not found on PATH", candidates.join(" or ")))
}

fn python_module(python: &Path, module: &str) -> Result<(), String> {
    let imported = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if imported {
        Ok(())
    } else {
        Err(format!("python3 cannot import {module}"))
    }
}
