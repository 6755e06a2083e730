//! Folder listings behind `--listing`: read the folder through the root's descriptor,
//! within bounds on what is shown and what is examined, and render HTML or JSON with
//! `shared::site::listing`. The handler runs this on a blocking thread (it reads the
//! disk for as long as the folder is large), never on the executor.

use crate::context::Ctx;
use crate::files::root::OpenError;
use crate::files::{self, cache, conditional};
use crate::response::{Fields, Response, HTML};
use crate::state::State;
use rustix::fs::{AtFlags, FileType};
use shared::site::listing::{is_hidden, render_html, render_json, wants_json, Entry, Omitted};
use shared::site::path::SafePath;
use shared::StatusCode;
use std::fs::File;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most entries listed; a folder with more is cut there (and says so), so one request
/// cannot make the server stat a million files or build a huge page. Only entries that
/// would be shown count: hidden dotfiles do not use up the listing.
pub(crate) const MAX_LISTING_ENTRIES: usize = 10_000;

/// Most folder entries one listing looks at, shown or not (dotfiles, names no URL can
/// reach, links leading nowhere). Reading a name costs far less than a `stat`, and 10x
/// the listing's size bounds the work of a request in a folder of millions.
pub(crate) const MAX_LISTING_EXAMINED: usize = 100_000;

/// What reading a folder found.
#[derive(Debug)]
struct Read {
    entries: Vec<Entry>,
    omitted: Option<Omitted>,
}

/// The listing of the folder at `/{safe.relative}/`.
pub(crate) fn respond(ctx: &Ctx<'_>, state: &State, safe: &SafePath) -> Response {
    let dir = match state.root.open_dir(&safe.relative) {
        Ok(dir) => dir,
        Err(e) => return refused(e),
    };
    let dir_modified = dir
        .metadata()
        .and_then(|m| m.modified())
        .unwrap_or(UNIX_EPOCH);
    let read = match read_entries(state, safe, &dir) {
        Ok(read) => read,
        Err(e) => return refused(e),
    };
    let url_path = if safe.relative.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", safe.relative)
    };
    let json = wants_json(ctx.field("accept"), ctx.query());
    let (body, content_type) = if json {
        let body = render_json(&url_path, &read.entries, read.omitted);
        (body, "application/json")
    } else {
        (render_html(&url_path, &read.entries, read.omitted), HTML)
    };
    let body = body.into_bytes();
    // A weak validator (the page is generated) so revalidation and preconditions work
    // as they do for files (RFC 9110 section 13.2.1: they MUST be evaluated).
    let etag = format!("W/\"{:x}\"", fnv1a(&body));
    let modified = read
        .entries
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

/// The answer when the folder cannot be read.
fn refused(e: OpenError) -> Response {
    match e {
        OpenError::Exhausted => files::exhausted(),
        OpenError::Forbidden => Response::error(StatusCode::FORBIDDEN),
        OpenError::NotFound => Response::error(StatusCode::NOT_FOUND),
        OpenError::Other => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// FNV-1a, 64-bit: a fast, stable hash for the listing's validator (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads up to [`MAX_LISTING_ENTRIES`] shown entries, looking at no more than
/// [`MAX_LISTING_EXAMINED`]. Each is looked at with `stat`, never opened (a FIFO opened
/// would release its writer); symlinks are shown only if they resolve beneath the root;
/// dotfiles (unless `--dotfiles`), names that are not UTF-8 (no URL could reach them)
/// and anything that is not a regular file or a folder are left out.
fn read_entries(state: &State, safe: &SafePath, dir: &File) -> Result<Read, OpenError> {
    let mut entries = Vec::new();
    let mut omitted: u64 = 0;
    let mut stopped = false;
    let mut reader = rustix::fs::Dir::read_from(dir).map_err(errno)?;
    let mut examined = 0;
    while let Some(item) = reader.read() {
        let Ok(item) = item else { break };
        examined += 1;
        if examined > MAX_LISTING_EXAMINED {
            stopped = true;
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
        if is_hidden(name) && !state.config.dotfiles {
            continue;
        }
        // Past the limit, count what is left without looking at it.
        if entries.len() >= MAX_LISTING_ENTRIES {
            omitted += 1;
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
    let omitted = (omitted > 0 || stopped).then_some(Omitted {
        count: omitted,
        at_least: stopped,
    });
    Ok(Read { entries, omitted })
}

/// Maps a folder-reading error the way opening one is mapped.
fn errno(e: rustix::io::Errno) -> OpenError {
    match e {
        rustix::io::Errno::MFILE | rustix::io::Errno::NFILE | rustix::io::Errno::NOMEM => {
            OpenError::Exhausted
        }
        rustix::io::Errno::ACCESS | rustix::io::Errno::PERM => OpenError::Forbidden,
        _ => OpenError::Other,
    }
}
