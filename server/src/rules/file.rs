//! The site rules as written in the config file: `[[headers]]`, `[[redirects]]`,
//! `[[cors]]` and `[[auth]]` tables, before they are checked and compiled.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Every rule table of the file, in file order within each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRules {
    /// `[[headers]]`: response fields added or replaced for matching paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeadersRule>,
    /// `[[redirects]]`: matching paths answered with a redirect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<RedirectRule>,
    /// `[[cors]]`: cross-origin access for matching paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors: Vec<CorsRule>,
    /// `[[auth]]`: Basic authentication for matching paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<AuthRule>,
}

impl SiteRules {
    /// Whether the file had no rule tables.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
            && self.redirects.is_empty()
            && self.cors.is_empty()
            && self.auth.is_empty()
    }
}

/// The rule kinds and the keys each table accepts, for the unknown-key check (a unit
/// test keeps these lists and the structs below in step).
pub const KINDS: [(&str, &[&str]); 4] = [
    ("headers", &["source", "headers", "cache_control"]),
    ("redirects", &["source", "destination", "status"]),
    (
        "cors",
        &[
            "source",
            "allow_origins",
            "allow_methods",
            "allow_headers",
            "expose_headers",
            "max_age",
            "allow_credentials",
        ],
    ),
    ("auth", &["source", "realm", "users"]),
];

/// `[[headers]]`: fields for responses to paths matching `source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersRule {
    /// Path glob.
    pub source: String,
    /// Fields to add, replacing any the server would send under the same name.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub headers: Fields,
    /// Shorthand for a `Cache-Control` field: replaces the global `cache_control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
}

/// `[[redirects]]`: `source` answered with a redirect to `destination`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectRule {
    /// Path glob; each `*`, `**` and `?` captures, in order, as `$1`..`$9`.
    pub source: String,
    /// A local path (`/new/$1`) or an absolute `http(s)://` URL written in the file.
    pub destination: String,
    /// 301, 302, 307 or 308.
    #[serde(default = "default_redirect_status")]
    pub status: u16,
}

/// The redirect status when none is written: temporary, so a mistake in the file is not
/// cached by browsers forever (Caddy's `redir` chooses the same).
pub const DEFAULT_REDIRECT_STATUS: u16 = 302;

fn default_redirect_status() -> u16 {
    DEFAULT_REDIRECT_STATUS
}

/// `[[cors]]`: which other origins may read responses for `source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsRule {
    /// Path glob.
    pub source: String,
    /// Origins such as `https://app.example.com`, or `["*"]` for any.
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Methods a preflight may ask for.
    #[serde(default = "default_cors_methods")]
    pub allow_methods: Vec<String>,
    /// Request fields a preflight may ask for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    /// Response fields scripts may read beyond the CORS-safelisted ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Whether requests with cookies or HTTP authentication may be read.
    #[serde(default)]
    pub allow_credentials: bool,
}

fn default_cors_methods() -> Vec<String> {
    vec!["GET".to_string(), "HEAD".to_string()]
}

/// `[[auth]]`: Basic authentication for `source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthRule {
    /// Path glob.
    pub source: String,
    /// The realm the browser shows.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// User name → argon2 PHC hash (from `server hash-password`).
    pub users: Fields,
}

/// The realm when none is written.
pub const DEFAULT_REALM: &str = "restricted";

fn default_realm() -> String {
    DEFAULT_REALM.to_string()
}

/// A TOML table of strings (in the TOML reader's order: sorted by key; the order of
/// fields with different names carries no meaning, RFC 9110 section 5.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of strings, such as { \"X-Frame-Options\" = \"DENY\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table with every listed key deserialises: the key lists match the structs.
    #[test]
    fn key_lists_match_the_structs() {
        let text = r#"
[[headers]]
source = "/a"
headers = { X = "1" }
cache_control = "no-store"

[[redirects]]
source = "/b"
destination = "/c"
status = 308

[[cors]]
source = "/d"
allow_origins = ["*"]
allow_methods = ["GET"]
allow_headers = ["X"]
expose_headers = ["Y"]
max_age = 5
allow_credentials = false

[[auth]]
source = "/e"
realm = "r"
users = { a = "h" }
"#;
        let rules: SiteRules = toml::from_str(text).unwrap();
        assert_eq!(
            (
                rules.headers.len(),
                rules.redirects.len(),
                rules.cors.len(),
                rules.auth.len()
            ),
            (1, 1, 1, 1)
        );
        for (kind, keys) in KINDS {
            let one = format!("[[{kind}]]\nsource = \"/x\"\nbogus = 1\n");
            let err = toml::from_str::<SiteRules>(&one).unwrap_err().to_string();
            for key in keys {
                assert!(err.contains(key), "{kind}: {key} missing from {err}");
            }
        }
    }
}
