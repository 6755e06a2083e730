//! A small-file cache: contents and validators of small, settled files, checked against
//! the file's current identity on every use, so an edit is never served stale.
//!
//! A hit costs one `fstatat` instead of open, stat, read and close. Each lookup compares
//! device, inode, size, modification and change times (nanoseconds) with what was
//! cached; any difference is a miss. Files modified within [`SETTLE_TIME`] are not
//! cached at all, because a write in the same clock tick as our read could leave every
//! stamp unchanged (the "racy git" problem).
//!
//! Safety: entries are only made from files opened through `openat2(RESOLVE_BENEATH)`.
//! `fstatat` follows symlinks without that guard, but a hit requires the *same inode* as
//! a file already proven to lie beneath the root, so a path redirected outside the root
//! simply misses and takes the guarded path.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Largest file cached. Matches the size sent in one write with its head; larger files
/// go out by `sendfile`, which needs no cache.
pub const MAX_CACHED_FILE: u64 = 64 * 1024;

/// Total bytes of file contents cached; when full the cache is cleared and refilled by
/// use (simple, and a static site's hot set is small).
pub const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// How long after its last modification (or status change) a file may be cached.
/// File times tick at the kernel's clock granularity (up to 10 ms); 2 s is far beyond.
pub const SETTLE_TIME: Duration = Duration::from_secs(2);

/// What identifies one version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn of_stat(st: &rustix::fs::Stat) -> Identity {
        Identity {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
        }
    }
}

/// A cached file.
#[derive(Debug)]
pub struct Cached {
    identity: Identity,
    /// The whole content.
    pub body: Arc<[u8]>,
    /// Its modification time.
    pub modified: SystemTime,
    /// Its strong entity tag.
    pub etag: String,
}

/// The cache, shared by all connections.
#[derive(Debug, Default)]
pub struct FileCache {
    entries: RwLock<(HashMap<String, Arc<Cached>>, usize)>,
}

impl FileCache {
    /// The cached file at `relative` (beneath `root`), if it is still the same file.
    pub fn get(&self, root: &impl std::os::fd::AsFd, relative: &str) -> Option<Arc<Cached>> {
        let entry = {
            let guard = self.entries.read().ok()?;
            guard.0.get(relative)?.clone()
        };
        let st = rustix::fs::statat(root, relative, rustix::fs::AtFlags::empty()).ok()?;
        (Identity::of_stat(&st) == entry.identity).then_some(entry)
    }

    /// Whether a file with `meta` may be cached now.
    pub fn wants(meta: &std::fs::Metadata, now: SystemTime) -> bool {
        let settled = |secs: i64| {
            now.duration_since(SystemTime::UNIX_EPOCH)
                .is_ok_and(|n| n.as_secs() as i64 - secs >= SETTLE_TIME.as_secs() as i64)
        };
        meta.is_file()
            && meta.len() <= MAX_CACHED_FILE
            && settled(meta.mtime())
            && settled(meta.ctime())
    }

    /// Stores `body` for `relative`, the content of the file `meta` describes.
    pub fn insert(&self, relative: &str, meta: &std::fs::Metadata, body: Arc<[u8]>, etag: String) {
        let Ok(mut guard) = self.entries.write() else {
            return;
        };
        let (map, bytes) = &mut *guard;
        if *bytes + body.len() > MAX_CACHED_BYTES {
            map.clear();
            *bytes = 0;
        }
        *bytes += body.len();
        let entry = Cached {
            identity: Identity::of(meta),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            body,
            etag,
        };
        if let Some(old) = map.insert(relative.to_string(), Arc::new(entry)) {
            *bytes -= old.body.len();
        }
    }
}
