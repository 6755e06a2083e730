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
    // The common cases, without allocating (none of their extensions is longer).
    let mut lower = [0u8; COMMON_EXT_MAX];
    let common = match lowercase(ext, &mut lower) {
        b"html" | b"htm" => Some("text/html; charset=utf-8"),
        b"css" => Some("text/css; charset=utf-8"),
        b"js" | b"mjs" => Some("text/javascript; charset=utf-8"),
        b"json" => Some("application/json"),
        b"txt" => Some("text/plain; charset=utf-8"),
        b"md" => Some("text/markdown; charset=utf-8"),
        b"xml" => Some("text/xml; charset=utf-8"),
        b"svg" => Some("image/svg+xml"),
        b"png" => Some("image/png"),
        b"jpg" | b"jpeg" => Some("image/jpeg"),
        b"gif" => Some("image/gif"),
        b"webp" => Some("image/webp"),
        b"ico" => Some("image/x-icon"),
        b"wasm" => Some("application/wasm"),
        b"woff2" => Some("font/woff2"),
        b"mp4" => Some("video/mp4"),
        b"pdf" => Some("application/pdf"),
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

/// The longest extension among the common cases.
const COMMON_EXT_MAX: usize = 5;

/// `ext` in ASCII lowercase, in `buf`; empty (no common case) when it does not fit.
fn lowercase<'b>(ext: &str, buf: &'b mut [u8; COMMON_EXT_MAX]) -> &'b [u8] {
    let Some(dest) = buf.get_mut(..ext.len()) else {
        return b"";
    };
    dest.copy_from_slice(ext.as_bytes());
    dest.make_ascii_lowercase();
    dest
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
            ("f.WOFF2", "font/woff2"),
            ("page.xhtml", "application/xhtml+xml"),
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
