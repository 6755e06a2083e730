//! Sending a representation whole or in part: `Range` and `If-Range` (RFC 9110 section
//! 14), one range as 206, several as `multipart/byteranges`, none satisfiable as 416.

use crate::context::Ctx;
use crate::files::representation::{Content, Representation};
use crate::response::{Body, Fields, Part, Response, Value};
use bytes::Bytes;
use shared::site::conditional::if_range_allows;
use shared::site::range::{self, parse_range, ByteRange, Multipart, RangeOutcome};
use shared::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

/// Seeds multipart boundaries so they differ between responses.
static BOUNDARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// 200 with all of `rep`, or 206/416 per `Range`. `fields` are the validator fields.
pub(crate) fn respond(ctx: &Ctx<'_>, rep: Representation, fields: Fields) -> Response {
    // GET only; If-Range must still match; malformed headers are ignored, and so are
    // two `Range` lines, which combine into one list with two units (RFC 9110 section
    // 5.3), not a valid `Range`.
    let range = match ctx.field("range") {
        Some(_) if ctx.fields_named("range").nth(1).is_some() => RangeOutcome::Ignore,
        Some(value) if ctx.method == "GET" => {
            let current = ctx
                .field("if-range")
                .is_none_or(|v| if_range_allows(v, &rep.etag, rep.modified, ctx.now));
            if current {
                parse_range(value, rep.len)
            } else {
                RangeOutcome::Ignore
            }
        }
        _ => RangeOutcome::Ignore,
    };
    match range {
        RangeOutcome::Ignore => whole(rep, fields),
        RangeOutcome::Unsatisfiable => Response::error(StatusCode::RANGE_NOT_SATISFIABLE)
            .with("Content-Range", range::unsatisfied_content_range(rep.len)),
        RangeOutcome::Satisfiable(ranges) => partial(ctx, rep, fields, &ranges),
    }
}

/// The head every 200 and 206 shares: its type, `Accept-Ranges`, the validators.
fn head(
    status: StatusCode,
    content_type: Value,
    content_range: Option<String>,
    mut fields: Fields,
) -> Response {
    // In front of the validators, in the room they were made with.
    let mut at = 0;
    fields.insert(at, "Content-Type", content_type);
    if let Some(cr) = content_range {
        at += 1;
        fields.insert(at, "Content-Range", cr);
    }
    fields.insert(at + 1, "Accept-Ranges", "bytes");
    let mut r = Response::new(status);
    r.fields = fields;
    r
}

/// 200 with the whole representation.
fn whole(rep: Representation, fields: Fields) -> Response {
    let mut r = head(StatusCode::OK, rep.content_type.into(), None, fields);
    r.body = match rep.content {
        Content::Memory(bytes) => Body::Memory(bytes),
        Content::File(file) => Body::File {
            file,
            offset: 0,
            len: rep.len,
        },
    };
    r
}

/// 206 with one range, or `multipart/byteranges` for several.
fn partial(ctx: &Ctx<'_>, rep: Representation, fields: Fields, ranges: &[ByteRange]) -> Response {
    if let [only] = ranges {
        let cr = range::content_range(*only, rep.len);
        let mut r = head(
            StatusCode::PARTIAL_CONTENT,
            rep.content_type.into(),
            Some(cr),
            fields,
        );
        r.body = match rep.content {
            Content::Memory(bytes) => {
                let (start, end) = (only.first as usize, only.last as usize + 1);
                Body::Memory(bytes.slice(start.min(bytes.len())..end.min(bytes.len())))
            }
            Content::File(file) => Body::File {
                file,
                offset: only.first,
                len: only.byte_count(),
            },
        };
        return r;
    }
    let seed = BOUNDARY_COUNTER.fetch_add(1, Ordering::Relaxed)
        ^ ctx
            .now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let boundary = range::boundary_from_seed(seed);
    let mp = Multipart {
        boundary: &boundary,
        content_type: &rep.content_type,
        complete_length: rep.len,
    };
    let mut r = head(
        StatusCode::PARTIAL_CONTENT,
        mp.content_type_value().into(),
        None,
        fields,
    );
    r.body = match rep.content {
        Content::File(file) => {
            let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
            for (i, range) in ranges.iter().enumerate() {
                parts.push(Part::Bytes(mp.part_head(i, *range).into()));
                parts.push(Part::Range {
                    offset: range.first,
                    len: range.byte_count(),
                });
            }
            parts.push(Part::Bytes(mp.closing().into()));
            Body::Multipart { file, parts }
        }
        Content::Memory(bytes) => {
            // Small by construction (cached files are small): assemble it.
            let mut body = Vec::with_capacity(mp.body_length(ranges) as usize);
            for (i, range) in ranges.iter().enumerate() {
                body.extend_from_slice(&mp.part_head(i, *range));
                body.extend_from_slice(
                    bytes
                        .get(range.first as usize..=range.last as usize)
                        .unwrap_or_default(),
                );
            }
            body.extend_from_slice(&mp.closing());
            Body::Memory(Bytes::from(body))
        }
    };
    r
}
