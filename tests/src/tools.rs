//! Outside programs (curl, python3, chromium, nginx...): found, or the test skips with a
//! printed reason, except under `CI=true`, where `.ci/run` installed them and their
//! absence is a failure.

use std::path::PathBuf;

/// Whether we run under CI (`CI=true`), where every outside program must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds `program` on `PATH` (or as an absolute path).
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

/// The first of `candidates` that exists. Outside CI, `None` means the caller should
/// skip (a reason has been printed); under CI a missing program panics.
pub fn require(test: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = candidates.iter().find_map(|c| which(c)) {
        return Some(p);
    }
    let names = candidates.join(" or ");
    if in_ci() {
        panic!("{test}: {names} is required under CI=true but was not found; .ci/run should install it");
    }
    eprintln!("skipping {test}: {names} not found (install it to run this test)");
    None
}
