//! The served root: opening files strictly beneath it, whatever the path or symlinks say.

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The served folder: an open directory descriptor plus its canonical path.
#[derive(Debug)]
pub(crate) struct Root {
    dir: OwnedFd,
    canonical: PathBuf,
    /// Cleared when the kernel lacks `openat2` (before Linux 5.6, or filtered by seccomp).
    openat2_works: AtomicBool,
}

/// Why a path could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// No such file, or a symlink that leads outside the root.
    NotFound,
    /// The file exists but the server may not read it.
    Forbidden,
    /// Anything else (descriptor exhaustion, I/O errors).
    Other,
}

impl Root {
    /// Opens `path` as the root. Fails with a clear message if it is not a directory.
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let canonical = path.canonicalize()?;
        if !canonical.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        let dir = rustix::fs::open(
            &canonical,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            dir,
            canonical,
            openat2_works: AtomicBool::new(true),
        })
    }

    /// The root's directory descriptor (for `*at` calls).
    pub(crate) fn dir(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.dir.as_fd()
    }

    /// The canonical, absolute path of the root.
    pub(crate) fn path(&self) -> &Path {
        &self.canonical
    }

    /// Opens `relative` (from [`shared::site::path::sanitize_path`], `""` for the root) for
    /// reading. Symlinks are followed only while they stay beneath the root.
    pub(crate) fn open_beneath(&self, relative: &str) -> Result<File, OpenError> {
        let rel = if relative.is_empty() { "." } else { relative };
        if self.openat2_works.load(Ordering::Relaxed) {
            // NONBLOCK: opening a FIFO planted in the root must not block the executor.
            let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            match openat2(&self.dir, rel, flags, Mode::empty(), resolve) {
                Ok(fd) => return Ok(File::from(fd)),
                Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
                    if self.probe_openat2_missing() =>
                {
                    self.openat2_works.store(false, Ordering::Relaxed);
                }
                Err(e) => return Err(classify(e.into())),
            }
        }
        self.open_by_canonical_path(rel)
    }

    /// Whether `openat2` is unavailable (as opposed to refusing one path).
    fn probe_openat2_missing(&self) -> bool {
        let r = openat2(
            &self.dir,
            ".",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH,
        );
        matches!(
            r,
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
        )
    }

    /// Fallback without `openat2`: canonicalise (resolving every symlink) and refuse
    /// anything whose real path is not beneath the canonical root.
    fn open_by_canonical_path(&self, rel: &str) -> Result<File, OpenError> {
        let real = self.canonical.join(rel).canonicalize().map_err(classify)?;
        if !real.starts_with(&self.canonical) {
            return Err(OpenError::NotFound);
        }
        File::open(real).map_err(classify)
    }
}

/// Maps an open error to what the client is told: escaping the root looks like absence.
fn classify(e: io::Error) -> OpenError {
    match e.raw_os_error().map(rustix::io::Errno::from_raw_os_error) {
        Some(rustix::io::Errno::NOENT)
        | Some(rustix::io::Errno::NOTDIR)
        | Some(rustix::io::Errno::XDEV)
        | Some(rustix::io::Errno::LOOP)
        | Some(rustix::io::Errno::NAMETOOLONG) => OpenError::NotFound,
        Some(rustix::io::Errno::ACCESS) | Some(rustix::io::Errno::PERM) => OpenError::Forbidden,
        _ => OpenError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_are_followed_only_beneath_the_root() {
        let outside = std::env::temp_dir().join(format!("resolve-test-{}", std::process::id()));
        let root = outside.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(outside.join("secret"), "secret").unwrap();
        std::fs::write(root.join("sub/ok.txt"), "ok").unwrap();
        symlink("sub/ok.txt", root.join("inside")).unwrap();
        symlink("../secret", root.join("up")).unwrap();
        symlink(outside.join("secret"), root.join("absolute")).unwrap();
        let r = Root::open(&root).unwrap();
        assert!(r.open_beneath("sub/ok.txt").is_ok());
        assert!(r.open_beneath("inside").is_ok());
        assert!(r.open_beneath("").is_ok());
        assert!(matches!(r.open_beneath("up"), Err(OpenError::NotFound)));
        assert!(matches!(
            r.open_beneath("absolute"),
            Err(OpenError::NotFound)
        ));
        assert!(matches!(
            r.open_beneath("missing"),
            Err(OpenError::NotFound)
        ));
        // The fallback path must refuse the same links.
        assert!(matches!(
            r.open_by_canonical_path("up"),
            Err(OpenError::NotFound)
        ));
        assert!(matches!(
            r.open_by_canonical_path("absolute"),
            Err(OpenError::NotFound)
        ));
        assert!(r.open_by_canonical_path("inside").is_ok());
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
