//! Folder listings behind `--listing`: read the folder through the root's descriptor and
//! render HTML or JSON with `shared::site::listing`.

use crate::context::Ctx;
use crate::files::root::OpenError;
use crate::files::{self, cache, conditional};
use crate::response::{Fields, Response, HTML};
use crate::state::State;
use rustix::fs::{AtFlags, FileType};
use shared::site::listing::{render_html, render_json, retain_visible, wants_json, Entry};
use shared::site::path::SafePath;
use shared::StatusCode;
use std::fs::File;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most entries listed; a folder with more is cut there, so one request cannot make the
/// server stat a million files or build a huge page.
pub(crate) const MAX_LISTING_ENTRIES: usize = 10_000;

/// The listing of the folder at `/{safe.relative}/`.
pub(crate) fn respond(ctx: &Ctx<'_>, state: &State, safe: &SafePath) -> Response {
    let dir = match state.root.open_dir(&safe.relative) {
        Ok(dir) => dir,
        Err(OpenError::Exhausted) => return files::exhausted(),
        Err(OpenError::Forbidden) => return Response::error(StatusCode::FORBIDDEN),
        Err(OpenError::NotFound) => return Response::error(StatusCode::NOT_FOUND),
        Err(OpenError::Other) => return Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    };
    let dir_modified = dir
        .metadata()
        .and_then(|m| m.modified())
        .unwrap_or(UNIX_EPOCH);
    let mut entries = match read_entries(state, safe, &dir) {
        Ok(entries) => entries,
        Err(OpenError::Exhausted) => return files::exhausted(),
        Err(OpenError::Forbidden) => return Response::error(StatusCode::FORBIDDEN),
        Err(_) => return Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    };
    retain_visible(&mut entries, state.config.dotfiles);
    let url_path = if safe.relative.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", safe.relative)
    };
    let json = wants_json(ctx.field("accept"), ctx.query());
    let (body, content_type) = if json {
        (render_json(&url_path, &entries), "application/json")
    } else {
        (render_html(&url_path, &entries), HTML)
    };
    let body = body.into_bytes();
    // A weak validator (the page is generated) so revalidation and preconditions work
    // as they do for files (RFC 9110 section 13.2.1: they MUST be evaluated).
    let etag = format!("W/\"{:x}\"", fnv1a(&body));
    let modified = entries
        .iter()
        .map(|e| e.modified)
        .fold(dir_modified, SystemTime::max);
    let mut fields = Fields::default();
    fields.append("ETag", etag.clone());
    fields.append("Cache-Control", "no-cache");
    fields.append("Vary", "Accept");
    if let Some(answer) = conditional::check(ctx, &etag, modified, &fields) {
        return answer;
    }
    let mut r = Response::page(StatusCode::OK, content_type, body);
    r.fields.extend(fields);
    r
}

/// FNV-1a, 64-bit: a fast, stable hash for the listing's validator (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads up to [`MAX_LISTING_ENTRIES`] entries. Each is looked at with `stat`, never
/// opened (a FIFO opened would release its writer); symlinks are shown only if they
/// resolve beneath the root; names that are not UTF-8 are skipped (no URL could reach
/// them), as is anything that is not a regular file or a folder.
fn read_entries(state: &State, safe: &SafePath, dir: &File) -> Result<Vec<Entry>, OpenError> {
    let mut entries = Vec::new();
    let mut reader = rustix::fs::Dir::read_from(dir).map_err(errno)?;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        if entries.len() >= MAX_LISTING_ENTRIES {
            break;
        }
        let Ok(name) = item.file_name().to_str() else {
            continue;
        };
        // `.`/`..`, and names no URL can reach (the path sanitiser refuses control
        // characters and backslashes), so no link leads to a 400.
        if name == "." || name == ".." || name.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\')
        {
            continue;
        }
        let st = match item.file_type() {
            // Not a link: its own status, no descriptor needed.
            FileType::RegularFile | FileType::Directory => {
                match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(_) => continue,
                }
            }
            // A link (or a file system that does not say): follow it beneath the root.
            FileType::Symlink | FileType::Unknown => match state.root.stat(&safe.join(name)) {
                Ok(st) => st,
                Err(OpenError::Exhausted) => return Err(OpenError::Exhausted),
                Err(_) => continue,
            },
            _ => continue,
        };
        let is_dir = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => true,
            FileType::RegularFile => false,
            _ => continue,
        };
        entries.push(Entry {
            name: name.to_string(),
            is_dir,
            size: if is_dir { 0 } else { st.st_size as u64 },
            modified: cache::file_time(st.st_mtime, st.st_mtime_nsec as i64),
        });
    }
    Ok(entries)
}

/// Maps a directory-reading error the way opening one is mapped.
fn errno(e: rustix::io::Errno) -> OpenError {
    match e {
        rustix::io::Errno::MFILE | rustix::io::Errno::NFILE | rustix::io::Errno::NOMEM => {
            OpenError::Exhausted
        }
        rustix::io::Errno::ACCESS | rustix::io::Errno::PERM => OpenError::Forbidden,
        _ => OpenError::Other,
    }
}
