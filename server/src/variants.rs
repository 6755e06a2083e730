//! Choosing a file's representation: the file itself, a precompressed twin (`x.br`,
//! `x.zst`, `x.gz`) the client accepts, or on-the-fly gzip behind `--compress`.

use crate::cache::Budgeted;
use crate::file_reply::Representation;
use crate::state::State;
use flate2::write::GzEncoder;
use flate2::Compression;
use shared::encoding::{negotiate, Coding};
use shared::request::Request;
use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::sync::Arc;

/// Smallest file worth compressing on the fly: below ~1 KiB, gzip's header and the
/// round of CPU cost more than the bytes saved.
pub const COMPRESS_MIN: u64 = 1024;

/// Largest file compressed on the fly. Compression runs on the connection's thread
/// (about 30 ms for 1 MiB of text), so this bounds how long one request can hold it, as
/// well as the memory it takes. Bigger text files should ship a precompressed twin.
pub const COMPRESS_MAX: u64 = 1024 * 1024;

/// Bytes of gzipped output kept for reuse, keyed by the file's validator, so each
/// version of a file is compressed once, not per request. Cleared when full.
pub const GZIP_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// On-the-fly gzip results, keyed by the identity representation's `ETag`.
#[derive(Debug)]
pub struct GzipCache(Budgeted<[u8]>);

impl Default for GzipCache {
    fn default() -> Self {
        GzipCache(Budgeted::new(GZIP_CACHE_BYTES))
    }
}

/// Picks what to send for `relative`. `file`/`meta` are the identity representation.
pub fn choose(
    req: &Request<'_, '_>,
    state: &State,
    relative: &str,
    content_type: &str,
    file: File,
    meta: &Metadata,
) -> std::io::Result<Representation> {
    let identity = Representation::from_file(file, meta, None);
    // Text-like types may have compressed forms, so their responses always carry
    // `Vary: Accept-Encoding` (consistently, whatever the request; as nginx's
    // gzip_vary). Other types are served as they are, with no twin lookups.
    if !shared::mime::is_compressible(content_type) {
        return Ok(identity);
    }
    let accepts: Vec<&[u8]> = req.headers_named("accept-encoding").collect();
    if accepts.is_empty() {
        return Ok(Representation {
            vary: true,
            ..identity
        });
    }
    // Precompressed twins beside the file; a twin older than the file is stale and ignored.
    let mut twins: Vec<(Coding, File, Metadata)> = Vec::new();
    for coding in Coding::PREFERENCE {
        let Ok(f) = state.root.open_beneath(&coding.variant_path(relative)) else {
            continue;
        };
        let Ok(m) = f.metadata() else { continue };
        let fresh = match (m.modified(), meta.modified()) {
            (Ok(twin), Ok(orig)) => twin >= orig,
            _ => false,
        };
        if m.is_file() && fresh {
            twins.push((coding, f, m));
        }
    }
    let available: Vec<Coding> = twins.iter().map(|t| t.0).collect();
    if let Some(chosen) = negotiate(accepts.iter().copied(), &available) {
        if let Some((coding, f, m)) = twins.into_iter().find(|t| t.0 == chosen) {
            return Ok(Representation {
                vary: true,
                ..Representation::from_file(f, &m, Some(coding))
            });
        }
    }
    // On-the-fly gzip: text types of a sensible size, never for range requests.
    let ranged = req.header("range").is_some();
    if state.config.compress
        && !ranged
        && (COMPRESS_MIN..=COMPRESS_MAX).contains(&identity.len)
        && negotiate(accepts.iter().copied(), &[Coding::Gzip]) == Some(Coding::Gzip)
    {
        let Representation {
            file,
            modified,
            len,
            etag: identity_etag,
            ..
        } = identity;
        let Some(file) = file else {
            return Err(std::io::ErrorKind::NotFound.into());
        };
        let gz = match state.gzip_cache.0.get(&identity_etag) {
            Some(gz) => gz,
            None => {
                let gz: Arc<[u8]> = gzip(file, len)?.into();
                state
                    .gzip_cache
                    .0
                    .insert(identity_etag, gz.clone(), gz.len());
                gz
            }
        };
        return Ok(Representation {
            etag: shared::validators::strong_etag(len, modified, Some("gzip-otf")),
            len: gz.len() as u64,
            modified,
            file: None,
            bytes: Some(gz),
            coding: Some(Coding::Gzip),
            vary: true,
            content_type: Cow::Borrowed(""),
        });
    }
    Ok(Representation {
        vary: true,
        ..identity
    })
}

fn gzip(file: File, len: u64) -> std::io::Result<Vec<u8>> {
    let mut input = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut input)?;
    let mut enc = GzEncoder::new(
        Vec::with_capacity(input.len() / 3 + 64),
        Compression::default(),
    );
    enc.write_all(&input)?;
    enc.finish()
}
