//! Directory listings: the entry type, ordering and dotfile filtering, rendering as HTML
//! or JSON, and deciding which of the two a request wants.
//!
//! Links are relative (`name`, `dir/`, `../`), so a listing must only be served at a
//! URL ending in `/` (the handler redirects `/dir` to `/dir/` first). A response whose
//! form depends on `Accept` must carry `Vary: Accept`.

use std::time::SystemTime;

use crate::site::encoding::parse_qvalue;
use crate::site::page::escape_html;

/// One directory entry as the handler read it from the file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file name (one path segment, not encoded).
    pub name: String,
    /// Whether it is a directory (after following symlinks, as the server would).
    pub is_dir: bool,
    /// Size in bytes; not shown for directories.
    pub size: u64,
    /// Last modification time.
    pub modified: SystemTime,
}

/// Whether `name` is a dotfile, hidden from listings unless dotfiles are enabled.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Drops dotfiles from `entries` unless `show_dotfiles`.
pub fn retain_visible(entries: &mut Vec<Entry>, show_dotfiles: bool) {
    if !show_dotfiles {
        entries.retain(|e| !is_hidden(&e.name));
    }
}

/// Listing order: directories first, then by name ignoring case, then by exact name so
/// the order is total and stable across runs.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by_cached_key(order_key);
}

/// The key behind [`sort_entries`].
fn order_key(e: &Entry) -> (bool, String, String) {
    (!e.is_dir, e.name.to_lowercase(), e.name.clone())
}

/// Whether an entry can be linked as a single path segment; `.`, `..`, empty names and
/// names holding `/` (impossible from `readdir`, refused by the path sanitiser) are
/// left out of both forms.
fn listable(e: &Entry) -> bool {
    !e.name.is_empty() && e.name != "." && e.name != ".." && !e.name.contains('/')
}

/// The entries to render, listable and sorted.
fn ordered(entries: &[Entry]) -> Vec<&Entry> {
    let mut v: Vec<&Entry> = entries.iter().filter(|e| listable(e)).collect();
    v.sort_by_cached_key(|e| order_key(e));
    v
}

/// Percent-encodes one file name as a relative URL path segment: everything but
/// unreserved characters is escaped, including `/`, `?`, `#`, `%` and `:` (so a name
/// like `javascript:x` or `a?b` still links to the file itself).
pub fn encode_segment(name: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(name, KEEP).to_string()
}

/// Entries a listing left out because it reached a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Omitted {
    /// How many were left out (a lower bound when `at_least`).
    pub count: u64,
    /// Whether the server stopped counting too (a folder too large to read through).
    pub at_least: bool,
}

impl Omitted {
    /// `"12 more entries"`, `"at least 12 more entries"`, or `"more entries"` when the
    /// server stopped reading before it found any.
    fn describe(self) -> String {
        if self.at_least && self.count == 0 {
            return "more entries".to_string();
        }
        let prefix = if self.at_least { "at least " } else { "" };
        let noun = if self.count == 1 { "entry" } else { "entries" };
        format!("{prefix}{} more {noun}", self.count)
    }
}

/// Renders the HTML listing of the directory at `dir_path` (the decoded URL path, e.g.
/// `/docs/`, shown in the title). Entries are sorted with [`sort_entries`] order; names
/// are HTML-escaped, hrefs are [`encode_segment`]ed, directories end in `/`, a `../`
/// link appears except at `/`, sizes use [`human_size`], dates [`format_minute_utc`].
/// A listing cut short says so below the table: "N more entries not shown".
pub fn render_html(dir_path: &str, entries: &[Entry], omitted: Option<Omitted>) -> String {
    let title = escape_html(dir_path);
    let mut out = String::with_capacity(512 + entries.len() * 160);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width\">");
    out.push_str(&format!("<title>Index of {title}</title></head>\n<body>\n"));
    out.push_str(&format!("<h1>Index of {title}</h1>\n"));
    out.push_str("<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n");
    if !dir_path.trim_matches('/').is_empty() {
        out.push_str("<tr><td><a href=\"../\">../</a></td><td>-</td><td></td></tr>\n");
    }
    for e in ordered(entries) {
        let slash = if e.is_dir { "/" } else { "" };
        let size = if e.is_dir {
            "-".to_string()
        } else {
            human_size(e.size)
        };
        out.push_str(&format!(
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td><td>{size}</td><td>{date}</td></tr>\n",
            href = encode_segment(&e.name),
            name = escape_html(&e.name),
            date = format_minute_utc(e.modified),
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(o) = omitted {
        out.push_str(&format!(
            "<p>{} not shown: this folder is too large to list in full.</p>\n",
            capitalise(&o.describe())
        ));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// `s` with its first letter in upper case (ASCII).
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// Renders the JSON listing:
/// `{"path":"/docs/","entries":[{"name":"a","type":"file","size":12,"modified":"..."}],"truncated":false}`.
///
/// A listing cut short has `"truncated":true` and `"omitted":N`, the entries left out
/// (`"omitted_at_least":N` when the server stopped counting too).
///
/// `type` is `"file"` or `"directory"`; `size` is bytes, 0 for directories; `modified`
/// is RFC 3339 UTC to the second (`2024-05-01T12:00:00Z`), chosen over IMF-fixdate
/// because every JSON consumer's date parser reads it. Same order as the HTML form.
pub fn render_json(dir_path: &str, entries: &[Entry], omitted: Option<Omitted>) -> String {
    let mut out = String::with_capacity(64 + entries.len() * 96);
    out.push_str("{\"path\":");
    push_json_string(&mut out, dir_path);
    out.push_str(",\"entries\":[");
    for (i, e) in ordered(entries).into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        push_json_string(&mut out, &e.name);
        let (kind, size) = if e.is_dir {
            ("directory", 0)
        } else {
            ("file", e.size)
        };
        out.push_str(&format!(
            ",\"type\":\"{kind}\",\"size\":{size},\"modified\":\"{}\"}}",
            format_rfc3339(e.modified)
        ));
    }
    out.push(']');
    match omitted {
        None => out.push_str(",\"truncated\":false"),
        Some(o) => {
            let key = if o.at_least {
                "omitted_at_least"
            } else {
                "omitted"
            };
            out.push_str(&format!(",\"truncated\":true,\"{key}\":{}", o.count));
        }
    }
    out.push('}');
    out
}

/// Appends `s` as a JSON string literal (RFC 8259 section 7): `"` and `\` escaped,
/// control characters as `\n`-style or `\u00XX` escapes, everything else (non-ASCII
/// included) passed through as UTF-8.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether the JSON form was asked for. A `format` query parameter decides when present
/// (`format=json` → JSON, any other value → HTML); otherwise `Accept` decides:
/// `application/json` with a non-zero quality at least that of `text/html`. Wildcards
/// (`*/*`, browsers' default) do not count.
///
/// `query` is the part of the target after `?` (a leading `?` is tolerated).
pub fn wants_json(accept: Option<&[u8]>, query: Option<&str>) -> bool {
    let query = query.map(|q| q.strip_prefix('?').unwrap_or(q));
    let format = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(k, _)| *k == "format")
            .map(|(_, v)| v)
    });
    if let Some(v) = format {
        return v.eq_ignore_ascii_case("json");
    }
    let Some(accept) = accept else {
        return false;
    };
    let (mut json, mut html) = (None, None);
    for element in accept.split(|&b| b == b',') {
        let Some((range, q)) = media_range(element) else {
            continue;
        };
        if range.eq_ignore_ascii_case(b"application/json") {
            json.get_or_insert(q);
        } else if range.eq_ignore_ascii_case(b"text/html") {
            html.get_or_insert(q);
        }
    }
    matches!(json, Some(j) if j > 0 && j >= html.unwrap_or(0))
}

/// One `Accept` element's media range and quality; `None` when its `q` is invalid.
fn media_range(element: &[u8]) -> Option<(&[u8], u16)> {
    let mut parts = element.split(|&b| b == b';');
    let range = parts.next()?.trim_ascii();
    let mut q = 1000;
    for param in parts {
        if let Some((name, value)) = split_param(param) {
            if name.eq_ignore_ascii_case(b"q") {
                q = parse_qvalue(value)?;
            }
        }
    }
    Some((range, q))
}

fn split_param(param: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = param.iter().position(|&b| b == b'=')?;
    Some((param[..i].trim_ascii(), param[i + 1..].trim_ascii()))
}

/// Units for [`human_size`], each 1024 times the last.
const SIZE_UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// A size for people: `512 B`, `1.5 KiB`, `4.0 GiB` (binary units, one decimal,
/// truncated so it never rounds up into the next unit).
pub fn human_size(bytes: u64) -> String {
    let mut unit = 0;
    let mut scale: u128 = 1;
    while unit + 1 < SIZE_UNITS.len() && u128::from(bytes) >= scale * 1024 {
        scale *= 1024;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let tenths = u128::from(bytes) * 10 / scale;
    format!("{}.{} {}", tenths / 10, tenths % 10, SIZE_UNITS[unit])
}

/// `t` as `YYYY-MM-DD HH:MM` in UTC, for the HTML listing.
pub fn format_minute_utc(t: SystemTime) -> String {
    let c = crate::wire::date::civil(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `t` as RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` in UTC, for the JSON listing.
pub fn format_rfc3339(t: SystemTime) -> String {
    let c = crate::wire::date::civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn file(name: &str, size: u64) -> Entry {
        Entry {
            name: name.into(),
            is_dir: false,
            size,
            modified: at(784_111_777),
        }
    }

    fn dir(name: &str) -> Entry {
        Entry {
            name: name.into(),
            is_dir: true,
            size: 4096,
            modified: at(0),
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (1024 * 1024 - 1, "1023.9 KiB"),
            (1024 * 1024, "1.0 MiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "15.9 EiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn dates() {
        let cases = [
            (at(0), "1970-01-01 00:00", "1970-01-01T00:00:00Z"),
            (at(784_111_777), "1994-11-06 08:49", "1994-11-06T08:49:37Z"),
            (at(951_782_400), "2000-02-29 00:00", "2000-02-29T00:00:00Z"),
            (
                at(4_107_542_399),
                "2100-02-28 23:59",
                "2100-02-28T23:59:59Z",
            ),
            (
                at(253_402_300_799),
                "9999-12-31 23:59",
                "9999-12-31T23:59:59Z",
            ),
            (
                UNIX_EPOCH - Duration::from_secs(1),
                "1969-12-31 23:59",
                "1969-12-31T23:59:59Z",
            ),
            (
                UNIX_EPOCH - Duration::from_millis(1),
                "1969-12-31 23:59",
                "1969-12-31T23:59:59Z",
            ),
            (
                at(1_700_000_000) + Duration::from_nanos(999_999_999),
                "2023-11-14 22:13",
                "2023-11-14T22:13:20Z",
            ),
        ];
        for (t, minute, rfc) in cases {
            assert_eq!(format_minute_utc(t), minute);
            assert_eq!(format_rfc3339(t), rfc);
        }
    }

    #[test]
    fn json_strings() {
        let cases = [
            ("plain", "\"plain\""),
            ("a\"b\\c", "\"a\\\"b\\\\c\""),
            ("\n\r\t\u{8}\u{c}", "\"\\n\\r\\t\\b\\f\""),
            ("\u{0}\u{1f}\u{7f}", "\"\\u0000\\u001f\u{7f}\""),
            ("café ☃ 😀", "\"café ☃ 😀\""),
            ("</script>", "\"</script>\""),
            ("", "\"\""),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            push_json_string(&mut out, input);
            assert_eq!(out, want, "input {input:?}");
        }
    }

    #[test]
    fn segments_link_back_to_the_name() {
        let cases = [
            ("a b", "a%20b"),
            ("a?b#c", "a%3Fb%23c"),
            ("100%", "100%25"),
            ("\"<x>\"", "%22%3Cx%3E%22"),
            ("javascript:alert(1)", "javascript%3Aalert%281%29"),
            ("//evil.example", "%2F%2Fevil.example"),
            ("café", "caf%C3%A9"),
            ("a-b_c.d~e", "a-b_c.d~e"),
        ];
        for (name, want) in cases {
            assert_eq!(encode_segment(name), want, "{name:?}");
        }
    }

    #[test]
    fn order_and_hidden() {
        let mut v = vec![
            file("b", 1),
            dir("Z"),
            file("A", 1),
            dir("a"),
            file(".env", 1),
            file("a", 1),
        ];
        sort_entries(&mut v);
        let names: Vec<&str> = v.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "Z", ".env", "A", "a", "b"]);
        assert!(v[0].is_dir && v[1].is_dir && !v[2].is_dir);
        retain_visible(&mut v, true);
        assert_eq!(v.len(), 6);
        retain_visible(&mut v, false);
        assert!(v.iter().all(|e| !e.name.starts_with('.')));
        assert_eq!(v.len(), 5);
        assert!(is_hidden(".git") && !is_hidden("a.b") && !is_hidden(""));
    }

    #[test]
    fn html_listing() {
        let entries = vec![
            file("<img src=x onerror=alert(1)>", 10),
            dir("sub dir"),
            file("a?b#c%d\"e", 2048),
            file(".", 0),
            file("..", 0),
            file("", 0),
            file("x/y", 0),
        ];
        let html = render_html("/docs & <stuff>/", &entries, None);
        assert!(html.contains("<title>Index of /docs &amp; &lt;stuff&gt;/</title>"));
        assert!(html.contains("<a href=\"../\">../</a>"));
        assert!(html.contains(
            "<a href=\"sub%20dir/\">sub dir/</a></td><td>-</td><td>1970-01-01 00:00</td>"
        ));
        assert!(html.contains(
            "<a href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\">&lt;img src=x onerror=alert(1)&gt;</a></td><td>10 B</td><td>1994-11-06 08:49</td>"
        ));
        assert!(
            html.contains("<a href=\"a%3Fb%23c%25d%22e\">a?b#c%d&quot;e</a></td><td>2.0 KiB</td>")
        );
        assert!(!html.contains("<img"));
        assert!(
            !html.contains("href=\".\"") && !html.contains("href=\"\"") && !html.contains("x/y")
        );
        // Directories first.
        let sub = html.find("sub%20dir/").unwrap_or(usize::MAX);
        let script = html.find("%3Cimg").unwrap_or(0);
        assert!(sub < script);
        assert_eq!(html.matches("<tr>").count(), 1 + 1 + 3);
    }

    #[test]
    fn no_parent_link_at_root() {
        for root in ["/", "", "//"] {
            let html = render_html(root, &[file("a", 1)], None);
            assert!(!html.contains("../"), "{root:?}");
        }
        assert!(render_html("/a/", &[], None).contains("href=\"../\""));
    }

    /// Issue 9 item 5: a listing cut at its limit said nothing; it now says how many
    /// entries it left out, in both forms.
    #[test]
    fn a_cut_listing_says_how_many_entries_it_left_out() {
        let some = [file("a", 1)];
        let exact = Some(Omitted {
            count: 12,
            at_least: false,
        });
        let html = render_html("/x/", &some, exact);
        assert!(html.contains("<p>12 more entries not shown"), "{html}");
        let json = render_json("/x/", &some, exact);
        assert!(
            json.ends_with("],\"truncated\":true,\"omitted\":12}"),
            "{json}"
        );
        let bound = Some(Omitted {
            count: 1,
            at_least: true,
        });
        assert!(render_html("/x/", &some, bound).contains("At least 1 more entry not shown"));
        assert!(render_json("/x/", &some, bound).ends_with("\"omitted_at_least\":1}"));
    }

    #[test]
    fn json_listing() {
        let entries = vec![file("b\"\n", 5), dir("a"), file(".", 0)];
        let json = render_json("/x/", &entries, None);
        assert_eq!(
            json,
            "{\"path\":\"/x/\",\"entries\":[\
             {\"name\":\"a\",\"type\":\"directory\",\"size\":0,\"modified\":\"1970-01-01T00:00:00Z\"},\
             {\"name\":\"b\\\"\\n\",\"type\":\"file\",\"size\":5,\"modified\":\"1994-11-06T08:49:37Z\"}],\
             \"truncated\":false}"
        );
        assert_eq!(
            render_json("/", &[], None),
            "{\"path\":\"/\",\"entries\":[],\"truncated\":false}"
        );
    }

    #[test]
    fn json_or_html() {
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (None, None, false),
            (Some("application/json"), None, true),
            (Some("APPLICATION/JSON; charset=utf-8"), None, true),
            (Some("text/html, application/json"), None, true),
            (Some("text/html;q=0.9, application/json;q=0.8"), None, false),
            (Some("application/json;q=0"), None, false),
            (Some("application/json;q=nope"), None, false),
            (
                Some("application/json;q=nope, application/json;q=0.5"),
                None,
                true,
            ),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                None,
                false,
            ),
            (Some("*/*"), None, false),
            (Some("application/jsonx"), None, false),
            (Some(""), None, false),
            (None, Some("format=json"), true),
            (None, Some("?format=json"), true),
            (None, Some("a=1&format=JSON&b"), true),
            (None, Some("format=html"), false),
            (Some("application/json"), Some("format=html"), false),
            (Some("application/json"), Some("format"), false),
            (Some("application/json"), Some("formats=html"), true),
            (None, Some("x=format=json"), false),
            (None, Some(""), false),
            (None, Some("&&=&"), false),
        ];
        for (accept, query, want) in cases {
            assert_eq!(
                wants_json(accept.map(str::as_bytes), *query),
                *want,
                "{accept:?} {query:?}"
            );
        }
    }

    /// Names that [`listable`] keeps: no `/`, not empty, not `.` or `..`.
    fn name_strategy() -> impl Strategy<Value = String> {
        "[^/]{1,12}".prop_filter("not a dot name", |s| s != "." && s != "..")
    }

    proptest! {
        #[test]
        fn html_never_lets_a_name_open_a_tag(
            names in proptest::collection::vec((name_strategy(), any::<bool>()), 0..8),
            dir_path in "[^\u{0}]{0,12}",
        ) {
            let entries: Vec<Entry> = names.iter().map(|(n, d)| if *d { dir(n) } else { file(n, 1) }).collect();
            let placeholders: Vec<Entry> = names.iter().map(|(_, d)| if *d { dir("x") } else { file("x", 1) }).collect();
            // Same path, names replaced by a harmless one: any extra `<`, `>` or `"`
            // can only have come from a name.
            let html = render_html(&dir_path, &entries, None);
            let plain = render_html(&dir_path, &placeholders, None);
            for ch in ['<', '>', '"'] {
                prop_assert_eq!(html.matches(ch).count(), plain.matches(ch).count(), "{:?}", ch);
            }
        }

        #[test]
        fn hrefs_decode_to_names(name in name_strategy()) {
            let enc = encode_segment(&name);
            prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded = percent_encoding::percent_decode_str(&enc).decode_utf8().ok();
            prop_assert_eq!(decoded.as_deref(), Some(name.as_str()));
        }

        #[test]
        fn json_strings_have_no_raw_controls(s in any::<String>()) {
            let mut out = String::new();
            push_json_string(&mut out, &s);
            prop_assert!(!out.chars().any(|c| c < ' '));
            prop_assert!(out.starts_with('"') && out.ends_with('"'));
        }
    }
}
