//! The request handler: a flat pipeline from a request's [`Ctx`] to one protocol-neutral
//! [`Response`], the same for every protocol.
//!
//! Steps, each an early return: site rules (redirect, CORS preflight, auth:
//! [`site_rules`]) → method → expectation → target path → dotfiles → small-file cache →
//! open beneath the root (a missing path may get the SPA fallback) → folders (redirect,
//! index, listing) → regular files only → the representation ([`representation`]) →
//! preconditions ([`conditional`]) → ranges ([`ranges`]). Whatever a step returns,
//! files, listings, redirects and errors alike, passes through [`decorate`] last.

pub(crate) mod cache;
mod compress;
mod conditional;
mod listing;
mod ranges;
mod representation;
pub(crate) mod root;
mod site_rules;

use crate::context::Ctx;
use crate::response::{Response, HTML};
use crate::state::State;
use representation::Representation;
use root::OpenError;
use shared::site::path::{encode_path, SafePath};
use shared::StatusCode;
use std::fs::{File, Metadata};
use std::io::Read;

/// Methods this server implements.
pub(crate) const ALLOW: &str = "GET, HEAD";

/// Standard methods we know but do not allow on static files (405, not 501).
const KNOWN_METHODS: [&str; 7] = [
    "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The root-level page used for 404s when present.
pub(crate) const NOT_FOUND_PAGE: &str = "404.html";

/// Largest custom 404 page read into memory; a larger one is ignored for the built-in.
const MAX_NOT_FOUND_PAGE: u64 = 1024 * 1024;

/// Answers one request.
pub(crate) fn handle(ctx: &Ctx<'_>, state: &State) -> Response {
    // The health probe (--health) is answered from memory, before anything else.
    if let Some(health) = crate::health::answer(ctx, state.config.health.as_deref()) {
        return health;
    }
    // One snapshot of the site rules for the whole request, even across a reload.
    let site = state.site.load();
    let covered = site_rules::lookup(ctx, &site.rules);
    let mut response = match covered.as_ref().and_then(|c| site_rules::before(ctx, c)) {
        Some(early) => early,
        None => respond(ctx, state, covered.as_ref()),
    };
    decorate(ctx, state, covered.as_ref(), &mut response);
    response
}

/// The pipeline proper; every early return still goes through [`decorate`].
fn respond(ctx: &Ctx<'_>, state: &State, covered: Option<&site_rules::Covered<'_>>) -> Response {
    // 1. Method: GET and HEAD serve files; known methods get 405, unknown ones 501.
    if ctx.method != "GET" && !ctx.head_only {
        let status = if KNOWN_METHODS.contains(&ctx.method) {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_IMPLEMENTED
        };
        return Response::error(status).with("Allow", ALLOW);
    }
    // 2. Expectations: only 100-continue exists (RFC 9110 section 10.1.1); any other
    //    value cannot be met, so 417.
    if let Some(expect) = ctx.field("expect") {
        if !expect.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
            return Response::error(StatusCode::EXPECTATION_FAILED);
        }
    }
    // 3. Target: origin-form or absolute-form, decoded and normalised; anything that
    //    could leave the root was refused when the context was built.
    let safe = match &ctx.path {
        Ok(safe) => safe,
        Err(refused) => return Response::error_detail(refused.status, refused.detail),
    };
    // 4. Dotfiles are private unless asked for (/.well-known/ is always public).
    if safe.hidden && !state.config.dotfiles {
        return not_found(state);
    }
    // 5. A cached small file that is provably unchanged skips open/stat/read/close.
    if let Some(rep) = Representation::cached(ctx, state, safe) {
        return send(ctx, state, rep);
    }
    // 6. Open strictly beneath the root.
    let file = match state.root.open_beneath(&safe.relative) {
        Ok(f) => f,
        Err(OpenError::NotFound) => {
            // A deep link of a single-page app gets the fallback file.
            return site_rules::fallback(ctx, state, covered).unwrap_or_else(|| not_found(state));
        }
        Err(e) => return open_failed(e, state),
    };
    let Ok(meta) = file.metadata() else {
        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    // 7. Folders: redirect to the slashed URL, then the index file, then a listing.
    if meta.is_dir() {
        return folder(ctx, state, safe, file, covered);
    }
    // 8. Only regular files are served (no FIFOs, sockets or devices).
    if !meta.is_file() || safe.trailing_slash {
        return not_found(state);
    }
    serve_file(ctx, state, &safe.relative, file, &meta)
}

/// The last step, applied to every response whatever step produced it: the place for
/// site-wide and per-path fields (the site rules add theirs here).
fn decorate(
    ctx: &Ctx<'_>,
    _state: &State,
    covered: Option<&site_rules::Covered<'_>>,
    response: &mut Response,
) {
    site_rules::decorate(ctx, covered, response);
}

/// A folder URL: 301 to the slashed form, else the first index file, else a listing.
fn folder(
    ctx: &Ctx<'_>,
    state: &State,
    safe: &SafePath,
    dir: File,
    covered: Option<&site_rules::Covered<'_>>,
) -> Response {
    if !safe.trailing_slash {
        // The path is normalised (no empty segments) and percent-encoded, so the
        // Location is always a local absolute path, never `//host`.
        let mut location = String::with_capacity(safe.relative.len() + 8);
        location.push('/');
        location.push_str(&encode_path(&safe.relative));
        location.push('/');
        if let Some(q) = ctx.target.find('?').map(|i| &ctx.target[i..]) {
            location.push_str(q);
        }
        return Response::moved(location);
    }
    for index in &state.config.index {
        let rel = safe.join(index);
        let Ok(file) = state.root.open_beneath(&rel) else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        if meta.is_file() {
            // An auth rule naming the index file itself covers its folder's URL too.
            if let Some(refused) = site_rules::file_auth(ctx, covered, &rel) {
                return refused;
            }
            return serve_file(ctx, state, &rel, file, &meta);
        }
    }
    if state.config.listing {
        return listing::respond(ctx, state, safe, dir);
    }
    not_found(state)
}

/// A regular file: its representation, then preconditions and ranges.
fn serve_file(
    ctx: &Ctx<'_>,
    state: &State,
    relative: &str,
    file: File,
    meta: &Metadata,
) -> Response {
    match Representation::choose(ctx, state, relative, file, meta) {
        Ok(rep) => send(ctx, state, rep),
        Err(_) => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// 304/412 per the preconditions, else the representation whole or in part.
fn send(ctx: &Ctx<'_>, state: &State, rep: Representation) -> Response {
    let fields = rep.fields(state, ctx.now);
    if let Some(answer) = conditional::check(ctx, &rep.etag, rep.modified, &fields) {
        return answer;
    }
    ranges::respond(ctx, rep, fields)
}

/// Maps an open failure to its response.
fn open_failed(e: OpenError, state: &State) -> Response {
    match e {
        OpenError::NotFound => not_found(state),
        OpenError::Forbidden => Response::error(StatusCode::FORBIDDEN),
        OpenError::Other => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// 404, with the root's `404.html` as the body when there is one.
fn not_found(state: &State) -> Response {
    let custom = state.root.open_beneath(NOT_FOUND_PAGE).ok().and_then(|f| {
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.len() > MAX_NOT_FOUND_PAGE {
            return None;
        }
        let mut page = Vec::with_capacity(meta.len() as usize);
        f.take(MAX_NOT_FOUND_PAGE).read_to_end(&mut page).ok()?;
        Some(page)
    });
    match custom {
        Some(page) => Response::page(StatusCode::NOT_FOUND, HTML, page),
        None => Response::error(StatusCode::NOT_FOUND),
    }
}
