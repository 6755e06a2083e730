//! Whether anything a cached file's path depends on may have changed: one inotify
//! instance watching each cached file and every folder from the root down to it, read
//! as a single "changes pending" count instead of a `stat` per request.
//!
//! Why this cannot serve an edit stale: the kernel queues an inotify event inside the
//! system call that makes the change (write and its vectored, spliced and copying forms,
//! truncate, fallocate, rename, unlink, chmod), before that call returns. A request sent after the edit therefore reaches us after its event is
//! queued, and every cache hit first asks the queue (`FIONREAD`) whether it is empty. Any
//! event at all, whatever it names, moves the [`Watcher`]'s generation on, and an entry is
//! trusted without a `stat` only while the generation is the one it was last proven at
//! (so an unrelated change costs each entry one `stat`, never a stale hit).
//!
//! What it watches: the file itself (its inode, so an edit through another hard link is
//! seen too) and each folder on its path (so a rename, a deletion or a new file put in its
//! place is seen). A path with a symlink on it is never trusted: the folders it leads
//! through are not the ones watched. Changes inotify does not report are caught by the
//! `stat` that still runs once per entry every [`TRUST_SECONDS`]: writes through a shared
//! memory mapping, Linux AIO (`io_submit`) writes from a writer that keeps the file open
//! (its close is reported), and a file system mounted over a folder. Network, FUSE and
//! overlay file systems, which can change underneath us, are never trusted.

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use std::collections::HashSet;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Most watches one server holds. Each costs the kernel about 1 KiB and counts against
/// the user's `fs.inotify.max_user_watches` (8192 on older kernels), shared with every
/// editor and file watcher the user runs; a static site's hot set needs far fewer. Past
/// this, newly cached files are proven by a `stat` on every hit, as before.
pub(crate) const MAX_WATCHES: usize = 4096;

/// How long a proven entry is trusted with no event, in whole seconds of the clock: the
/// bound on staleness for the changes inotify cannot report (see the module comment).
pub(crate) const TRUST_SECONDS: u64 = 1;

/// File systems whose changes inotify reports in full: those where every change goes
/// through this kernel (ext2/3/4, XFS, Btrfs, tmpfs, F2FS). Others (NFS, SMB, FUSE,
/// overlay, 9p; ZFS, whose rollback and receive change files with no event) can change
/// underneath us, so their files are never trusted.
const LOCAL_FILE_SYSTEMS: [i64; 5] = [
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // XFS
    0x9123_683E, // Btrfs
    0x0102_1994, // tmpfs
    0xF2F5_2010, // F2FS
];

/// What a folder's watch reports: its entries changing (created, deleted, renamed in or
/// out), its own attributes (a `chmod` can make a file unreadable), or its own removal.
const FOLDER_EVENTS: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR);

/// What a file's watch reports: its content or attributes changing, a writer closing it,
/// or the file being deleted or moved.
const FILE_EVENTS: WatchFlags = WatchFlags::MODIFY
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF);

/// The shared inotify instance and its generation.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    /// Made on first use (so caches that never watch hold no instance); `None` when the
    /// kernel refused one (the per-user instance limit, or no inotify).
    fd: OnceLock<Option<OwnedFd>>,
    /// Counts drains of the queue, twice each: odd while one is under way.
    generation: AtomicU64,
    /// Held by the thread draining the queue.
    draining: Mutex<()>,
    /// The watches placed (inotify gives an inode the same number each time).
    watches: Mutex<HashSet<i32>>,
}

impl Watcher {
    /// The generation, if no change is pending or being drained: an entry proven at this
    /// generation is still current. A pending change is drained here, which moves the
    /// generation on, so every entry is proven again before its next hit.
    pub(crate) fn quiet(&self) -> Option<u64> {
        if let Some(Some(fd)) = self.fd.get() {
            match rustix::io::ioctl_fionread(fd) {
                Ok(0) => {}
                // Events queued that this thread did not drain (another is draining, and
                // may already have read its last event): nothing is proven current.
                Ok(_) if !self.drain(fd.as_fd()) => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        // The load comes after the queue was seen empty (or drained here): a drainer bumps
        // the generation before it reads any event, so an emptied queue means an odd or
        // newer generation.
        let generation = self.generation.load(Ordering::SeqCst);
        generation.is_multiple_of(2).then_some(generation)
    }

    /// Reads every pending event, moving the generation on before and after. False when
    /// another thread holds the drain: its generation may be even again before it lets
    /// go, while an event that came after its last read is still queued.
    fn drain(&self, fd: BorrowedFd<'_>) -> bool {
        let Ok(_held) = self.draining.try_lock() else {
            return false;
        };
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut buffer = [MaybeUninit::<u8>::uninit(); 4096];
        let mut events = inotify::Reader::new(fd, &mut buffer);
        // Until the queue is empty (`EAGAIN`). A watch the kernel removed (its file
        // deleted, or replaced and freed) no longer counts against the limit.
        while let Ok(event) = events.next() {
            if event.events().contains(inotify::ReadFlags::IGNORED) {
                let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
                watches.remove(&event.wd());
            }
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Watches `relative` (a file beneath `root`) and every folder from the root down to
    /// it. False when any of them cannot be watched: a symlink on the way, a file system
    /// inotify cannot follow, no inotify, or [`MAX_WATCHES`] reached. The caller proves
    /// the file by a `stat` *after* this returns, so nothing between is missed.
    pub(crate) fn watch(&self, root: BorrowedFd<'_>, relative: &str) -> bool {
        // Through the root's descriptor, so a renamed root still names the same folder.
        let base = format!("/proc/self/fd/{}", root.as_raw_fd());
        // The file's own file system (a folder beneath the root may be a mount point).
        if !on_local_file_system(&format!("{base}/{relative}")) {
            return false;
        }
        let Some(fd) = self
            .fd
            .get_or_init(|| inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok())
            .as_ref()
        else {
            return false;
        };
        let mut folder = String::new();
        let mut targets = vec![(format!("{base}/."), FOLDER_EVENTS)];
        let mut parts = relative.split('/').peekable();
        while let Some(part) = parts.next() {
            if part.is_empty() || part == "." || part == ".." {
                return false;
            }
            if !folder.is_empty() {
                folder.push('/');
            }
            folder.push_str(part);
            let mask = if parts.peek().is_some() {
                FOLDER_EVENTS
            } else {
                FILE_EVENTS
            };
            targets.push((format!("{base}/{folder}"), mask));
        }
        let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
        for (path, mask) in targets {
            if watches.len() >= MAX_WATCHES {
                return false;
            }
            match inotify::add_watch(fd, path.as_str(), mask | WatchFlags::DONT_FOLLOW) {
                Ok(wd) => {
                    watches.insert(wd);
                }
                Err(_) => return false,
            }
        }
        true
    }
}

/// Whether `path` is on a file system whose changes inotify reports in full.
pub(crate) fn on_local_file_system(path: &str) -> bool {
    #[allow(clippy::unnecessary_cast)] // `f_type`'s width differs between platforms.
    rustix::fs::statfs(path).is_ok_and(|fs| LOCAL_FILE_SYSTEMS.contains(&(fs.f_type as i64)))
}

/// When a cache entry was last proven current: the watcher's generation and the clock's
/// second at that proof.
#[derive(Debug)]
pub(crate) struct Trust {
    generation: AtomicU64,
    second: AtomicU64,
    /// The generation at which its path could not be watched (a symlink on it, say):
    /// not tried again until something changes.
    refused: AtomicU64,
}

/// Not proven at any generation (generations in use are even).
const UNPROVEN: u64 = u64::MAX;

impl Default for Trust {
    fn default() -> Self {
        Trust {
            generation: AtomicU64::new(UNPROVEN),
            second: AtomicU64::new(0),
            refused: AtomicU64::new(UNPROVEN),
        }
    }
}

impl Trust {
    /// Whether the entry was proven at `generation` within the current trust period.
    pub(crate) fn holds(&self, generation: u64, second: u64) -> bool {
        // A clock stepped back counts as expired too.
        let proven = self.second.load(Ordering::Relaxed);
        self.generation.load(Ordering::Acquire) == generation
            && second >= proven
            && second - proven < TRUST_SECONDS
    }

    /// Whether the entry's watches were placed at `generation` (so proving it again needs
    /// only a `stat`).
    pub(crate) fn watched_at(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) == generation
    }

    /// Whether watching its path failed at `generation`.
    pub(crate) fn refused_at(&self, generation: u64) -> bool {
        self.refused.load(Ordering::Relaxed) == generation
    }

    /// Records that its path could not be watched at `generation`.
    pub(crate) fn refuse(&self, generation: u64) {
        self.refused.store(generation, Ordering::Relaxed);
    }

    /// Records a proof at `generation`, made at `second`.
    pub(crate) fn prove(&self, generation: u64, second: u64) {
        self.second.store(second, Ordering::Relaxed);
        self.generation.store(generation, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    /// A fresh folder for one test.
    fn folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("watch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/f.txt"), "x").unwrap();
        dir
    }

    #[test]
    fn any_change_to_a_watched_path_moves_the_generation_on() {
        let dir = folder("change");
        let root = File::open(&dir).unwrap();
        let watcher = Watcher::default();
        if !on_local_file_system(dir.to_str().unwrap()) {
            // (An overlay or network /tmp: nothing there is trusted, so nothing watched.)
            assert!(!watcher.watch(root.as_fd(), "sub/f.txt"));
            return;
        }
        assert!(watcher.watch(root.as_fd(), "sub/f.txt"));
        let before = watcher.quiet().unwrap();
        assert_eq!(watcher.quiet(), Some(before), "nothing changed");
        std::fs::write(dir.join("sub/f.txt"), "y").unwrap();
        let after = watcher.quiet().unwrap();
        assert!(after > before);
        // A new name in a watched folder counts too.
        std::fs::write(dir.join("sub/g.txt"), "z").unwrap();
        assert!(watcher.quiet().unwrap() > after);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A thread that has drained and moved the generation on, but not yet let go of the
    /// drain, must not make an event queued since look like no change.
    #[test]
    fn a_change_queued_while_another_thread_drains_trusts_nothing() {
        let dir = folder("race");
        let root = File::open(&dir).unwrap();
        let watcher = Watcher::default();
        if !watcher.watch(root.as_fd(), "sub/f.txt") {
            assert!(!on_local_file_system(dir.to_str().unwrap()));
            return;
        }
        let before = watcher.quiet().unwrap();
        let draining = watcher.draining.lock().unwrap();
        std::fs::write(dir.join("sub/f.txt"), "changed").unwrap();
        assert_eq!(watcher.quiet(), None);
        drop(draining);
        assert!(watcher.quiet().unwrap() > before);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_path_through_a_symlink_or_dot_segments_is_never_watched() {
        let dir = folder("links");
        std::os::unix::fs::symlink("sub", dir.join("alias")).unwrap();
        std::os::unix::fs::symlink("f.txt", dir.join("sub/link.txt")).unwrap();
        let root = File::open(&dir).unwrap();
        let watcher = Watcher::default();
        assert!(!watcher.watch(root.as_fd(), "alias/f.txt"));
        assert!(!watcher.watch(root.as_fd(), "sub/../sub/f.txt"));
        assert!(!watcher.watch(root.as_fd(), "sub//f.txt"));
        // A plain path is watched where inotify can follow its file system.
        let local = on_local_file_system(dir.to_str().unwrap());
        assert_eq!(watcher.watch(root.as_fd(), "sub/f.txt"), local);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_watch_the_kernel_drops_with_its_file_no_longer_counts() {
        let dir = folder("ignored");
        let root = File::open(&dir).unwrap();
        let watcher = Watcher::default();
        if !watcher.watch(root.as_fd(), "sub/f.txt") {
            return; // (not a file system inotify follows: nothing is watched)
        }
        let count = || watcher.watches.lock().unwrap().len();
        assert_eq!(count(), 3, "the root, the folder and the file");
        std::fs::remove_file(dir.join("sub/f.txt")).unwrap();
        watcher.quiet();
        assert_eq!(count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn trust_lasts_for_its_generation_and_second_only() {
        let trust = Trust::default();
        assert!(!trust.holds(0, 100) && !trust.watched_at(0));
        trust.prove(4, 100);
        assert!(trust.holds(4, 100) && trust.watched_at(4));
        assert!(
            !trust.holds(4, 101),
            "a second later the file is stat'ed again"
        );
        assert!(
            !trust.holds(6, 100) && !trust.watched_at(6),
            "a change since"
        );
        trust.refuse(6);
        assert!(trust.refused_at(6) && !trust.refused_at(8));
    }
}
