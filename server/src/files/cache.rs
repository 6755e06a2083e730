//! Every cache the server keeps, together: the small-file cache, the open-file cache and
//! the on-the-fly gzip cache, each under one budgeted map.
//!
//! The small-file cache holds contents and validators of small, settled files; the
//! open-file cache holds the open descriptors of larger ones (nginx's
//! `open_file_cache`), sent from by `sendfile`. Both are checked on every use, so an
//! edit is never served stale.
//!
//! A hit usually costs one `ioctl`: the [`Watcher`] says whether anything the entry's
//! path depends on has changed since the entry was last proven (`files/watch.rs` says
//! why that cannot miss an edit, and what it leaves to a stat once a second). Otherwise
//! it costs one `fstatat` instead of two opens, two stats and a close: the proof compares
//! device, inode, size, modification and change times (nanoseconds) with what was
//! cached, and any difference is a miss. Files modified within [`SETTLE_TIME`] are not
//! cached at all, because a write in the same clock tick as our read could leave every
//! stamp unchanged (the "racy git" problem).
//!
//! Safety: entries are only made from files opened through `openat2(RESOLVE_BENEATH)`.
//! `fstatat` follows symlinks without that guard, but a hit requires the *same inode* as
//! a file already proven to lie beneath the root, so a path redirected outside the root
//! simply misses and takes the guarded path.

use super::watch::{Trust, Watcher};
use bytes::Bytes;
use rustix::fs::AtFlags;
use shared::site::validators::FileVersion;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest file cached. Matches the size sent in one write with its head; larger files
/// go out by `sendfile`, which needs no cache.
pub(crate) const MAX_CACHED_FILE: u64 = 64 * 1024;

/// Total bytes of file contents cached; when full the cache is cleared and refilled by
/// use.
pub(crate) const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// How long after its last modification (or status change) a file may be cached.
/// File times tick at the kernel's clock granularity (up to 10 ms); 2 s is far beyond.
pub(crate) const SETTLE_TIME: Duration = Duration::from_secs(2);

/// The version of the file `meta` describes.
pub(crate) fn version(meta: &std::fs::Metadata) -> FileVersion {
    FileVersion {
        device: meta.dev(),
        inode: meta.ino(),
        size: meta.size(),
        modified: file_time(meta.mtime(), meta.mtime_nsec()),
        changed: (meta.ctime(), meta.ctime_nsec()),
    }
}

/// The version of the file `st` describes (exactly as [`version`] would).
fn version_of_stat(st: &rustix::fs::Stat) -> FileVersion {
    FileVersion {
        device: st.st_dev,
        inode: st.st_ino,
        size: st.st_size as u64,
        modified: file_time(st.st_mtime, st.st_mtime_nsec as i64),
        changed: (st.st_ctime, st.st_ctime_nsec as i64),
    }
}

/// A file time as seconds and nanoseconds since 1970 (before it when negative).
pub(crate) fn file_time(secs: i64, nanos: i64) -> SystemTime {
    let nanos = Duration::from_nanos(nanos.clamp(0, 999_999_999) as u64);
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    base.and_then(|t| t.checked_add(nanos))
        .unwrap_or(UNIX_EPOCH)
}

/// Most open descriptors the open-file cache holds. They come out of the descriptors
/// the connection cap keeps aside (`RESERVED_DESCRIPTORS` in the listener), and a static
/// site's hot set of large files is small.
pub(crate) const MAX_CACHED_DESCRIPTORS: usize = 64;

/// A cached file.
#[derive(Debug)]
pub(crate) struct Cached {
    /// The version cached (its modification time is the `Last-Modified`).
    pub version: FileVersion,
    /// The whole content, or the open file.
    pub body: Held,
    /// Its strong entity tag.
    pub etag: Arc<str>,
    /// Its modification time as an HTTP date, formatted once (`Last-Modified`).
    pub last_modified: Arc<str>,
    /// Its media type, from its name (so a hit does not look it up again).
    pub content_type: Cow<'static, str>,
    /// When it was last proven to be the file at its path.
    trust: Trust,
}

/// What a cache entry holds of its file.
#[derive(Debug)]
pub(crate) enum Held {
    /// A small file's whole content.
    Bytes(Bytes),
    /// A larger file, open for reading (a deleted file's space is freed when its entry
    /// is found stale or the cache is cleared).
    Open(Arc<std::fs::File>),
}

/// A map of shared values under a byte budget, cleared when full (simple, and the hot
/// set of a static site is small). A lock poisoned by a panic elsewhere is recovered:
/// entries are immutable, so none can be half-written.
#[derive(Debug)]
pub(crate) struct Budgeted<K, V> {
    inner: RwLock<BudgetedInner<K, V>>,
    budget: usize,
}

#[derive(Debug)]
struct BudgetedInner<K, V> {
    map: HashMap<K, (V, usize)>,
    bytes: usize,
}

impl<K: Hash + Eq, V: Clone> Budgeted<K, V> {
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
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard.map.get(key).map(|(v, _)| v.clone())
    }

    /// Stores `value`, which costs `size` bytes, under `key`.
    pub(crate) fn insert(&self, key: K, value: V, size: usize) {
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

    /// Drops the value stored under `key`.
    pub(crate) fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some((_, size)) = guard.map.remove(key) {
            guard.bytes -= size;
        }
    }
}

/// The small-file and open-file caches, shared by all connections.
#[derive(Debug)]
pub(crate) struct FileCache {
    /// Small files' contents, keyed by the root-relative path; every hit is checked
    /// against the file's version.
    entries: Budgeted<String, Arc<Cached>>,
    /// Larger files' descriptors, the same way; the budget counts descriptors.
    open: Budgeted<String, Arc<Cached>>,
    /// Changes beneath the root since entries were proven.
    watcher: Watcher,
}

impl Default for FileCache {
    fn default() -> Self {
        FileCache {
            entries: Budgeted::new(MAX_CACHED_BYTES),
            open: Budgeted::new(MAX_CACHED_DESCRIPTORS),
            watcher: Watcher::default(),
        }
    }
}

impl FileCache {
    /// The cached file at `relative` (beneath `root`), if it is still the same file;
    /// `now` bounds how long a proof is trusted.
    pub(crate) fn get(
        &self,
        root: BorrowedFd<'_>,
        relative: &str,
        now: SystemTime,
    ) -> Option<Arc<Cached>> {
        let (entry, map) = match self.entries.get(relative) {
            Some(entry) => (entry, &self.entries),
            None => (self.open.get(relative)?, &self.open),
        };
        // Read before any proof below, so a change during it leaves the proof stale.
        let quiet = self.watcher.quiet();
        let second = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if quiet.is_some_and(|generation| entry.trust.holds(generation, second)) {
            return Some(entry);
        }
        let current = rustix::fs::statat(root, relative, AtFlags::empty())
            .ok()
            .map(|st| version_of_stat(&st));
        if current != Some(entry.version) {
            // Edited, replaced or gone: forget it (closing a cached descriptor now).
            map.remove(relative);
            return None;
        }
        // Unchanged. Trust it until the next change, once its path is watched: watches
        // placed at this generation still stand; otherwise place them, then prove the
        // path again with no symlink followed (a symlinked path is never trusted).
        if let Some(generation) = quiet {
            let watched = entry.trust.watched_at(generation)
                || (!entry.trust.refused_at(generation)
                    && self.watcher.watch(root, relative)
                    && rustix::fs::statat(root, relative, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| version_of_stat(&st) == entry.version));
            if watched {
                entry.trust.prove(generation, second);
            } else {
                entry.trust.refuse(generation);
            }
        }
        Some(entry)
    }

    /// Whether a file with `meta` may be cached now (its content when small, else its
    /// descriptor).
    pub(crate) fn wants(meta: &std::fs::Metadata, now: SystemTime) -> bool {
        let settled = |secs: i64| {
            now.duration_since(SystemTime::UNIX_EPOCH)
                .is_ok_and(|n| n.as_secs() as i64 - secs >= SETTLE_TIME.as_secs() as i64)
        };
        meta.is_file() && settled(meta.mtime()) && settled(meta.ctime())
    }

    /// Whether a file this size is cached by content (else by descriptor).
    pub(crate) fn by_content(len: u64) -> bool {
        len <= MAX_CACHED_FILE
    }

    /// Stores `body` for `relative`, the content (or open descriptor) of the file `meta`
    /// describes, with its entity tag and media type.
    pub(crate) fn insert(
        &self,
        relative: &str,
        meta: &std::fs::Metadata,
        body: Held,
        (etag, content_type): (Arc<str>, Cow<'static, str>),
    ) {
        let (map, size) = match &body {
            Held::Bytes(bytes) => (&self.entries, bytes.len()),
            Held::Open(_) => (&self.open, 1),
        };
        let version = version(meta);
        let entry = Cached {
            last_modified: shared::wire::date::format_http_date(version.modified).into(),
            version,
            body,
            etag,
            content_type,
            trust: Trust::default(),
        };
        map.insert(relative.to_string(), Arc::new(entry), size);
    }
}

/// Bytes of gzipped output kept for reuse, so each version of a file is compressed
/// once, not per request. Cleared when full.
pub(crate) const GZIP_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// On-the-fly gzip results (`--compress`), keyed by the version of the file they were
/// made from: which file (device, inode) and which state of it, never by a validator
/// two files can share.
#[derive(Debug)]
pub(crate) struct GzipCache(Budgeted<FileVersion, Bytes>);

impl Default for GzipCache {
    fn default() -> Self {
        GzipCache(Budgeted::new(GZIP_CACHE_BYTES))
    }
}

impl GzipCache {
    /// The gzipped form of the file at `version`.
    pub(crate) fn get(&self, version: &FileVersion) -> Option<Bytes> {
        self.0.get(version)
    }

    /// Stores `gz`, the gzipped form of the file at `version`.
    pub(crate) fn insert(&self, version: FileVersion, gz: Bytes) {
        let size = gz.len();
        self.0.insert(version, gz, size);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsFd;

    /// A fresh folder for one test.
    fn folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_cached_file_misses_once_it_is_rewritten_or_replaced() {
        let dir = folder("rewrite");
        std::fs::write(dir.join("a.txt"), "one").unwrap();
        let root = File::open(&dir).unwrap();
        let cache = FileCache::default();
        let meta = std::fs::metadata(dir.join("a.txt")).unwrap();
        let one = Held::Bytes(Bytes::from_static(b"one"));
        cache.insert("a.txt", &meta, one, ("\"t\"".into(), "text/plain".into()));
        assert!(
            matches!(&cache.get(root.as_fd(), "a.txt", SystemTime::now()).unwrap().body, Held::Bytes(b) if b == &b"one"[..])
        );
        assert!(
            cache
                .get(root.as_fd(), "b.txt", SystemTime::now())
                .is_none(),
            "another path is a miss"
        );
        // Same size, and the old modification time put back: still a miss.
        std::fs::write(dir.join("a.txt"), "two").unwrap();
        File::options()
            .write(true)
            .open(dir.join("a.txt"))
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        assert!(cache
            .get(root.as_fd(), "a.txt", SystemTime::now())
            .is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_open_file_entry_is_forgotten_once_its_file_is_replaced() {
        let dir = folder("open");
        std::fs::write(dir.join("big"), vec![1u8; 100_000]).unwrap();
        let root = File::open(&dir).unwrap();
        let cache = FileCache::default();
        let meta = std::fs::metadata(dir.join("big")).unwrap();
        assert!(!FileCache::by_content(meta.len()));
        let open = Arc::new(File::open(dir.join("big")).unwrap());
        let shared = ("\"b\"".into(), "application/octet-stream".into());
        cache.insert("big", &meta, Held::Open(open.clone()), shared);
        assert!(matches!(
            cache
                .get(root.as_fd(), "big", SystemTime::now())
                .unwrap()
                .body,
            Held::Open(_)
        ));
        assert_eq!(
            Arc::strong_count(&open),
            2,
            "the cache holds the descriptor"
        );
        std::fs::write(dir.join("new"), vec![2u8; 100_000]).unwrap();
        std::fs::rename(dir.join("new"), dir.join("big")).unwrap();
        assert!(
            cache.get(root.as_fd(), "big", SystemTime::now()).is_none(),
            "another inode is a miss"
        );
        assert_eq!(
            Arc::strong_count(&open),
            1,
            "and the stale descriptor is closed"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Issue 9 item 1: `--compress` served one file's bytes for another URL when two
    /// files had the same size and modification time.
    #[test]
    fn gzip_results_of_files_with_the_same_size_and_mtime_are_kept_apart() {
        let dir = folder("gzip");
        std::fs::write(dir.join("a.txt"), "aaaa").unwrap();
        std::fs::write(dir.join("b.txt"), "bbbb").unwrap();
        let when = UNIX_EPOCH + Duration::from_secs(1);
        for name in ["a.txt", "b.txt"] {
            let f = File::options().write(true).open(dir.join(name)).unwrap();
            f.set_modified(when).unwrap();
        }
        let a = version(&std::fs::metadata(dir.join("a.txt")).unwrap());
        let b = version(&std::fs::metadata(dir.join("b.txt")).unwrap());
        assert_eq!((a.size, a.modified), (b.size, b.modified));
        let cache = GzipCache::default();
        cache.insert(a, Bytes::from_static(b"gz of a"));
        assert!(cache.get(&b).is_none());
        cache.insert(b, Bytes::from_static(b"gz of b"));
        assert_eq!(cache.get(&a).unwrap(), &b"gz of a"[..]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_full_budget_clears_the_map_and_keeps_the_newest() {
        let map: Budgeted<String, u8> = Budgeted::new(10);
        map.insert("a".into(), 1, 6);
        map.insert("a".into(), 2, 6);
        assert_eq!(
            map.get("a"),
            Some(2),
            "replacing an entry frees its old size"
        );
        map.insert("b".into(), 3, 6);
        assert_eq!((map.get("a"), map.get("b")), (None, Some(3)));
    }

    #[test]
    fn versions_from_metadata_and_from_stat_agree() {
        let dir = folder("stat");
        std::fs::write(dir.join("f"), "x").unwrap();
        let meta = std::fs::metadata(dir.join("f")).unwrap();
        let st = rustix::fs::stat(dir.join("f")).unwrap();
        assert_eq!(version(&meta), version_of_stat(&st));
        assert_eq!(version(&meta).modified, meta.modified().unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
