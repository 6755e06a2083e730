//! Locating the workspace's binaries from a test, building them first.
//!
//! `cargo test` builds test harnesses, not the `server` and `client` executables the
//! end-to-end tests run, so each test process runs `cargo build` for a binary once
//! before first use: it is quick when up to date, and a test never runs a stale binary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// The path of binary `name` (`server` or `client`) in the same target directory as the
/// running test, built with `cargo build` on first use in this process.
pub fn binary(name: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", name, "--bin", name]);
    // Cargo gives a test process its package's variables (CARGO_MANIFEST_DIR...). Some
    // build scripts (ring's) track them, so passing them on would make every test run
    // rebuild ring, rustls and the server, and the next plain `cargo build` rebuild
    // them again.
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(set_by_cargo_for_tests) {
            cmd.env_remove(var);
        }
    }
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p {name} failed");
    assert!(
        path.exists(),
        "cargo build did not produce {}",
        path.display()
    );
    built.insert(name.to_string(), path.clone());
    path
}

/// Whether `var` is one cargo sets for the package whose test is running (as opposed to
/// configuration such as `CARGO_HOME` or `CARGO_TARGET_DIR`, which must pass through).
fn set_by_cargo_for_tests(var: &str) -> bool {
    var.starts_with("CARGO_PKG_")
        || matches!(
            var,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_BIN_NAME"
        )
}
