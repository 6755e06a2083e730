//! Every cache the server keeps, together: the small-file cache and the on-the-fly gzip
//! cache, under one byte-budgeted map.
//!
//! The small-file cache holds contents and validators of small, settled files, checked
//! against the file's current identity on every use, so an edit is never served stale.
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

use bytes::Bytes;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Largest file cached. Matches the size sent in one write with its head; larger files
/// go out by `sendfile`, which needs no cache.
pub(crate) const MAX_CACHED_FILE: u64 = 64 * 1024;

/// Total bytes of file contents cached; when full the cache is cleared and refilled by
/// use.
pub(crate) const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// How long after its last modification (or status change) a file may be cached.
/// File times tick at the kernel's clock granularity (up to 10 ms); 2 s is far beyond.
pub(crate) const SETTLE_TIME: Duration = Duration::from_secs(2);

/// What identifies one version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub(crate) fn of(meta: &std::fs::Metadata) -> Identity {
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
pub(crate) struct Cached {
    identity: Identity,
    /// The whole content.
    pub body: Bytes,
    /// Its modification time.
    pub modified: SystemTime,
    /// Its strong entity tag.
    pub etag: Arc<str>,
}

/// A map of shared values under a byte budget, cleared when full (simple, and the hot
/// set of a static site is small). A lock poisoned by a panic elsewhere is recovered:
/// entries are immutable, so none can be half-written.
#[derive(Debug)]
pub(crate) struct Budgeted<V> {
    inner: RwLock<BudgetedInner<V>>,
    budget: usize,
}

#[derive(Debug)]
struct BudgetedInner<V> {
    map: HashMap<String, (V, usize)>,
    bytes: usize,
}

impl<V: Clone> Budgeted<V> {
    /// An empty map holding at most `budget` bytes of values.
    pub(crate) fn new(budget: usize) -> Self {
        Budgeted {
            inner: RwLock::new(BudgetedInner {
                map: HashMap::new(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// The value stored under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard.map.get(key).map(|(v, _)| v.clone())
    }

    /// Stores `value`, which costs `size` bytes, under `key`.
    pub(crate) fn insert(&self, key: String, value: V, size: usize) {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        if inner.bytes + size > self.budget {
            inner.map.clear();
            inner.bytes = 0;
        }
        inner.bytes += size;
        if let Some((_, old)) = inner.map.insert(key, (value, size)) {
            inner.bytes -= old;
        }
    }
}

/// The small-file cache, shared by all connections.
#[derive(Debug)]
pub(crate) struct FileCache {
    entries: Budgeted<Arc<Cached>>,
}

impl Default for FileCache {
    fn default() -> Self {
        FileCache {
            entries: Budgeted::new(MAX_CACHED_BYTES),
        }
    }
}

impl FileCache {
    /// The cached file at `relative` (beneath `root`), if it is still the same file.
    pub(crate) fn get(&self, root: &impl std::os::fd::AsFd, relative: &str) -> Option<Arc<Cached>> {
        let entry = self.entries.get(relative)?;
        let st = rustix::fs::statat(root, relative, rustix::fs::AtFlags::empty()).ok()?;
        (Identity::of_stat(&st) == entry.identity).then_some(entry)
    }

    /// Whether a file with `meta` may be cached now.
    pub(crate) fn wants(meta: &std::fs::Metadata, now: SystemTime) -> bool {
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
    pub(crate) fn insert(
        &self,
        relative: &str,
        meta: &std::fs::Metadata,
        body: Bytes,
        etag: Arc<str>,
    ) {
        let size = body.len();
        let entry = Cached {
            identity: Identity::of(meta),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            body,
            etag,
        };
        self.entries
            .insert(relative.to_string(), Arc::new(entry), size);
    }
}

/// Bytes of gzipped output kept for reuse, so each version of a file is compressed
/// once, not per request. Cleared when full.
pub(crate) const GZIP_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// On-the-fly gzip results (`--compress`), keyed by the identity representation's
/// `ETag`.
#[derive(Debug)]
pub(crate) struct GzipCache(Budgeted<Bytes>);

impl Default for GzipCache {
    fn default() -> Self {
        GzipCache(Budgeted::new(GZIP_CACHE_BYTES))
    }
}

impl GzipCache {
    /// The gzipped form stored under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(key)
    }

    /// Stores the gzipped form `gz` under `key`.
    pub(crate) fn insert(&self, key: String, gz: Bytes) {
        let size = gz.len();
        self.0.insert(key, gz, size);
    }
}

/// Every cache, as the server state holds them.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// Small, settled files, validated on every use.
    pub files: FileCache,
    /// On-the-fly gzip results, one per file version.
    pub gzip: GzipCache,
}
