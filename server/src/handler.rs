//! The request handler: a flat pipeline from a parsed request to a reply.
//!
//! Steps, each an early return: method → target path → sanitise → dotfiles → open
//! beneath the root → directory handling → reply with the file.

use crate::reply::{self, Body, Reply};
use crate::resolve::OpenError;
use crate::state::State;
use shared::path::{encode_path, sanitize_path};
use shared::request::Request;
use shared::StatusCode;
use std::fs::File;

/// Methods this server implements.
pub const ALLOW: &str = "GET, HEAD";

/// Standard methods we know but do not allow on static files (405, not 501).
const KNOWN_METHODS: [&str; 7] = [
    "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The name of a folder's index file.
pub const INDEX_FILE: &str = "index.html";

/// Handles one request, writing the response head (and any small body) into `out`.
pub fn handle(req: &Request<'_, '_>, state: &State, out: &mut Vec<u8>) -> Reply {
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
    // 2. Target: origin-form or absolute-form; the query is ignored.
    let Some(path) = req.path() else {
        return reply::error(out, StatusCode::BAD_REQUEST, head_only, &[]);
    };
    // 3. Sanitise: decode, normalise, refuse anything that could leave the root.
    let safe = match sanitize_path(path) {
        Ok(p) => p,
        Err(e) => return reply::error_detail(out, e.status(), head_only, e.describe()),
    };
    // 4. Dotfiles are private unless asked for (/.well-known/ is always public).
    if safe.hidden && !state.config.dotfiles {
        return reply::not_found(out, head_only);
    }
    // 5. Open strictly beneath the root.
    let file = match open(state, &safe.relative) {
        Ok(f) => f,
        Err(r) => return r(out, head_only),
    };
    let Ok(meta) = file.metadata() else {
        return reply::error(out, StatusCode::INTERNAL_SERVER_ERROR, head_only, &[]);
    };
    // 6. Directories: redirect to the slashed URL, then serve the index file.
    if meta.is_dir() {
        if !safe.trailing_slash {
            let mut location = String::with_capacity(safe.relative.len() + 8);
            location.push('/');
            location.push_str(&encode_path(&safe.relative));
            location.push('/');
            if let Some(q) = req.target.find('?').map(|i| &req.target[i..]) {
                location.push_str(q);
            }
            return reply::redirect(out, &location, head_only);
        }
        let index = if safe.relative.is_empty() {
            INDEX_FILE.to_string()
        } else {
            format!("{}/{INDEX_FILE}", safe.relative)
        };
        let file = match open(state, &index) {
            Ok(f) => f,
            Err(r) => return r(out, head_only),
        };
        return serve_file(out, file, INDEX_FILE, head_only);
    }
    // 7. Only regular files are served (no FIFOs, sockets or devices).
    if !meta.is_file() {
        return reply::not_found(out, head_only);
    }
    let name = safe.relative.rsplit('/').next().unwrap_or("");
    serve_file(out, file, name, head_only)
}

type ErrorReply = fn(&mut Vec<u8>, bool) -> Reply;

/// Opens a path beneath the root, mapping failures to the reply that explains them.
fn open(state: &State, relative: &str) -> Result<File, ErrorReply> {
    state.root.open_beneath(relative).map_err(|e| match e {
        OpenError::NotFound => reply::not_found as ErrorReply,
        OpenError::Forbidden => reply::forbidden,
        OpenError::Other(_) => reply::internal_error,
    })
}

/// Replies 200 with the file's content (streamed later by the connection).
fn serve_file(out: &mut Vec<u8>, file: File, name: &str, head_only: bool) -> Reply {
    let Ok(meta) = file.metadata() else {
        return reply::internal_error(out, head_only);
    };
    if !meta.is_file() {
        return reply::not_found(out, head_only);
    }
    let len = meta.len();
    let content_type = shared::mime::content_type(name);
    reply::head(out, StatusCode::OK);
    shared::format::header(out, "Content-Type", content_type.as_bytes());
    shared::format::header_u64(out, "Content-Length", len);
    if let Ok(modified) = meta.modified() {
        let date = shared::date::format_http_date(modified);
        shared::format::header(out, "Last-Modified", date.as_bytes());
    }
    Reply {
        status: StatusCode::OK,
        body: if head_only {
            Body::Empty
        } else {
            Body::File {
                file,
                offset: 0,
                len,
            }
        },
        body_len: len,
        close: false,
    }
}
