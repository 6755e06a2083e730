//! Content-coding negotiation (RFC 9110 section 12.5.3): reading `Accept-Encoding`
//! weights and choosing among the precompressed variants (`x.br`, `x.zst`, `x.gz`) that
//! sit beside a file.
//!
//! Whenever a file has any variant, every response for it (identity included) must
//! carry `Vary: Accept-Encoding`, and each variant needs its own `ETag`
//! (see [`crate::site::validators::strong_etag`] with [`Coding::token`]).

/// A content coding the server can serve from a precompressed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Brotli (RFC 7932), file suffix `.br`.
    Br,
    /// Zstandard (RFC 8878), file suffix `.zst`.
    Zstd,
    /// Gzip (RFC 1952), file suffix `.gz`.
    Gzip,
}

impl Coding {
    /// Every coding, in server preference order (smallest output first); used to break
    /// ties between equal q-values.
    pub const PREFERENCE: [Coding; 3] = [Coding::Br, Coding::Zstd, Coding::Gzip];

    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The file-name suffix of the precompressed variant, with its dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Coding::Br => ".br",
            Coding::Zstd => ".zst",
            Coding::Gzip => ".gz",
        }
    }

    /// The coding named by a token, case-insensitive; `x-gzip` is `gzip`
    /// (RFC 9110 section 8.4.1.3).
    pub fn from_token(token: &[u8]) -> Option<Coding> {
        Coding::PREFERENCE
            .into_iter()
            .find(|c| token.eq_ignore_ascii_case(c.token().as_bytes()))
            .or_else(|| {
                token
                    .eq_ignore_ascii_case(b"x-gzip")
                    .then_some(Coding::Gzip)
            })
    }

    /// The path of this coding's variant of `path` (`a/x.css` → `a/x.css.br`).
    pub fn variant_path(self, path: &str) -> String {
        format!("{path}{}", self.suffix())
    }
}

/// A quality value in thousandths: `q=0.5` is 500, `q=1` is 1000, `0` means "not
/// acceptable" (RFC 9110 section 12.4.2).
pub type Quality = u16;

/// The quality of an element without a `q` parameter.
pub const DEFAULT_QUALITY: Quality = 1000;

/// One element of `Accept-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodingWeight<'a> {
    /// The coding token as sent (`gzip`, `*`, `identity`, ...).
    pub coding: &'a [u8],
    /// Its quality.
    pub q: Quality,
}

/// The elements of one `Accept-Encoding` value, in order. Elements whose coding is not
/// a token or whose `q` is not a valid qvalue (`q=2`, `q=0.5000`, `q=abc`) are skipped
/// as if absent; parameters other than `q` are ignored.
pub fn accept_encoding_weights(value: &[u8]) -> impl Iterator<Item = CodingWeight<'_>> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
        .filter_map(parse_element)
}

/// Parses `coding *( OWS ";" OWS name "=" value )`.
fn parse_element(element: &[u8]) -> Option<CodingWeight<'_>> {
    let mut parts = element.split(|&b| b == b';');
    let coding = parts.next()?.trim_ascii();
    if coding.is_empty() || !coding.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let mut q = DEFAULT_QUALITY;
    for param in parts {
        let param = param.trim_ascii();
        let (name, value) = match param.iter().position(|&b| b == b'=') {
            Some(i) => (param[..i].trim_ascii(), param[i + 1..].trim_ascii()),
            None => (param, &b""[..]),
        };
        if name.eq_ignore_ascii_case(b"q") {
            q = parse_qvalue(value)?;
        }
    }
    Some(CodingWeight { coding, q })
}

/// Parses a qvalue: `0`, `0.` to `0.999`, `1`, `1.` to `1.000` (RFC 9110 section 12.4.2).
pub fn parse_qvalue(s: &[u8]) -> Option<Quality> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let thousandths = frac
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(3)
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// RFC 9110 section 5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Chooses which precompressed variant to send, or `None` for identity.
///
/// `fields` are the values of every `Accept-Encoding` line (pass
/// `request.headers_named("accept-encoding")`); `available` the variants that exist.
/// A coding's quality is that of its own element, else of `*`, else 0; the highest
/// non-zero quality wins, ties going to [`Coding::PREFERENCE`] order. Identity wins only
/// when the client listed `identity` explicitly with a higher quality than every coding.
///
/// Choices: with no `Accept-Encoding` at all we send identity (RFC 9110 allows any
/// coding, but clients that omit the field, like plain `curl`, rarely decode). When the
/// client refuses identity (`identity;q=0`, `*;q=0`) and no variant is acceptable we
/// still send identity rather than 406 (section 12.5.3 permits it).
pub fn negotiate<'a>(
    fields: impl IntoIterator<Item = &'a [u8]>,
    available: &[Coding],
) -> Option<Coding> {
    let mut explicit: [Option<Quality>; 3] = [None; 3];
    let mut identity: Option<Quality> = None;
    let mut star: Option<Quality> = None;
    for w in fields.into_iter().flat_map(accept_encoding_weights) {
        let slot = if w.coding == b"*" {
            &mut star
        } else if w.coding.eq_ignore_ascii_case(b"identity") {
            &mut identity
        } else if let Some(c) = Coding::from_token(w.coding) {
            &mut explicit[rank(c)]
        } else {
            continue;
        };
        // The first element naming a coding decides its quality.
        slot.get_or_insert(w.q);
    }
    let mut best: Option<(Coding, Quality)> = None;
    for c in Coding::PREFERENCE {
        if !available.contains(&c) {
            continue;
        }
        let q = explicit[rank(c)].or(star).unwrap_or(0);
        let better = match best {
            None => true,
            Some((_, b)) => q > b,
        };
        if q > 0 && better {
            best = Some((c, q));
        }
    }
    match (best, identity) {
        (Some((_, q)), Some(iq)) if iq > q => None,
        (Some((c, _)), _) => Some(c),
        (None, _) => None,
    }
}

/// Index of `c` in [`Coding::PREFERENCE`].
fn rank(c: Coding) -> usize {
    match c {
        Coding::Br => 0,
        Coding::Zstd => 1,
        Coding::Gzip => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Coding::*;

    const ALL: &[Coding] = &[Gzip, Zstd, Br];

    #[test]
    fn qvalues() {
        let cases: &[(&str, Option<Quality>)] = &[
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.001", Some(1)),
            ("0.999", Some(999)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            ("01", None),
            ("-0", None),
            ("", None),
            (".5", None),
            ("0.5x", None),
            ("0x1", None),
            ("1e0", None),
            (" 0.5", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_qvalue(input.as_bytes()), *want, "input {input:?}");
        }
    }

    #[test]
    fn weights() {
        let got: Vec<(String, Quality)> = accept_encoding_weights(
            b" br;q=0.9 ,gzip, *;q=0,, x;q=bad, deflate ; Q = 0.1 ;level=9, ;q=1, a b",
        )
        .map(|w| (String::from_utf8_lossy(w.coding).into_owned(), w.q))
        .collect();
        let want: Vec<(String, Quality)> = vec![
            ("br".into(), 900),
            ("gzip".into(), 1000),
            ("*".into(), 0),
            ("deflate".into(), 100),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn negotiation_table() {
        let cases: &[(&[&str], &[Coding], Option<Coding>)] = &[
            // No field: identity. Empty field: only identity acceptable.
            (&[], ALL, None),
            (&[""], ALL, None),
            // Browser-typical values.
            (&["gzip, deflate, br, zstd"], ALL, Some(Br)),
            (&["gzip, deflate, br, zstd"], &[Gzip, Zstd], Some(Zstd)),
            (&["gzip, deflate"], ALL, Some(Gzip)),
            (&["gzip, deflate"], &[Br], None),
            (&["deflate"], ALL, None),
            // q-values beat server preference; ties go to br > zstd > gzip.
            (&["br;q=0.9, gzip"], ALL, Some(Gzip)),
            (&["br;q=0.9, gzip;q=0.9, zstd;q=0.9"], ALL, Some(Br)),
            (&["gzip;q=0.5, zstd;q=0.5"], ALL, Some(Zstd)),
            (&["br;q=0, gzip;q=0.001"], ALL, Some(Gzip)),
            (&["br;q=0, gzip;q=0"], ALL, None),
            // `*` covers unnamed codings; explicit entries override it.
            (&["*"], ALL, Some(Br)),
            (&["*;q=0.5, gzip"], ALL, Some(Gzip)),
            (&["*;q=0"], ALL, None),
            (&["*, br;q=0"], ALL, Some(Zstd)),
            (&["br;q=0.9, gzip, *;q=0"], ALL, Some(Gzip)),
            (&["br;q=0.9, gzip, *;q=0"], &[Br, Zstd], Some(Br)),
            // Identity only wins when listed explicitly with a higher weight.
            (&["gzip;q=0.5, identity"], ALL, None),
            (&["gzip;q=0.5, identity;q=0.5"], ALL, Some(Gzip)),
            (&["gzip;q=0.5"], ALL, Some(Gzip)),
            (&["identity;q=0"], ALL, None),
            (&["identity;q=0, gzip"], ALL, Some(Gzip)),
            // Case, aliases, whitespace, repeated fields.
            (&["GZIP"], ALL, Some(Gzip)),
            (&["x-gzip"], ALL, Some(Gzip)),
            (&["Br ;Q=1"], ALL, Some(Br)),
            (&["\tgzip\t,\tbr\t"], ALL, Some(Br)),
            (&["gzip", "br"], ALL, Some(Br)),
            (&["br;q=0", "br"], ALL, None),
            // Invalid q: the element is skipped.
            (&["br;q=2, gzip"], ALL, Some(Gzip)),
            (&["br;q=abc"], ALL, None),
            (&["br;q="], ALL, None),
            (&["br;q"], ALL, None),
            (&["br;q=0.5;q=bad, gzip;q=0.1"], ALL, Some(Gzip)),
            // Garbage.
            (&[",,,"], ALL, None),
            (&["br gzip"], ALL, None),
            (&["\"br\""], ALL, None),
            (&["gzip"], &[], None),
        ];
        for (fields, available, want) in cases {
            let got = negotiate(fields.iter().map(|f| f.as_bytes()), available);
            assert_eq!(got, *want, "{fields:?} with {available:?}");
        }
    }

    #[test]
    fn coding_names_and_suffixes() {
        for c in Coding::PREFERENCE {
            assert_eq!(Coding::from_token(c.token().as_bytes()), Some(c));
            assert_eq!(
                Coding::from_token(c.token().to_uppercase().as_bytes()),
                Some(c)
            );
        }
        assert_eq!(Br.suffix(), ".br");
        assert_eq!(Zstd.suffix(), ".zst");
        assert_eq!(Gzip.suffix(), ".gz");
        assert_eq!(Gzip.variant_path("a/x.css"), "a/x.css.gz");
        assert_eq!(Coding::from_token(b"deflate"), None);
        assert_eq!(Coding::from_token(b"x-br"), None);
        assert_eq!(Coding::from_token(b""), None);
    }

    proptest! {
        #[test]
        fn negotiate_never_panics_and_picks_available(
            value in proptest::collection::vec(any::<u8>(), 0..80),
            mask in 0usize..8,
        ) {
            let available: Vec<Coding> = Coding::PREFERENCE
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| c)
                .collect();
            if let Some(c) = negotiate([&value[..]], &available) {
                prop_assert!(available.contains(&c));
            }
        }
    }
}
