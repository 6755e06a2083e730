//! `[[headers]]` and the `security_headers` preset: response fields added or replaced
//! for matching paths, and the per-glob `Cache-Control` that replaces the global default.

use super::field;
use super::file::HeadersRule;

/// The `security_headers = true` preset, sent with every response unless a matching
/// `[[headers]]` rule sets the same field. A `Content-Security-Policy` depends on the
/// site's own scripts and styles, so it is left to a rule.
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
];

/// A checked headers rule.
#[derive(Debug)]
pub struct Headers {
    /// Fields other than `Cache-Control`, sent with every response for the path.
    pub fields: Vec<(String, String)>,
    /// `Cache-Control` for the path's successful responses (200, 206, 304).
    pub cache_control: Option<std::sync::Arc<str>>,
}

impl Headers {
    /// Checks and compiles one rule.
    pub fn new(rule: &HeadersRule) -> Result<Headers, String> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut cache_control = None;
        for (name, value) in &rule.headers.0 {
            field::check_rule_field(name, value).map_err(|e| format!("field {name:?}: {e}"))?;
            if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(format!("field {name:?} is given twice"));
            }
            if name.eq_ignore_ascii_case("cache-control") {
                cache_control = Some(value.as_str().into());
            } else {
                fields.push((name.clone(), value.clone()));
            }
        }
        if let Some(value) = &rule.cache_control {
            if cache_control.is_some() {
                return Err(
                    "Cache-Control is given twice (in headers and as cache_control)".into(),
                );
            }
            field::check_value(value).map_err(|e| format!("cache_control {value:?}: {e}"))?;
            cache_control = Some(value.as_str().into());
        }
        if fields.is_empty() && cache_control.is_none() {
            return Err(
                "the rule sets no field; add headers = { \"Name\" = \"value\" } or cache_control"
                    .into(),
            );
        }
        Ok(Headers {
            fields,
            cache_control,
        })
    }

    /// Whether this rule sets `name` (so the preset leaves it alone).
    pub fn sets(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::Fields;

    fn rule(fields: &[(&str, &str)], cache_control: Option<&str>) -> HeadersRule {
        HeadersRule {
            source: "/assets/**".into(),
            headers: Fields(
                fields
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            ),
            cache_control: cache_control.map(String::from),
        }
    }

    #[test]
    fn cache_control_is_set_apart_from_the_other_fields() {
        let h = Headers::new(&rule(
            &[
                ("Cache-Control", "public, max-age=31536000, immutable"),
                ("X-A", "1"),
            ],
            None,
        ))
        .unwrap();
        assert_eq!(
            h.cache_control.as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(h.fields, [("X-A".to_string(), "1".to_string())]);
        let h = Headers::new(&rule(&[], Some("no-store"))).unwrap();
        assert_eq!(h.cache_control.as_deref(), Some("no-store"));
        assert!(!h.sets("x-a") && h.fields.is_empty());
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = [
            rule(&[("X-A", "1\r\nX-B: 2")], None),
            rule(&[("X A", "1")], None),
            rule(&[("Content-Length", "5")], None),
            rule(&[("X-A", "1"), ("x-a", "2")], None),
            rule(&[("Cache-Control", "a")], Some("b")),
            rule(&[], Some("a\nb")),
            rule(&[], None),
        ];
        for r in bad {
            assert!(Headers::new(&r).is_err(), "{r:?}");
        }
    }
}
