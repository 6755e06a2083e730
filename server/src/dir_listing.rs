//! Folder listings behind `--listing`: read the folder through the root's descriptor and
//! render HTML or JSON with `shared::listing`.

use crate::reply::{self, Body, Reply};
use crate::state::State;
use shared::listing::{render_html, render_json, retain_visible, wants_json, Entry};
use shared::path::SafePath;
use shared::request::Request;
use shared::StatusCode;
use std::fs::File;
use std::time::{Duration, UNIX_EPOCH};

/// Most entries listed; a folder with more is cut there, so one request cannot make the
/// server stat a million files or build a huge page.
pub const MAX_LISTING_ENTRIES: usize = 10_000;

/// Replies with a listing of `dir`, whose URL path is `/{safe.relative}/`.
pub fn reply(
    req: &Request<'_, '_>,
    state: &State,
    safe: &SafePath,
    dir: File,
    out: &mut Vec<u8>,
    head_only: bool,
) -> Reply {
    let Ok(mut entries) = read_entries(state, safe, dir) else {
        return reply::internal_error(out, head_only);
    };
    retain_visible(&mut entries, state.config.dotfiles);
    let url_path = if safe.relative.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", safe.relative)
    };
    let query = req.target.split_once('?').map(|(_, q)| q);
    let json = wants_json(req.header("accept"), query);
    let (body, content_type) = if json {
        (render_json(&url_path, &entries), "application/json")
    } else {
        (render_html(&url_path, &entries), "text/html; charset=utf-8")
    };
    let body = body.into_bytes();
    reply::head(out, StatusCode::OK);
    shared::format::header(out, "Content-Type", content_type.as_bytes());
    shared::format::header_u64(out, "Content-Length", body.len() as u64);
    shared::format::header(out, "Cache-Control", b"no-cache");
    shared::format::header(out, "Vary", b"Accept");
    Reply {
        status: StatusCode::OK,
        body_len: body.len() as u64,
        body: if head_only {
            Body::Empty
        } else {
            Body::Bytes(body)
        },
        close: false,
    }
}

/// Reads up to [`MAX_LISTING_ENTRIES`] entries. Symlinks are shown only if they resolve
/// beneath the root; names that are not UTF-8 are skipped (no URL could reach them).
fn read_entries(state: &State, safe: &SafePath, dir: File) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut reader = rustix::fs::Dir::read_from(&dir)?;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        if entries.len() >= MAX_LISTING_ENTRIES {
            break;
        }
        let Ok(name) = item.file_name().to_str() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        let rel = safe.join(name);
        // Open through the root so links leading outside are left out.
        let Ok(f) = state.root.open_beneath(&rel) else {
            continue;
        };
        let Ok(meta) = f.metadata() else { continue };
        if !meta.is_file() && !meta.is_dir() {
            continue;
        }
        entries.push(Entry {
            name: name.to_string(),
            is_dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().unwrap_or(UNIX_EPOCH + Duration::ZERO),
        });
    }
    Ok(entries)
}
