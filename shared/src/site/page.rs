//! Small HTML pages for error replies, and HTML escaping.

use crate::StatusCode;

/// A complete, short HTML page for `status` with an explanatory sentence.
pub fn error_page(status: StatusCode, detail: &str) -> String {
    let title = status.to_string();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{t}</title></head>\n\
         <body>\n<h1>{t}</h1>\n<p>{d}</p>\n</body>\n</html>\n",
        t = escape_html(&title),
        d = escape_html(detail),
    )
}

/// The sentence shown on an error page when nothing more specific is known.
pub fn default_detail(status: StatusCode) -> &'static str {
    match status.0 {
        400 => "The server could not understand the request.",
        403 => "You do not have permission to access this resource.",
        404 => "The requested URL was not found on this server.",
        405 => "The method is not allowed for this resource.",
        408 => "The server timed out waiting for the request.",
        412 => "A precondition in the request was not met.",
        413 => "The request body is too large.",
        414 => "The request target is too long.",
        416 => "The requested range is not satisfiable.",
        417 => "The server cannot meet the request's Expect field.",
        431 => "The request header fields are too large.",
        500 => "The server hit an internal error.",
        501 => "The server does not implement this request.",
        503 => "The server is too busy; try again shortly.",
        505 => "The server supports HTTP/1.0 and HTTP/1.1 only.",
        _ => "",
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_the_status() {
        let p = error_page(StatusCode::NOT_FOUND, "No <such> file");
        assert!(p.contains("<title>404 Not Found</title>"));
        assert!(p.contains("No &lt;such&gt; file"));
    }
}
