//! The single-page-app fallback: which missing paths get the fallback file instead of a
//! 404 (those that do not look like files).

/// Whether a missing `path` (a rule path) should get the fallback file: its last
/// segment has no extension, so `/app/settings` and `/app/settings/` do, and
/// `/missing.png` and `/.env` do not.
pub fn applies(path: &str) -> bool {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    !last.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_links_fall_back_and_files_do_not() {
        for yes in [
            "/",
            "/app",
            "/app/settings",
            "/app/settings/",
            "/v1.2/users",
        ] {
            assert!(applies(yes), "{yes}");
        }
        for no in [
            "/missing.png",
            "/app/main.js",
            "/.env",
            "/a/b.tar.gz",
            "/x./",
        ] {
            assert!(!applies(no), "{no}");
        }
    }
}
