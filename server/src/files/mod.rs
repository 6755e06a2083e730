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
mod watch;

use crate::context::{Ctx, OwnedRequest};
use crate::response::{Response, HTML};
use crate::state::State;
use representation::Representation;
use root::{Node, OpenError};
use shared::site::path::{encode_path, SafePath};
use shared::StatusCode;
use std::fs::{File, Metadata};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// `Retry-After` on a 503 for exhausted descriptors: connections finish within
/// seconds, and a client retrying sooner would only add to the load.
const RETRY_AFTER: &str = "5";

/// At most one log line per this long about exhausted descriptors or memory, however
/// many requests hit it: a burst must not flood the log.
const EXHAUSTION_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the handler made of a request.
#[derive(Debug)]
pub(crate) enum Handled {
    /// The response.
    Ready(Response),
    /// The request needs slow disk work (reading a folder): run the job on a blocking
    /// thread (`rt::unblock`), then send its response.
    Blocking(Job),
}

/// A request to answer on a blocking thread; it owns everything it needs.
#[derive(Debug)]
pub(crate) struct Job {
    request: OwnedRequest,
    state: Arc<State>,
}

impl Job {
    /// Answers the request, blocking as long as it takes.
    pub(crate) fn run(self) -> Response {
        self.request.with_ctx(|ctx| {
            // Allowed to block, no step defers.
            answer(ctx, &self.state)
                .unwrap_or_else(|Defer| Response::error(StatusCode::INTERNAL_SERVER_ERROR))
        })
    }
}

/// A step that would do slow disk work on the executor: the request moves to a
/// blocking thread instead.
#[derive(Debug)]
struct Defer;

/// Answers one request, or hands it back as a [`Job`] when it needs blocking work.
pub(crate) fn handle(ctx: &Ctx<'_>, state: &Arc<State>) -> Handled {
    // The health probe (--health) is answered from memory, before anything else.
    if let Some(health) = crate::health::answer(ctx, state.config.health.as_deref()) {
        return Handled::Ready(health);
    }
    match answer(ctx, state) {
        Ok(response) => Handled::Ready(response),
        Err(Defer) => Handled::Blocking(Job {
            request: OwnedRequest::of(ctx),
            state: state.clone(),
        }),
    }
}

/// The site rules around the pipeline: their early answers (redirects, preflights,
/// logins) first, then the pipeline, then [`decorate`] on whatever came out.
fn answer(ctx: &Ctx<'_>, state: &State) -> Result<Response, Defer> {
    // One snapshot of the site rules for the whole request, even across a reload.
    let site = state.site.load();
    let covered = site_rules::lookup(ctx, &site.rules);
    // The rule path of a file served under another URL (an index, the fallback).
    let mut served = None;
    let mut response = match covered.as_ref().and_then(|c| site_rules::before(ctx, c)) {
        Some(early) => early,
        None => respond(ctx, state, covered.as_ref(), &mut served)?,
    };
    decorate(
        ctx,
        state,
        covered.as_ref(),
        served.as_deref(),
        &mut response,
    );
    Ok(response)
}

/// The pipeline proper; every early return still goes through [`decorate`]. A file
/// served under another URL (a folder's index, the fallback) is named in `served`.
fn respond(
    ctx: &Ctx<'_>,
    state: &State,
    covered: Option<&site_rules::Covered<'_>>,
    served: &mut Option<String>,
) -> Result<Response, Defer> {
    // 1. Method: GET and HEAD serve files; known methods get 405, unknown ones 501.
    if ctx.method != "GET" && !ctx.head_only {
        let status = if KNOWN_METHODS.contains(&ctx.method) {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_IMPLEMENTED
        };
        return Ok(Response::error(status).with("Allow", ALLOW));
    }
    // 2. Expectations: only 100-continue exists (RFC 9110 section 10.1.1); any other
    //    value cannot be met, so 417.
    if let Some(expect) = ctx.field("expect") {
        if !expect.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
            return Ok(Response::error(StatusCode::EXPECTATION_FAILED));
        }
    }
    // 3. Target: origin-form or absolute-form, decoded and normalised; anything that
    //    could leave the root was refused when the context was built.
    let safe = match &ctx.path {
        Ok(safe) => safe,
        Err(refused) => return Ok(Response::error_detail(refused.status, refused.detail)),
    };
    // 4. Dotfiles are private unless asked for (/.well-known/ is always public).
    if safe.hidden && !state.config.dotfiles {
        return Ok(not_found(state));
    }
    // 5. A cached small file that is provably unchanged skips open/stat/read/close. A
    //    folder's index from the cache passes the index file's own auth rule first, as
    //    in `folder`.
    if let Some((rep, file)) = Representation::cached(ctx, state, safe) {
        if safe.trailing_slash {
            if let Some(refused) = site_rules::file_auth(ctx, covered, &file) {
                return Ok(refused);
            }
            *served = site_rules::served_as(covered, &file);
        }
        return Ok(send(ctx, rep));
    }
    // 6. Find it strictly beneath the root: a folder, or a regular file opened for
    //    reading; anything else (FIFOs, sockets, devices) is never opened.
    //    Through a symlink, the real path's rules hold too.
    let (file, meta, real) = match state.root.node(&safe.relative) {
        Ok((Node::File(file, meta), real)) => (file, meta, real),
        // 7. Folders: redirect to the slashed URL, then the index file, then a listing.
        Ok((Node::Dir, real)) => {
            if let Some(refused) = through_link(ctx, state, covered, real.as_deref(), true) {
                return Ok(refused);
            }
            return folder(ctx, state, safe, covered, served);
        }
        Err(OpenError::NotFound) => {
            // A deep link of a single-page app gets the fallback file.
            return Ok(site_rules::fallback(ctx, state, covered, served)
                .unwrap_or_else(|| not_found(state)));
        }
        Err(e) => return Ok(open_failed(e, state)),
    };
    if let Some(refused) = through_link(ctx, state, covered, real.as_deref(), false) {
        return Ok(refused);
    }
    // 8. A file asked for as a folder does not exist.
    if safe.trailing_slash {
        return Ok(not_found(state));
    }
    if let Some(real) = &real {
        *served = site_rules::served_as(covered, real);
    }
    let relative = (safe.relative.as_str(), real.as_deref());
    Ok(serve_file(ctx, state, relative, file, &meta))
}

/// For a file or folder reached through a symlink (`real` is its real path): the real
/// path's rules, so a link inside the root (`public/alias -> ../private`, `git -> .git`)
/// is no way around them. `404` for a hidden real path (unless `--dotfiles`), `401` or
/// `429` for a protected one; `None` to go on (and for a path through no link).
pub(super) fn through_link(
    ctx: &Ctx<'_>,
    state: &State,
    covered: Option<&site_rules::Covered<'_>>,
    real: Option<&str>,
    dir: bool,
) -> Option<Response> {
    let real = real?;
    if shared::site::path::is_hidden(real) && !state.config.dotfiles {
        return Some(not_found(state));
    }
    if dir && !real.is_empty() {
        site_rules::file_auth(ctx, covered, &format!("{real}/"))
    } else {
        // A precompressed twin's real path answers to its original's rule too.
        site_rules::file_auth(ctx, covered, real)
            .or_else(|| site_rules::twin_auth(ctx, covered, real))
    }
}

/// The last step, applied to every response whatever step produced it: the place for
/// site-wide and per-path fields (the site rules add theirs here).
fn decorate(
    ctx: &Ctx<'_>,
    _state: &State,
    covered: Option<&site_rules::Covered<'_>>,
    served: Option<&str>,
    response: &mut Response,
) {
    site_rules::decorate(ctx, covered, served, response);
}

/// A folder URL: 301 to the slashed form, else the first index file, else a listing.
fn folder(
    ctx: &Ctx<'_>,
    state: &State,
    safe: &SafePath,
    covered: Option<&site_rules::Covered<'_>>,
    served: &mut Option<String>,
) -> Result<Response, Defer> {
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
        return Ok(Response::moved(location));
    }
    for index in &state.config.index {
        let rel = safe.join(index);
        match state.root.open_file(&rel) {
            Ok((file, meta, real)) => {
                // An auth rule naming the index file itself covers its folder's URL too
                // (and its real path's, through a symlink).
                if let Some(refused) = site_rules::file_auth(ctx, covered, &rel) {
                    return Ok(refused);
                }
                if let Some(refused) = through_link(ctx, state, covered, real.as_deref(), false) {
                    return Ok(refused);
                }
                *served = site_rules::served_as(covered, real.as_deref().unwrap_or(&rel));
                return Ok(serve_file(ctx, state, (&rel, real.as_deref()), file, &meta));
            }
            // Out of descriptors: the index may well exist, so no 404 or listing.
            Err(OpenError::Exhausted) => return Ok(exhausted()),
            Err(_) => {}
        }
    }
    if state.config.listing {
        // Reading a folder takes as long as the folder is large: off the executor.
        if !ctx.may_block {
            return Err(Defer);
        }
        return Ok(listing::respond(ctx, state, safe));
    }
    // The server knows this is a folder: say why there is nothing to show, and how to
    // change that (unless the site has its own 404 page).
    Ok(custom_not_found(state).unwrap_or_else(|| {
        let detail = format!(
            "This folder has no index file ({}) and folder listings are off; \
             start the server with --listing to list its files.",
            state.config.index.join(", ")
        );
        Response::error_detail(StatusCode::NOT_FOUND, &detail)
    }))
}

/// A regular file at `relative` (and its real path through a symlink): its
/// representation, then preconditions and ranges.
fn serve_file(
    ctx: &Ctx<'_>,
    state: &State,
    (relative, real): (&str, Option<&str>),
    file: File,
    meta: &Metadata,
) -> Response {
    match Representation::choose(ctx, state, relative, real, file, meta) {
        Ok(rep) => send(ctx, rep),
        Err(_) => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// 304/412 per the preconditions, else the representation whole or in part.
fn send(ctx: &Ctx<'_>, rep: Representation) -> Response {
    let fields = rep.fields(ctx.now);
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
        OpenError::Exhausted => exhausted(),
        OpenError::Other => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// 503 for a request that could not open what it needs for lack of descriptors or
/// memory: the file may exist, so never a 404 or an empty listing. Logged once per
/// burst ([`EXHAUSTION_LOG_INTERVAL`]).
pub(crate) fn exhausted() -> Response {
    static LAST_LOGGED: AtomicU64 = AtomicU64::new(0);
    static SINCE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let count = SINCE.fetch_add(1, Ordering::Relaxed) + 1;
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    if now >= last + EXHAUSTION_LOG_INTERVAL.as_secs()
        && LAST_LOGGED
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        SINCE.fetch_sub(count, Ordering::Relaxed);
        crate::log_queue::error(format_args!(
            "out of file descriptors or memory: {count} request(s) answered 503 since the last \
             report; raise the open-file limit (ulimit -n) or lower --max-connections"
        ));
    }
    Response::error(StatusCode::SERVICE_UNAVAILABLE).with("Retry-After", RETRY_AFTER)
}

/// 404, with the root's `404.html` as the body when there is one.
fn not_found(state: &State) -> Response {
    custom_not_found(state).unwrap_or_else(|| Response::error(StatusCode::NOT_FOUND))
}

/// 404 with the root's `404.html`, if there is one.
fn custom_not_found(state: &State) -> Option<Response> {
    let (f, meta, real) = state.root.open_file(NOT_FOUND_PAGE).ok()?;
    // Shown for every missing path, with no rule asked: never through a symlink, which
    // could lead to a protected or hidden file.
    if real.is_some() || meta.len() > MAX_NOT_FOUND_PAGE {
        return None;
    }
    let mut page = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_NOT_FOUND_PAGE).read_to_end(&mut page).ok()?;
    Some(Response::page(StatusCode::NOT_FOUND, HTML, page))
}

#[cfg(test)]
#[path = "alloc_tests.rs"]
mod alloc_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9 item 5: a big folder's listing was read on the executor, stalling every
    /// connection on that thread; it is now handed back as a job for a blocking thread.
    #[test]
    fn a_listing_is_answered_off_the_executor() {
        let dir = std::env::temp_dir().join(format!("files-listing-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.txt"), "a").unwrap();
        let config =
            <crate::Config as clap::Parser>::try_parse_from(["server", "--listing"]).unwrap();
        let state = Arc::new(State::new(config, root::Root::open(&dir).unwrap()).unwrap());
        let ctx = Ctx::new("GET", "/sub/", &[], SystemTime::now());
        let Handled::Blocking(job) = handle(&ctx, &state) else {
            panic!("a listing was answered on the executor");
        };
        let response = job.run();
        assert_eq!(response.status, StatusCode::OK);
        let crate::response::Body::Memory(body) = response.body else {
            panic!("a listing is in memory");
        };
        assert!(String::from_utf8_lossy(&body).contains("a.txt"));
        // A file is still answered at once.
        let file = Ctx::new("GET", "/sub/a.txt", &[], SystemTime::now());
        assert!(matches!(handle(&file, &state), Handled::Ready(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
