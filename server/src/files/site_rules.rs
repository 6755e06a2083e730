//! The site rules ([`crate::rules`]) as steps of the handler: redirects, CORS preflights
//! and Basic auth before anything is looked up, the SPA fallback for missing paths, and
//! every rule's fields on the way out, so files, listings, errors and compressed twins
//! are treated alike (and any protocol, since every response passes through here).

use crate::context::Ctx;
use crate::response::Response;
use crate::rules::auth::Outcome;
use crate::rules::glob::rule_path;
use crate::rules::{Matched, Rules};
use crate::state::State;
use shared::StatusCode;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// The rules covering a request's path, looked up once.
#[derive(Debug)]
pub(crate) struct Covered<'s> {
    /// The rule path (`/private/a.txt`, `/docs/`); empty when no rule looks at paths
    /// ([`Rules::look_at_paths`]), which then match none, so nothing reads it.
    pub path: String,
    /// The first rule of each kind covering it.
    pub matched: Matched<'s>,
    /// The rules themselves (for redirects and the fallback).
    pub rules: &'s Rules,
}

/// Looks the request's path up; `None` when the target names no path (a 400 follows).
pub(crate) fn lookup<'s>(ctx: &Ctx<'_>, rules: &'s Rules) -> Option<Covered<'s>> {
    let safe = ctx.path.as_ref().ok()?;
    // Built only for rules to match: it is an allocation per request.
    let path = if rules.look_at_paths() {
        rule_path(safe)
    } else {
        String::new()
    };
    Some(Covered {
        matched: rules.matched(&path),
        path,
        rules,
    })
}

/// The steps before the method check, each an early answer: a redirect, a CORS
/// preflight (which never carries credentials, so it comes before auth), then auth.
pub(crate) fn before(ctx: &Ctx<'_>, covered: &Covered<'_>) -> Option<Response> {
    // 1. Redirects, for every method (a 307/308 keeps it).
    if let Some((status, location)) = covered.rules.redirect(&covered.path, || ctx.query()) {
        let detail = format!("This page has moved to {location}");
        return Some(Response::error_detail(status, &detail).with("Location", location));
    }
    // 2. CORS preflight: 204 with the Access-Control-* fields (none for a refused origin).
    let origin = ctx.field("origin");
    let asked = ctx.field("access-control-request-method");
    if let Some(fields) = covered.matched.preflight(ctx.method, origin, asked) {
        let mut r = Response::new(StatusCode::NO_CONTENT);
        for (name, value) in fields {
            r.fields.append(name, value);
        }
        return Some(r);
    }
    // 3. Basic auth: 401 with a challenge, or 429 after too many failures. A
    //    precompressed twin asked for by its own name (`/report.txt.gz`) is the same
    //    content as its original, so the original's rule holds for it too.
    auth(ctx, &covered.matched).or_else(|| {
        let original = twin_original(&covered.path)?;
        auth(ctx, &covered.rules.matched(original))
    })
}

/// Auth for the original of a precompressed twin at `relative` (a real path, through a
/// symlink): `None` when it is no twin's path or its original is not protected.
pub(crate) fn twin_auth(
    ctx: &Ctx<'_>,
    covered: Option<&Covered<'_>>,
    relative: &str,
) -> Option<Response> {
    let original = twin_original(&format!("/{relative}"))?[1..].to_string();
    file_auth(ctx, covered, &original)
}

/// The path of the original a precompressed twin's path stands for (`/a.txt` for
/// `/a.txt.gz`, `.br` and `.zst`, in any ASCII case, as rules match), if it names one.
fn twin_original(path: &str) -> Option<&str> {
    [".gz", ".br", ".zst"].into_iter().find_map(|ext| {
        let cut = path.len().checked_sub(ext.len())?;
        let (stem, end) = (path.get(..cut)?, path.get(cut..)?);
        (end.eq_ignore_ascii_case(ext) && !stem.is_empty() && !stem.ends_with('/')).then_some(stem)
    })
}

#[cfg(test)]
#[test]
fn twin_paths_name_their_originals() {
    assert_eq!(twin_original("/a.txt.gz"), Some("/a.txt"));
    assert_eq!(twin_original("/A.TXT.BR"), Some("/A.TXT"));
    assert_eq!(twin_original("/d/a.zst"), Some("/d/a"));
    for not in ["/a.txt", "/.gz", "/d/.br", "/gz", "/a.tgz", "/é.g"] {
        assert_eq!(twin_original(not), None, "{not}");
    }
}

/// The rule path of a file served under another URL (a folder's index, the fallback),
/// for [`decorate`]; `None` when no rule looks at paths.
pub(crate) fn served_as(covered: Option<&Covered<'_>>, relative: &str) -> Option<String> {
    covered?
        .rules
        .look_at_paths()
        .then(|| format!("/{relative}"))
}

/// Auth for a file served under another URL (a folder's index, the fallback): a rule
/// naming the file covers it whatever URL serves it.
pub(crate) fn file_auth(
    ctx: &Ctx<'_>,
    covered: Option<&Covered<'_>>,
    relative: &str,
) -> Option<Response> {
    let rules = covered?.rules;
    if !rules.look_at_paths() {
        return None;
    }
    auth(ctx, &rules.matched(&format!("/{relative}")))
}

/// 401 or 429 unless the request's credentials pass the rule in `matched` (none when
/// no rule protects it: then the clock is not even read).
fn auth(ctx: &Ctx<'_>, matched: &Matched<'_>) -> Option<Response> {
    if !matched.is_protected() {
        return None;
    }
    let peer = ctx.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match matched.auth(ctx.field("authorization"), peer, Instant::now()) {
        Outcome::Allowed => None,
        Outcome::Challenge(challenge) => {
            Some(Response::error(StatusCode(401)).with("WWW-Authenticate", challenge))
        }
        Outcome::Limited(seconds) => Some(
            Response::error_detail(
                StatusCode(429),
                "Too many failed logins from your address; wait, then try again.",
            )
            .with("Retry-After", seconds.to_string()),
        ),
    }
}

/// For a missing path: the fallback file with 200, when one is set and the path does
/// not look like a file. `None`: answer 404 as usual.
pub(crate) fn fallback(
    ctx: &Ctx<'_>,
    state: &State,
    covered: Option<&Covered<'_>>,
    served: &mut Option<String>,
) -> Option<Response> {
    let covered = covered?;
    let file_path = covered.rules.fallback(&covered.path)?;
    // A regular file only (FIFOs and devices are never opened), like any other file.
    let (file, meta, real) = state.root.open_file(file_path).ok()?;
    // A rule protecting the fallback file protects it under every deep link too (and
    // its real path's, through a symlink).
    if let Some(refused) = file_auth(ctx, Some(covered), file_path) {
        return Some(refused);
    }
    if let Some(refused) = super::through_link(ctx, state, Some(covered), real.as_deref(), false) {
        return Some(refused);
    }
    *served = served_as(Some(covered), real.as_deref().unwrap_or(file_path));
    let path = (file_path, real.as_deref());
    Some(super::serve_file(ctx, state, path, file, &meta))
}

/// The last step for every response: the rules' fields, CORS fields, `Vary: Origin`,
/// and `Cache-Control` (a rule's, else the global default) on successful responses.
/// `served` is the rule path of a file served under another URL (a folder's index, the
/// fallback): its `[[headers]]` rule applies too, after the URL's own, as nginx's
/// internal redirect to an index applies the index's location (`/**/*.html` then
/// covers `/`).
pub(crate) fn decorate(
    ctx: &Ctx<'_>,
    covered: Option<&Covered<'_>>,
    served: Option<&str>,
    response: &mut Response,
) {
    let Some(covered) = covered else {
        return;
    };
    let edits = covered.matched.edits(response.status, ctx.field("origin"));
    for (name, value) in edits.set {
        response.fields.set(name.to_string(), value.to_string());
    }
    for (name, value) in edits.cors {
        response.fields.set(name, value);
    }
    if let Some(name) = edits.vary {
        let vary = match response.fields.get("Vary") {
            Some(v) if v.split(',').any(|e| e.trim().eq_ignore_ascii_case(name)) => v.to_string(),
            Some(v) => format!("{v}, {name}"),
            None => name.to_string(),
        };
        response.fields.set("Vary", vary);
    }
    if matches!(response.status.0, 200 | 206 | 304) {
        match edits.cache_control {
            Some(value) => response.fields.set("Cache-Control", value.clone()),
            None => response.fields.remove("Cache-Control"),
        }
    }
    if let Some(served) = served {
        let file = covered.rules.matched(served).file_edits(response.status);
        for (name, value) in file.set {
            response.fields.set(name.to_string(), value.to_string());
        }
        if let Some(value) = file.cache_control {
            response.fields.set("Cache-Control", value.clone());
        }
    }
}
