//! MIME types for file names, with `charset=utf-8` on text types.

use std::borrow::Cow;

/// The fallback for unknown extensions: browsers then download rather than guess.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// The `Content-Type` for a file named `name`.
pub fn content_type(name: &str) -> Cow<'static, str> {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() || name.starts_with('.') => ext,
        _ => return Cow::Borrowed(DEFAULT_TYPE),
    };
    // The common cases, without allocating.
    let common = match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => Some("text/html; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "json" => Some("application/json"),
        "txt" => Some("text/plain; charset=utf-8"),
        "md" => Some("text/markdown; charset=utf-8"),
        "xml" => Some("text/xml; charset=utf-8"),
        "svg" => Some("image/svg+xml"),
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        "ico" => Some("image/x-icon"),
        "wasm" => Some("application/wasm"),
        "woff2" => Some("font/woff2"),
        "mp4" => Some("video/mp4"),
        "pdf" => Some("application/pdf"),
        _ => None,
    };
    if let Some(t) = common {
        return Cow::Borrowed(t);
    }
    match mime_guess::from_ext(ext).first_raw() {
        Some(t) if t.starts_with("text/") => Cow::Owned(format!("{t}; charset=utf-8")),
        Some(t) => Cow::Borrowed(t),
        None => Cow::Borrowed(DEFAULT_TYPE),
    }
}

/// Whether a type is text-like and worth compressing on the fly.
pub fn is_compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/javascript")
        || content_type.starts_with("application/xml")
        || content_type.starts_with("image/svg+xml")
        || content_type.starts_with("application/wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (name, want) in [
            ("HelloWorld.html", "text/html; charset=utf-8"),
            ("a.HTML", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("logo.png", "image/png"),
            ("data.csv", "text/csv; charset=utf-8"),
            ("archive.tar.gz", "application/gzip"),
            ("README", DEFAULT_TYPE),
            ("file.unknownext", DEFAULT_TYPE),
        ] {
            assert_eq!(content_type(name), want, "{name}");
        }
    }
}
