//! The served root: finding and opening files strictly beneath it, whatever the path or
//! symlinks say. A path's type is checked first through an `O_PATH` descriptor, which
//! opens nothing for reading, so FIFOs, sockets and devices planted in the root are
//! never opened (opening a FIFO would release a writer blocked on it).

use rustix::fs::{openat2, FileType, Mode, OFlags, ResolveFlags, Stat};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// No such file, a symlink that leads outside the root, or not a regular file or
    /// folder (FIFOs, sockets, devices).
    NotFound,
    /// The file exists but the server may not read it.
    Forbidden,
    /// The process or the system is out of descriptors or memory: try again shortly.
    Exhausted,
    /// Anything else (an I/O error).
    Other,
}

/// The real path, relative to the root, of what a path through a symlink names; `None`
/// when no symlink is on the way (the path is its own). Rules and the dotfile check must
/// hold for the real path too: a link inside the root (`public/alias -> ../private`)
/// must not be a way around them.
pub(crate) type Real = Option<String>;

/// What a path beneath the root names.
#[derive(Debug)]
pub(crate) enum Node {
    /// A regular file, open for reading, with its metadata.
    File(File, Metadata),
    /// A folder (not opened: listing it opens it, see [`Root::open_dir`]).
    Dir,
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

    /// What `relative` (from [`shared::site::path::sanitize_path`], `""` for the root)
    /// names: a regular file, opened for reading, or a folder, with its [`Real`] path.
    /// Anything else is `NotFound` and is never opened. Symlinks are followed only while
    /// they stay beneath the root.
    pub(crate) fn node(&self, relative: &str) -> Result<(Node, Real), OpenError> {
        let (st, real) = self.stat_real(relative)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => Ok((Node::Dir, real)),
            FileType::RegularFile => {
                let (file, meta) = self.open_regular(relative, &st)?;
                Ok((Node::File(file, meta), real))
            }
            _ => Err(OpenError::NotFound),
        }
    }

    /// Opens the regular file at `relative` for reading, with its [`Real`] path. Anything
    /// else is `NotFound`; the type is checked before the open, so a FIFO or device is
    /// never opened.
    pub(crate) fn open_file(&self, relative: &str) -> Result<(File, Metadata, Real), OpenError> {
        let (st, real) = self.stat_real(relative)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(OpenError::NotFound);
        }
        let (file, meta) = self.open_regular(relative, &st)?;
        Ok((file, meta, real))
    }

    /// Opens `relative`, which `st` (from [`Root::stat`]) says is a regular file. Swapped
    /// for something else between the two looks: as if absent.
    fn open_regular(&self, relative: &str, st: &Stat) -> Result<(File, Metadata), OpenError> {
        // NONBLOCK: should the path turn into a FIFO meanwhile, opening never waits.
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let file = File::from(self.open_with(relative, flags)?);
        let meta = file.metadata().map_err(classify)?;
        if !meta.is_file() || meta.ino() != st.st_ino || meta.dev() != st.st_dev {
            return Err(OpenError::NotFound);
        }
        Ok((file, meta))
    }

    /// Opens the folder at `relative` for reading its entries.
    pub(crate) fn open_dir(&self, relative: &str) -> Result<File, OpenError> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY | OFlags::NONBLOCK;
        Ok(File::from(self.open_with(relative, flags)?))
    }

    /// The status of what `relative` names (symlinks followed beneath the root), through
    /// an `O_PATH` descriptor: nothing is opened for reading, and no read permission is
    /// needed (a traverse-only folder can still serve its index).
    pub(crate) fn stat(&self, relative: &str) -> Result<Stat, OpenError> {
        self.stat_real(relative).map(|(st, _)| st)
    }

    /// [`Root::stat`], and the [`Real`] path. Without a symlink on the way this costs
    /// what `stat` does (one `openat2`, refusing symlinks, and an `fstat`); a path
    /// through one is resolved again, beneath the root, and named by `/proc/self/fd`.
    fn stat_real(&self, relative: &str) -> Result<(Stat, Real), OpenError> {
        let flags = OFlags::PATH | OFlags::CLOEXEC;
        let (fd, real) = match self.open_unlinked(relative, flags) {
            Some(Ok(fd)) => (fd, None),
            Some(Err(e)) => return Err(e),
            None => {
                let fd = self.open_with(relative, flags)?;
                let real = self.real_of(&fd).ok_or(OpenError::Other)?;
                (fd, Some(real).filter(|real| real != relative))
            }
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| classify(e.into()))?;
        Ok((st, real))
    }

    /// Opens `relative` beneath the root if no symlink is on its way; `None` when one
    /// is (or when that cannot be told without `openat2`: the caller resolves it).
    fn open_unlinked(&self, relative: &str, flags: OFlags) -> Option<Result<OwnedFd, OpenError>> {
        if !self.openat2_works.load(Ordering::Relaxed) {
            return None;
        }
        let rel = if relative.is_empty() { "." } else { relative };
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_SYMLINKS;
        match openat2(&self.dir, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Some(Ok(fd)),
            // A symlink on the way (or a loop of them, which the resolution reports again).
            Err(rustix::io::Errno::LOOP) => None,
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => None,
            Err(e) => Some(Err(classify(e.into()))),
        }
    }

    /// The root-relative path of what `fd` names (`""` for the root itself); `None`
    /// when it is not beneath the root or cannot be told (no `/proc`).
    fn real_of(&self, fd: &OwnedFd) -> Option<String> {
        use std::os::fd::AsRawFd;
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let relative = opened.strip_prefix(&self.canonical).ok()?;
        relative.to_str().map(str::to_string)
    }

    /// Opens `relative` with `flags`, strictly beneath the root.
    fn open_with(&self, relative: &str, flags: OFlags) -> Result<OwnedFd, OpenError> {
        let rel = if relative.is_empty() { "." } else { relative };
        if self.openat2_works.load(Ordering::Relaxed) {
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            match openat2(&self.dir, rel, flags, Mode::empty(), resolve) {
                Ok(fd) => return Ok(fd),
                Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
                    if self.probe_openat2_missing() =>
                {
                    if self.openat2_works.swap(false, Ordering::Relaxed) {
                        crate::log_queue::error(format_args!(
                            "openat2 is not available (Linux before 5.6, or a seccomp \
                             filter): files are opened by their resolved path, and each \
                             one is checked through /proc/self/fd to be beneath the root"
                        ));
                    }
                }
                Err(e) => return Err(classify(e.into())),
            }
        }
        self.open_by_canonical_path(rel, flags)
    }

    /// Whether `openat2` is unavailable (as opposed to refusing one path).
    fn probe_openat2_missing(&self) -> bool {
        let r = openat2(
            &self.dir,
            ".",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH,
        );
        matches!(
            r,
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
        )
    }

    /// Fallback without `openat2`: canonicalise (resolving every symlink) and refuse
    /// anything whose real path is not beneath the canonical root. A folder on the way
    /// can be swapped for a symlink between that check and the open, so what was opened
    /// is checked too ([`Root::holds`]); a descriptor that cannot be checked is refused.
    fn open_by_canonical_path(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, OpenError> {
        let real = self.canonical.join(rel).canonicalize().map_err(classify)?;
        if !real.starts_with(&self.canonical) {
            return Err(OpenError::NotFound);
        }
        let fd = rustix::fs::open(&real, flags, Mode::empty()).map_err(|e| classify(e.into()))?;
        match self.holds(&fd) {
            Some(true) => Ok(fd),
            Some(false) => Err(OpenError::NotFound),
            None => Err(OpenError::Other),
        }
    }

    /// Whether what `fd` names lies beneath the root, by the path the kernel keeps for
    /// it (`/proc/self/fd`); `None` when that cannot be read (no `/proc`).
    fn holds(&self, fd: &OwnedFd) -> Option<bool> {
        use std::os::fd::AsRawFd;
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        Some(opened.starts_with(&self.canonical))
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
        Some(rustix::io::Errno::MFILE)
        | Some(rustix::io::Errno::NFILE)
        | Some(rustix::io::Errno::NOMEM) => OpenError::Exhausted,
        // A socket, or a device with no driver behind it: nothing to serve.
        Some(rustix::io::Errno::NXIO) | Some(rustix::io::Errno::NODEV) => OpenError::NotFound,
        _ => OpenError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fresh folder for one test.
    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("root-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn symlinks_are_followed_only_beneath_the_root() {
        let outside = folder("links");
        let root = outside.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(outside.join("secret"), "secret").unwrap();
        std::fs::write(root.join("sub/ok.txt"), "ok").unwrap();
        symlink("sub/ok.txt", root.join("inside")).unwrap();
        symlink("../secret", root.join("up")).unwrap();
        symlink(outside.join("secret"), root.join("absolute")).unwrap();
        let r = Root::open(&root).unwrap();
        assert!(matches!(r.node("sub/ok.txt"), Ok((Node::File(..), None))));
        assert!(matches!(r.node(""), Ok((Node::Dir, None))));
        // A link inside the root is followed, and says where it leads.
        match r.node("inside") {
            Ok((Node::File(..), Some(real))) => assert_eq!(real, "sub/ok.txt"),
            other => panic!("{other:?}"),
        }
        for path in ["up", "absolute", "missing"] {
            assert_eq!(r.node(path).err(), Some(OpenError::NotFound), "{path}");
        }
        // The fallback path must refuse the same links.
        let flags = OFlags::PATH | OFlags::CLOEXEC;
        for path in ["up", "absolute"] {
            let got = r.open_by_canonical_path(path, flags).err();
            assert_eq!(got, Some(OpenError::NotFound), "{path}");
        }
        assert!(r.open_by_canonical_path("inside", flags).is_ok());
        std::fs::remove_dir_all(&outside).unwrap();
    }

    /// Without `openat2`, a folder swapped for a symlink to outside between the check
    /// of the resolved path and the open could be read (found by review, by swapping
    /// folders with `renameat2(RENAME_EXCHANGE)` under load): what was opened is checked.
    #[test]
    fn the_fallback_checks_what_it_opened_and_a_swap_race_reads_nothing_outside() {
        let outside = folder("race");
        let root = outside.join("root");
        std::fs::create_dir_all(root.join("pub")).unwrap();
        std::fs::create_dir_all(outside.join("secret")).unwrap();
        std::fs::write(root.join("pub/f.txt"), "public").unwrap();
        std::fs::write(outside.join("secret/f.txt"), "secret").unwrap();
        symlink("../secret", root.join("link")).unwrap();
        let r = Root::open(&root).unwrap();
        let secret = rustix::fs::open(
            outside.join("secret/f.txt").as_path(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        assert_eq!(r.holds(&secret), Some(false));
        let public = r
            .open_by_canonical_path("pub/f.txt", OFlags::RDONLY)
            .unwrap();
        assert_eq!(r.holds(&public), Some(true));
        // pub and link trade places again and again while the fallback opens pub/f.txt.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, root) = (stop.clone(), root.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = rustix::fs::renameat_with(
                        rustix::fs::CWD,
                        root.join("pub").as_path(),
                        rustix::fs::CWD,
                        root.join("link").as_path(),
                        rustix::fs::RenameFlags::EXCHANGE,
                    );
                }
            })
        };
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let mut read = 0;
        for _ in 0..20_000 {
            if let Ok(fd) = r.open_by_canonical_path("pub/f.txt", flags) {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut File::from(fd), &mut text).unwrap();
                assert_eq!(text, "public");
                read += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();
        assert!(read > 0, "the file was never opened");
        std::fs::remove_dir_all(&outside).unwrap();
    }

    /// Issue 9 item 11: a FIFO in the root was opened by GET (releasing a writer
    /// blocked on it), and a socket gave 500. Neither is a file to serve.
    #[test]
    fn fifos_and_sockets_are_not_found_and_never_opened() {
        let dir = folder("special");
        let fifo = dir.join("pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
        let r = Root::open(&dir).unwrap();
        assert_eq!(r.node("pipe").err(), Some(OpenError::NotFound));
        assert_eq!(r.node("sock").err(), Some(OpenError::NotFound));
        assert_eq!(r.open_file("pipe").err(), Some(OpenError::NotFound));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
