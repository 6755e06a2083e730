//! Conditional requests (RFC 9110 section 13.2.2), one mapping from the preconditions'
//! verdict to a response for files and listings alike.

use crate::context::Ctx;
use crate::response::{Fields, Response};
use shared::site::conditional::{evaluate, Precondition, Preconditions};
use shared::StatusCode;
use std::time::SystemTime;

/// Evaluates the request's preconditions against the current validators. `Some` is the
/// answer when they decide it: 304 carrying `fields` (the validator and caching fields a
/// 200 would carry), or 412. `None` means proceed.
pub(crate) fn check(
    ctx: &Ctx<'_>,
    etag: &str,
    modified: SystemTime,
    fields: &Fields,
) -> Option<Response> {
    let pre = Preconditions::from_headers(ctx.fields);
    match evaluate(ctx.method, &pre, etag, modified) {
        Precondition::Proceed => None,
        Precondition::NotModified => {
            let mut r = Response::new(StatusCode::NOT_MODIFIED);
            r.fields = fields.clone();
            Some(r)
        }
        Precondition::PreconditionFailed => Some(Response::error(StatusCode::PRECONDITION_FAILED)),
    }
}
