//! The request handler: a flat pipeline from a parsed request to a reply.
//!
//! Steps, each an early return: method → expectation → target path → sanitise →
//! dotfiles → small-file cache → open beneath the root → folders (redirect, index, listing) → regular files only → pick the
//! representation (precompressed twin or on-the-fly gzip) → validators, conditionals
//! and ranges ([`crate::file_reply`]).

use crate::cache::FileCache;
use crate::file_reply::{self, Representation};
use crate::reply::{self, Reply};
use crate::resolve::OpenError;
use crate::state::State;
use crate::{dir_listing, variants};
use shared::path::{encode_path, sanitize_path, SafePath};
use shared::request::Request;
use shared::StatusCode;
use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

/// Methods this server implements.
pub const ALLOW: &str = "GET, HEAD";

/// Standard methods we know but do not allow on static files (405, not 501).
const KNOWN_METHODS: [&str; 7] = [
    "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The root-level page used for 404s when present.
pub const NOT_FOUND_PAGE: &str = "404.html";

/// Largest custom 404 page read into memory; a larger one is ignored for the built-in.
const MAX_NOT_FOUND_PAGE: u64 = 1024 * 1024;

/// Handles one request, writing the response head (not yet ended) into `out`.
pub fn handle(req: &Request<'_, '_>, state: &State, out: &mut Vec<u8>) -> Reply {
    // 0. The health probe (--health) is answered from memory, before anything else.
    if let Some(r) = crate::health::answer(req, state.config.health.as_deref(), out) {
        return r;
    }
    let head_only = req.method == "HEAD";
    // 1. Method: GET and HEAD serve files; known methods get 405, unknown ones 501.
    if req.method != "GET" && !head_only {
        let status = if KNOWN_METHODS.contains(&req.method) {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_IMPLEMENTED
        };
        return reply::error(out, status, head_only, &[("Allow", ALLOW)]);
    }
    // 2. Expectations: only 100-continue exists (RFC 9110 section 10.1.1); any other
    //    value cannot be met, so 417.
    if let Some(expect) = req.header("expect") {
        if !expect.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
            return reply::error(out, StatusCode::EXPECTATION_FAILED, head_only, &[]);
        }
    }
    // 3. Target: origin-form or absolute-form; the query is ignored.
    let Some(path) = req.path() else {
        return reply::error(out, StatusCode::BAD_REQUEST, head_only, &[]);
    };
    // 4. Sanitise: decode, normalise, refuse anything that could leave the root.
    let safe = match sanitize_path(path) {
        Ok(p) => p,
        Err(e) => return reply::error_detail(out, e.status(), head_only, e.describe()),
    };
    // 5. Dotfiles are private unless asked for (/.well-known/ is always public).
    if safe.hidden && !state.config.dotfiles {
        return not_found(state, out, head_only);
    }
    // 6. A cached small file that is provably unchanged skips open/stat/read/close.
    if let Some(r) = from_cache(req, state, &safe, out) {
        return r;
    }
    // 7. Open strictly beneath the root.
    let file = match state.root.open_beneath(&safe.relative) {
        Ok(f) => f,
        Err(e) => return open_failed(e, state, out, head_only),
    };
    let Ok(meta) = file.metadata() else {
        return reply::internal_error(out, head_only);
    };
    // 8. Folders: redirect to the slashed URL, then the index file, then a listing.
    if meta.is_dir() {
        return folder(req, state, &safe, file, out, head_only);
    }
    // 9. Only regular files are served (no FIFOs, sockets or devices).
    if !meta.is_file() || safe.trailing_slash {
        return not_found(state, out, head_only);
    }
    let name = safe.relative.rsplit('/').next().unwrap_or("");
    serve(req, state, &safe.relative, name, file, meta, out)
}

/// A folder URL: 301 to the slashed form, else the first index file, else a listing.
fn folder(
    req: &Request<'_, '_>,
    state: &State,
    safe: &SafePath,
    dir: File,
    out: &mut Vec<u8>,
    head_only: bool,
) -> Reply {
    if !safe.trailing_slash {
        // The path is normalised (no empty segments) and percent-encoded, so the
        // Location is always a local absolute path, never `//host`.
        let mut location = String::with_capacity(safe.relative.len() + 8);
        location.push('/');
        location.push_str(&encode_path(&safe.relative));
        location.push('/');
        if let Some(q) = req.target.find('?').map(|i| &req.target[i..]) {
            location.push_str(q);
        }
        return reply::redirect(out, &location, head_only);
    }
    for index in &state.config.index {
        let rel = safe.join(index);
        let Ok(file) = state.root.open_beneath(&rel) else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        if meta.is_file() {
            return serve(req, state, &rel, index, file, meta, out);
        }
    }
    if state.config.listing {
        return dir_listing::reply(req, state, safe, dir, out, head_only);
    }
    not_found(state, out, head_only)
}

/// A regular file: choose the representation, then validators, conditionals, ranges.
fn serve(
    req: &Request<'_, '_>,
    state: &State,
    relative: &str,
    name: &str,
    file: File,
    meta: std::fs::Metadata,
    out: &mut Vec<u8>,
) -> Reply {
    let content_type = shared::mime::content_type(name);
    let mut rep = match variants::choose(req, state, relative, &content_type, file, &meta) {
        Ok(rep) => rep,
        Err(_) => return reply::internal_error(out, req.method == "HEAD"),
    };
    // Remember small settled files as they are (not a compressed twin).
    if rep.coding.is_none() && rep.bytes.is_none() && FileCache::wants(&meta, SystemTime::now()) {
        if let Some(body) = rep.file.as_ref().and_then(|f| read_whole(f, meta.len())) {
            state
                .cache
                .insert(relative, &meta, body.clone(), rep.etag.clone());
            rep.bytes = Some(body);
            rep.file = None;
        }
    }
    file_reply::reply(
        req,
        state,
        Representation {
            content_type,
            ..rep
        },
        out,
    )
}

/// Serves a request from the small-file cache when the cached file is still current.
/// Only identity responses come from the cache: a text file asked for with
/// `Accept-Encoding` may have a compressed twin, so it takes the full path.
fn from_cache(
    req: &Request<'_, '_>,
    state: &State,
    safe: &SafePath,
    out: &mut Vec<u8>,
) -> Option<Reply> {
    let (relative, name): (Cow<'_, str>, &str) = if safe.trailing_slash {
        // Only the first index name: a later one must not shadow an uncached earlier one.
        let index = state.config.index.first()?;
        (Cow::Owned(safe.join(index)), index.as_str())
    } else {
        let name = safe.relative.rsplit('/').next().unwrap_or("");
        (Cow::Borrowed(safe.relative.as_str()), name)
    };
    let content_type = shared::mime::content_type(name);
    let compressible = shared::mime::is_compressible(&content_type);
    if compressible && req.header("accept-encoding").is_some() {
        return None;
    }
    let hit = state.cache.get(&state.root.dir(), &relative)?;
    let rep = Representation {
        file: None,
        len: hit.body.len() as u64,
        bytes: Some(hit.body.clone()),
        modified: hit.modified,
        etag: hit.etag.clone(),
        content_type,
        coding: None,
        vary: compressible,
    };
    Some(file_reply::reply(req, state, rep, out))
}

/// The whole content of a small file, or `None` if it changed size under us.
fn read_whole(file: &File, len: u64) -> Option<Arc<[u8]>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(buf.into())
}

/// Maps an open failure to its reply.
fn open_failed(e: OpenError, state: &State, out: &mut Vec<u8>, head_only: bool) -> Reply {
    match e {
        OpenError::NotFound => not_found(state, out, head_only),
        OpenError::Forbidden => reply::forbidden(out, head_only),
        OpenError::Other(_) => reply::internal_error(out, head_only),
    }
}

/// 404, with the root's `404.html` as the body when there is one.
pub fn not_found(state: &State, out: &mut Vec<u8>, head_only: bool) -> Reply {
    let custom = state.root.open_beneath(NOT_FOUND_PAGE).ok().and_then(|f| {
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.len() > MAX_NOT_FOUND_PAGE {
            return None;
        }
        let mut page = Vec::with_capacity(meta.len() as usize);
        f.take(MAX_NOT_FOUND_PAGE).read_to_end(&mut page).ok()?;
        Some(page)
    });
    let Some(page) = custom else {
        return reply::not_found(out, head_only);
    };
    reply::in_memory(out, StatusCode::NOT_FOUND, reply::HTML, page, head_only)
}
