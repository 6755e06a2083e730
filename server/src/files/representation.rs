//! A file's representation, built complete in one place: the file itself (from the
//! small-file cache when it can be), a precompressed twin (`x.br`, `x.zst`, `x.gz`) the
//! client accepts, or on-the-fly gzip behind `--compress`; with its validators and the
//! fields every response about it shares.

use crate::context::Ctx;
use crate::files::cache::{self, FileCache, Held};
use crate::files::compress;
use crate::response::{Fields, Value};
use crate::state::State;
use bytes::Bytes;
use shared::site::encoding::{negotiate, Coding};
use shared::site::path::SafePath;
use shared::site::validators::strong_etag;
use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::SystemTime;

/// Where a representation's bytes are.
#[derive(Debug)]
pub(crate) enum Content {
    /// An open file, read (or sent) at response time.
    File(Arc<File>),
    /// Bytes in memory: a cached small file, or a gzip result.
    Memory(Bytes),
}

/// One representation of a resource, ready to send.
#[derive(Debug)]
pub(crate) struct Representation {
    /// Its bytes.
    pub content: Content,
    /// Length of the representation.
    pub len: u64,
    /// Modification time, for `Last-Modified`.
    pub modified: SystemTime,
    /// `modified` formatted as an HTTP date, when the small-file cache has it already.
    pub last_modified: Option<Arc<str>>,
    /// Strong entity tag, quoted.
    pub etag: Arc<str>,
    /// Media type of the resource.
    pub content_type: Cow<'static, str>,
    /// Content coding, if compressed.
    pub coding: Option<Coding>,
    /// Whether the choice depends on `Accept-Encoding`.
    pub vary: bool,
}

impl Representation {
    /// The representation of the file at `safe` (or its folder's first index) from the
    /// small-file cache, when the cached file is provably unchanged, with the relative
    /// path of the file it is (for a folder, its index: the caller checks that file's
    /// own rules). Only identity responses come from the cache: a text file asked for
    /// with `Accept-Encoding` may have a compressed twin, so it takes the full path.
    pub(crate) fn cached<'p>(
        ctx: &Ctx<'_>,
        state: &State,
        safe: &'p SafePath,
    ) -> Option<(Representation, Cow<'p, str>)> {
        // Only the first index name: a later one must not shadow an uncached earlier one.
        let index = match safe.trailing_slash {
            true => Some(state.config.index.first()?.as_str()),
            false => None,
        };
        let relative: Cow<'_, str> = match index {
            Some(index) => Cow::Owned(safe.join(index)),
            None => Cow::Borrowed(safe.relative.as_str()),
        };
        // A client that accepts codings may get a compressed twin of a text file, which
        // only the full path looks for: decide that from the name, before the lookup.
        // One that accepts none takes the type the entry was stored with.
        let named = ctx.field("accept-encoding").map(|_| {
            let name = index.unwrap_or_else(|| file_name(&safe.relative));
            shared::site::mime::content_type(name)
        });
        if named
            .as_ref()
            .is_some_and(|t| shared::site::mime::is_compressible(t))
        {
            return None;
        }
        let hit = state
            .caches
            .files
            .get(state.root.dir(), &relative, ctx.now)?;
        let content_type = named.unwrap_or_else(|| hit.content_type.clone());
        let compressible = shared::site::mime::is_compressible(&content_type);
        let content = match &hit.body {
            Held::Bytes(bytes) => Content::Memory(bytes.clone()),
            Held::Open(file) => Content::File(file.clone()),
        };
        let rep = Representation {
            content,
            len: hit.version.size,
            modified: hit.version.modified,
            last_modified: Some(hit.last_modified.clone()),
            etag: hit.etag.clone(),
            content_type,
            coding: None,
            vary: compressible,
        };
        Some((rep, relative))
    }

    /// Picks what to send for the regular file `file` at `relative`; `real` is its real
    /// path when `relative` passes through a symlink (never cached then: every request
    /// must check the real path's rules).
    pub(crate) fn choose(
        ctx: &Ctx<'_>,
        state: &State,
        relative: &str,
        real: Option<&str>,
        file: File,
        meta: &Metadata,
    ) -> std::io::Result<Representation> {
        let content_type = shared::site::mime::content_type(file_name(relative));
        // Text-like types may have compressed forms, so their responses always carry
        // `Vary: Accept-Encoding` (consistently, whatever the request; as nginx's
        // gzip_vary). Other types are served as they are, with no twin lookups.
        let compressible = shared::site::mime::is_compressible(&content_type);
        let accepts: Vec<&[u8]> = ctx.fields_named("accept-encoding").collect();
        if compressible && !accepts.is_empty() {
            if let Some(rep) = compressed(
                ctx,
                state,
                (relative, real),
                &file,
                meta,
                &accepts,
                content_type.clone(),
            )? {
                return Ok(rep);
            }
        }
        Ok(identity(
            ctx,
            state,
            relative,
            real.is_none(),
            file,
            meta,
            content_type,
            compressible,
        ))
    }

    /// `ETag`, `Last-Modified`, `Vary` and `Content-Encoding`: the fields a 200, a 206
    /// and a 304 about this representation share (`Cache-Control` is the site rules',
    /// added last for all three alike). Sized for everything a 200 adds to them.
    pub(crate) fn fields(&self, now: SystemTime) -> Fields {
        let mut f = Fields::with_capacity(FIELDS_OF_A_FILE);
        f.append("ETag", Value::Shared(self.etag.clone()));
        // RFC 9110 section 8.8.2.1: a modification time in the future is sent as now.
        let last_modified = match &self.last_modified {
            Some(formatted) if self.modified <= now => Value::Shared(formatted.clone()),
            _ => shared::wire::date::format_http_date(self.modified.min(now)).into(),
        };
        f.append("Last-Modified", last_modified);
        if self.vary {
            f.append("Vary", "Accept-Encoding");
        }
        if let Some(c) = self.coding {
            f.append("Content-Encoding", c.token());
        }
        f
    }
}

/// Fields a file's 200 or 206 usually carries: its type, `Content-Range`,
/// `Accept-Ranges`, the validators, `Vary`, `Content-Encoding`, `Cache-Control`, and
/// room for a rule's few. A guess that only saves reallocations.
const FIELDS_OF_A_FILE: usize = 10;

/// A compressed representation the client accepts: a precompressed twin, else (behind
/// `--compress`) gzip made on the fly. `None`: send the file as it is.
fn compressed(
    ctx: &Ctx<'_>,
    state: &State,
    (relative, real): (&str, Option<&str>),
    file: &File,
    meta: &Metadata,
    accepts: &[&[u8]],
    content_type: Cow<'static, str>,
) -> std::io::Result<Option<Representation>> {
    // A precompressed twin the client accepts.
    if let Some((coding, twin, twin_meta)) = twin(state, (relative, real), meta, accepts) {
        let version = cache::version(&twin_meta);
        return Ok(Some(Representation {
            etag: strong_etag(&version, Some(coding.token())).into(),
            content: Content::File(Arc::new(twin)),
            len: twin_meta.len(),
            modified: version.modified,
            last_modified: None,
            content_type,
            coding: Some(coding),
            vary: true,
        }));
    }
    // On-the-fly gzip: text types of a sensible size, never for range requests.
    let ranged = ctx.field("range").is_some();
    if state.config.compress
        && !ranged
        && compress::worth_it(meta.len())
        && negotiate(accepts.iter().copied(), &[Coding::Gzip]) == Some(Coding::Gzip)
    {
        let version = cache::version(meta);
        let gz = match state.caches.gzip.get(&version) {
            Some(gz) => gz,
            None => {
                let gz = Bytes::from(compress::gzip(file, meta.len())?);
                state.caches.gzip.insert(version, gz.clone());
                gz
            }
        };
        return Ok(Some(Representation {
            etag: strong_etag(&version, Some("gzip-otf")).into(),
            len: gz.len() as u64,
            content: Content::Memory(gz),
            modified: version.modified,
            last_modified: None,
            content_type,
            coding: Some(Coding::Gzip),
            vary: true,
        }));
    }
    Ok(None)
}

/// The last segment of a relative path.
fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or("")
}

/// The file as it is, read into the small-file cache when it is small, settled and
/// `cacheable`.
#[allow(clippy::too_many_arguments)] // each is one fact about the file
fn identity(
    ctx: &Ctx<'_>,
    state: &State,
    relative: &str,
    cacheable: bool,
    file: File,
    meta: &Metadata,
    content_type: Cow<'static, str>,
    vary: bool,
) -> Representation {
    let version = cache::version(meta);
    let modified = version.modified;
    let etag: Arc<str> = strong_etag(&version, None).into();
    let file = Arc::new(file);
    let mut content = Content::File(file.clone());
    if cacheable && FileCache::wants(meta, ctx.now) {
        let files = &state.caches.files;
        if !FileCache::by_content(meta.len()) {
            let shared = (etag.clone(), content_type.clone());
            files.insert(relative, meta, Held::Open(file), shared);
        } else if let Some(body) = read_whole(&file, meta.len()) {
            let shared = (etag.clone(), content_type.clone());
            files.insert(relative, meta, Held::Bytes(body.clone()), shared);
            content = Content::Memory(body);
        }
    }
    Representation {
        content,
        len: meta.len(),
        modified,
        last_modified: None,
        etag,
        content_type,
        coding: None,
        vary,
    }
}

/// The freshest precompressed twin of `relative` (whose real path is `real`, through a
/// symlink) the client accepts; a twin older than the file is stale and ignored, and so
/// is one that is not beside the file's real path (a link elsewhere).
fn twin(
    state: &State,
    (relative, real): (&str, Option<&str>),
    meta: &Metadata,
    accepts: &[&[u8]],
) -> Option<(Coding, File, Metadata)> {
    let mut twins: Vec<(Coding, File, Metadata)> = Vec::new();
    for coding in Coding::PREFERENCE {
        let path = coding.variant_path(relative);
        let Ok((f, m, twin_real)) = state.root.open_file(&path) else {
            continue;
        };
        let beside = coding.variant_path(real.unwrap_or(relative));
        if twin_real.as_deref().unwrap_or(&path) != beside {
            continue;
        }
        let fresh = match (m.modified(), meta.modified()) {
            (Ok(twin), Ok(orig)) => twin >= orig,
            _ => false,
        };
        if fresh {
            twins.push((coding, f, m));
        }
    }
    let available: Vec<Coding> = twins.iter().map(|t| t.0).collect();
    let chosen = negotiate(accepts.iter().copied(), &available)?;
    twins.into_iter().find(|t| t.0 == chosen)
}

/// The whole content of a small file, or `None` if it changed size under us.
fn read_whole(file: &File, len: u64) -> Option<Bytes> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, 0).ok()?;
    Some(buf.into())
}
