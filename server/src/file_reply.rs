//! Replying with a file representation: validators (`ETag`, `Last-Modified`),
//! conditional requests (RFC 9110 section 13.2.2), and ranges (section 14), including
//! `multipart/byteranges`.

use crate::reply::{self, Body, Part, Reply};
use crate::state::State;
use shared::conditional::{evaluate, if_range_allows, Precondition, Preconditions};
use shared::encoding::Coding;
use shared::format;
use shared::range::{self, parse_range, Multipart, RangeOutcome};
use shared::request::Request;
use shared::StatusCode;
use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One representation of a resource, ready to send.
#[derive(Debug)]
pub struct Representation {
    /// The open file (None when the body is in `bytes`).
    pub file: Option<File>,
    /// An in-memory body (a cached file, on-the-fly compression).
    pub bytes: Option<Arc<[u8]>>,
    /// Length of the representation.
    pub len: u64,
    /// Modification time, for `Last-Modified`.
    pub modified: SystemTime,
    /// Strong entity tag, quoted.
    pub etag: String,
    /// Media type of the resource.
    pub content_type: Cow<'static, str>,
    /// Content coding, if compressed.
    pub coding: Option<Coding>,
    /// Whether the choice depended on `Accept-Encoding`.
    pub vary: bool,
}

impl Representation {
    /// The representation stored in `file`, with validators from its metadata.
    pub fn from_file(file: File, meta: &Metadata, coding: Option<Coding>) -> Representation {
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        Representation {
            etag: shared::validators::strong_etag(meta.len(), modified, coding.map(Coding::token)),
            file: Some(file),
            bytes: None,
            len: meta.len(),
            modified,
            content_type: Cow::Borrowed(""),
            coding,
            vary: false,
        }
    }
}

/// Seeds multipart boundaries so they differ between responses.
static BOUNDARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replies with `rep`: 304/412 per the preconditions, 206/416 per `Range`, else 200.
pub fn reply(
    req: &Request<'_, '_>,
    state: &State,
    rep: Representation,
    out: &mut Vec<u8>,
) -> Reply {
    let head_only = req.method == "HEAD";
    // 1. Preconditions, in RFC 9110 section 13.2.2 order.
    let pre = Preconditions::from_headers(req.headers);
    match evaluate(req.method, &pre, &rep.etag, rep.modified) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let r = reply::not_modified(out);
            validator_fields(out, state, &rep);
            return r;
        }
        Precondition::PreconditionFailed => {
            return reply::error(out, StatusCode::PRECONDITION_FAILED, head_only, &[]);
        }
    }
    // 2. Ranges: GET only; If-Range must still match; malformed headers are ignored.
    let range = match req.header("range") {
        Some(value) if req.method == "GET" => {
            let current = req
                .header("if-range")
                .is_none_or(|v| if_range_allows(v, &rep.etag, rep.modified, SystemTime::now()));
            if current {
                parse_range(value, rep.len)
            } else {
                RangeOutcome::Ignore
            }
        }
        _ => RangeOutcome::Ignore,
    };
    match range {
        RangeOutcome::Ignore => full(out, state, rep, head_only),
        RangeOutcome::Unsatisfiable => {
            let cr = range::unsatisfied_content_range(rep.len);
            reply::error(
                out,
                StatusCode::RANGE_NOT_SATISFIABLE,
                head_only,
                &[("Content-Range", &cr)],
            )
        }
        RangeOutcome::Satisfiable(ranges) => partial(out, state, rep, &ranges),
    }
}

/// `ETag`, `Last-Modified`, `Cache-Control`, `Vary` and `Content-Encoding`: the fields
/// a 200, 206 and 304 share.
fn validator_fields(out: &mut Vec<u8>, state: &State, rep: &Representation) {
    format::header(out, "ETag", rep.etag.as_bytes());
    // RFC 9110 section 8.8.2.1: a modification time in the future is sent as now.
    let last_modified = shared::date::format_http_date(rep.modified.min(SystemTime::now()));
    format::header(out, "Last-Modified", last_modified.as_bytes());
    format::header(out, "Cache-Control", state.config.cache_control.as_bytes());
    if rep.vary {
        format::header(out, "Vary", b"Accept-Encoding");
    }
    if let Some(c) = rep.coding {
        format::header(out, "Content-Encoding", c.token().as_bytes());
    }
}

/// 200 with the whole representation.
fn full(out: &mut Vec<u8>, state: &State, rep: Representation, head_only: bool) -> Reply {
    reply::head(out, StatusCode::OK);
    format::header(out, "Content-Type", rep.content_type.as_bytes());
    format::header_u64(out, "Content-Length", rep.len);
    format::header(out, "Accept-Ranges", b"bytes");
    validator_fields(out, state, &rep);
    let len = rep.len;
    let body = match (head_only, rep.file, rep.bytes) {
        (true, _, _) => Body::Empty,
        (false, _, Some(bytes)) => Body::Shared {
            len: bytes.len(),
            bytes,
            offset: 0,
        },
        (false, Some(file), None) => Body::File {
            file,
            offset: 0,
            len,
        },
        (false, None, None) => Body::Empty,
    };
    Reply {
        status: StatusCode::OK,
        body,
        body_len: len,
        close: false,
    }
}

/// 206 with one range, or `multipart/byteranges` for several.
fn partial(
    out: &mut Vec<u8>,
    state: &State,
    rep: Representation,
    ranges: &[range::ByteRange],
) -> Reply {
    // The bytes come from the open file or from memory (a cached file).
    let source = match (&rep.file, &rep.bytes) {
        (Some(f), _) => match f.try_clone() {
            Ok(f) => Source::File(f),
            Err(_) => return reply::internal_error(out, false),
        },
        (None, Some(b)) => Source::Memory(b.clone()),
        (None, None) => return full(out, state, rep, false),
    };
    reply::head(out, StatusCode::PARTIAL_CONTENT);
    if let [only] = ranges {
        format::header(out, "Content-Type", rep.content_type.as_bytes());
        format::header(
            out,
            "Content-Range",
            range::content_range(*only, rep.len).as_bytes(),
        );
        format::header_u64(out, "Content-Length", only.byte_count());
        format::header(out, "Accept-Ranges", b"bytes");
        validator_fields(out, state, &rep);
        return Reply {
            status: StatusCode::PARTIAL_CONTENT,
            body: source.slice(only.first, only.byte_count()),
            body_len: only.byte_count(),
            close: false,
        };
    }
    let seed = BOUNDARY_COUNTER.fetch_add(1, Ordering::Relaxed)
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let boundary = range::boundary_from_seed(seed);
    let mp = Multipart {
        boundary: &boundary,
        content_type: &rep.content_type,
        complete_length: rep.len,
    };
    let total = mp.body_length(ranges);
    format::header(out, "Content-Type", mp.content_type_value().as_bytes());
    format::header_u64(out, "Content-Length", total);
    format::header(out, "Accept-Ranges", b"bytes");
    validator_fields(out, state, &rep);
    let body = match source {
        Source::File(file) => {
            let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
            for (i, r) in ranges.iter().enumerate() {
                parts.push(Part::Bytes(mp.part_head(i, *r)));
                parts.push(Part::Range {
                    offset: r.first,
                    len: r.byte_count(),
                });
            }
            parts.push(Part::Bytes(mp.closing()));
            Body::Parts { file, parts }
        }
        Source::Memory(bytes) => {
            // Small by construction (cached files are small): assemble it.
            let mut body = Vec::with_capacity(total as usize);
            for (i, r) in ranges.iter().enumerate() {
                body.extend_from_slice(&mp.part_head(i, *r));
                body.extend_from_slice(
                    bytes
                        .get(r.first as usize..=r.last as usize)
                        .unwrap_or_default(),
                );
            }
            body.extend_from_slice(&mp.closing());
            Body::Bytes(body)
        }
    };
    Reply {
        status: StatusCode::PARTIAL_CONTENT,
        body,
        body_len: total,
        close: false,
    }
}

/// Where a partial response's bytes come from.
enum Source {
    File(File),
    Memory(Arc<[u8]>),
}

impl Source {
    /// The body for `len` bytes from `offset`.
    fn slice(self, offset: u64, len: u64) -> Body {
        match self {
            Source::File(file) => Body::File { file, offset, len },
            Source::Memory(bytes) => Body::Shared {
                bytes,
                offset: offset as usize,
                len: len as usize,
            },
        }
    }
}
