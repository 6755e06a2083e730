//! `[[cors]]`: which other origins may read responses (the Fetch standard's CORS
//! protocol): preflight answers and the fields added to actual responses.

use super::field::{self, is_tchar};
use super::file::CorsRule;

/// A checked CORS rule.
#[derive(Debug)]
pub struct Cors {
    /// Allowed origins, lowercase; empty when any origin is allowed.
    origins: Vec<String>,
    any_origin: bool,
    methods: String,
    headers: Option<String>,
    expose: Option<String>,
    max_age: Option<String>,
    credentials: bool,
}

/// Response fields: (name, value), added in order.
pub type Fields = Vec<(&'static str, String)>;

impl Cors {
    /// Checks and compiles one rule.
    pub fn new(rule: &CorsRule) -> Result<Cors, String> {
        let any_origin = rule.allow_origins.iter().any(|o| o == "*");
        if any_origin && rule.allow_origins.len() > 1 {
            return Err("allow_origins: \"*\" already allows every origin; give it alone".into());
        }
        if rule.allow_origins.is_empty() {
            return Err("allow_origins is empty; list origins such as \"https://app.example.com\", or [\"*\"]".into());
        }
        if any_origin && rule.allow_credentials {
            return Err("allow_credentials = true cannot go with allow_origins = [\"*\"] (browsers refuse it, and echoing any origin would let every site read your users' data); list the origins".into());
        }
        let mut origins = Vec::new();
        if !any_origin {
            for o in &rule.allow_origins {
                origins.push(check_origin(o)?);
            }
        }
        let methods = token_list("allow_methods", &rule.allow_methods, false)?
            .ok_or("allow_methods is empty; list methods such as [\"GET\", \"PUT\"]")?;
        Ok(Cors {
            origins,
            any_origin,
            methods,
            headers: token_list(
                "allow_headers",
                &rule.allow_headers,
                !rule.allow_credentials,
            )?,
            expose: token_list(
                "expose_headers",
                &rule.expose_headers,
                !rule.allow_credentials,
            )?,
            max_age: rule.max_age.map(|s| s.to_string()),
            credentials: rule.allow_credentials,
        })
    }

    /// Whether the response depends on the request's `Origin` (then caches must key on it).
    fn varies(&self) -> bool {
        !self.any_origin || self.credentials
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allow_origin(&self, origin: Option<&[u8]>) -> Option<String> {
        let origin = origin?;
        if self.any_origin {
            return Some("*".into());
        }
        let origin = std::str::from_utf8(origin).ok()?;
        self.origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_ascii_lowercase())
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`), sent with 204, always with `Vary: Origin`. A
    /// refused origin gets no `Access-Control-*` field, which the browser reads as a
    /// refusal.
    pub fn preflight(&self, origin: Option<&[u8]>) -> Fields {
        let mut fields: Fields = vec![("Vary", "Origin".into())];
        if let Some(allow) = self.allow_origin(origin) {
            fields.push(("Access-Control-Allow-Origin", allow));
            if self.credentials {
                fields.push(("Access-Control-Allow-Credentials", "true".into()));
            }
            fields.push(("Access-Control-Allow-Methods", self.methods.clone()));
            if let Some(h) = &self.headers {
                fields.push(("Access-Control-Allow-Headers", h.clone()));
            }
            if let Some(age) = &self.max_age {
                fields.push(("Access-Control-Max-Age", age.clone()));
            }
        }
        fields
    }

    /// Fields for an actual (non-preflight) response, whatever its status. `Vary: Origin`
    /// is in the second list: it must join any other `Vary` value.
    pub fn actual(&self, origin: Option<&[u8]>) -> (Fields, Option<&'static str>) {
        let mut fields: Fields = Vec::new();
        if let Some(allow) = self.allow_origin(origin) {
            fields.push(("Access-Control-Allow-Origin", allow));
            if self.credentials {
                fields.push(("Access-Control-Allow-Credentials", "true".into()));
            }
            if let Some(e) = &self.expose {
                fields.push(("Access-Control-Expose-Headers", e.clone()));
            }
        }
        (fields, self.varies().then_some("Origin"))
    }
}

/// Whether a request is a CORS preflight (Fetch standard, "CORS-preflight request").
pub fn is_preflight(method: &str, origin: Option<&[u8]>, request_method: Option<&[u8]>) -> bool {
    method == "OPTIONS" && origin.is_some() && request_method.is_some()
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn check_origin(o: &str) -> Result<String, String> {
    field::check_value(o).map_err(|e| format!("origin {o:?}: {e}"))?;
    let Some((scheme, rest)) = o.split_once("://") else {
        return Err(format!("origin {o:?} needs a scheme, such as https://{o}"));
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        return Err(format!("origin {o:?} is not scheme://host[:port]"));
    }
    if rest.contains(['/', '?', '#', ' ', '@', '*']) {
        return Err(format!(
            "origin {o:?} must be scheme://host[:port] with no path (browsers send https://app.example.com, never a trailing /)"
        ));
    }
    Ok(o.to_ascii_lowercase())
}

/// A list of tokens joined for a field (`*` allowed alone when `star` is).
fn token_list(key: &str, items: &[String], star: bool) -> Result<Option<String>, String> {
    for item in items {
        if item == "*" {
            if !star {
                return Err(format!(
                    "{key}: \"*\" is taken literally by browsers when credentials are allowed; list the names"
                ));
            }
            continue;
        }
        if item.is_empty() || !item.bytes().all(is_tchar) {
            return Err(format!("{key}: {item:?} is not a method or field name"));
        }
    }
    Ok((!items.is_empty()).then(|| items.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], credentials: bool) -> CorsRule {
        CorsRule {
            source: "/api/**".into(),
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["Content-Type".into()],
            expose_headers: vec!["ETag".into()],
            max_age: Some(600),
            allow_credentials: credentials,
        }
    }

    fn names(f: &Fields) -> Vec<&str> {
        f.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn preflight_from_an_allowed_origin_gets_every_field() {
        let c = Cors::new(&rule(&["http://127.0.0.1:8080"], false)).unwrap();
        let f = c.preflight(Some(b"http://127.0.0.1:8080"));
        assert_eq!(
            f,
            [
                ("Vary", "Origin".to_string()),
                (
                    "Access-Control-Allow-Origin",
                    "http://127.0.0.1:8080".to_string()
                ),
                ("Access-Control-Allow-Methods", "GET, PUT".to_string()),
                ("Access-Control-Allow-Headers", "Content-Type".to_string()),
                ("Access-Control-Max-Age", "600".to_string()),
            ]
        );
    }

    #[test]
    fn a_refused_origin_gets_no_access_control_fields() {
        let c = Cors::new(&rule(&["http://127.0.0.1:8080"], true)).unwrap();
        let only_vary: Fields = vec![("Vary", "Origin".to_string())];
        assert_eq!(c.preflight(Some(b"http://evil.example")), only_vary);
        assert_eq!(
            c.preflight(Some(b"http://127.0.0.1:8080.evil.example")),
            only_vary
        );
        assert_eq!(c.preflight(Some(b"null")), only_vary);
        assert_eq!(c.preflight(None), only_vary);
        let (fields, vary) = c.actual(Some(b"http://evil.example"));
        assert!(fields.is_empty());
        assert_eq!(vary, Some("Origin"), "the answer still varies by origin");
    }

    #[test]
    fn any_origin_is_a_star_and_does_not_vary() {
        let c = Cors::new(&rule(&["*"], false)).unwrap();
        let (fields, vary) = c.actual(Some(b"https://anyone.example"));
        assert_eq!(
            names(&fields),
            [
                "Access-Control-Allow-Origin",
                "Access-Control-Expose-Headers"
            ]
        );
        assert_eq!(fields[0].1, "*");
        assert_eq!(vary, None);
        let (fields, _) = c.actual(None);
        assert!(fields.is_empty(), "no Origin, not a CORS request");
    }

    #[test]
    fn credentials_echo_the_origin_and_say_so() {
        let c = Cors::new(&rule(&["https://app.example.com"], true)).unwrap();
        let (fields, vary) = c.actual(Some(b"https://APP.example.com"));
        assert_eq!(
            fields[0],
            (
                "Access-Control-Allow-Origin",
                "https://app.example.com".to_string()
            )
        );
        assert_eq!(
            fields[1],
            ("Access-Control-Allow-Credentials", "true".to_string())
        );
        assert_eq!(vary, Some("Origin"));
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(Cors::new(&rule(&["*"], true))
            .unwrap_err()
            .contains("cannot go with"));
        assert!(Cors::new(&rule(&[], false)).unwrap_err().contains("empty"));
        assert!(Cors::new(&rule(&["*", "https://a"], false)).is_err());
        assert!(Cors::new(&rule(&["https://a.example/"], false))
            .unwrap_err()
            .contains("no path"));
        assert!(Cors::new(&rule(&["a.example"], false))
            .unwrap_err()
            .contains("needs a scheme"));
        assert!(Cors::new(&rule(&["https://a\r\nX: y"], false)).is_err());
        let mut r = rule(&["https://a"], true);
        r.allow_headers = vec!["*".into()];
        assert!(Cors::new(&r).is_err());
        let mut r = rule(&["https://a"], false);
        r.allow_methods = vec!["GE T".into()];
        assert!(Cors::new(&r).is_err());
    }

    #[test]
    fn preflights_are_options_with_origin_and_a_method() {
        assert!(is_preflight("OPTIONS", Some(b"https://a"), Some(b"PUT")));
        assert!(!is_preflight("OPTIONS", Some(b"https://a"), None));
        assert!(!is_preflight("OPTIONS", None, Some(b"PUT")));
        assert!(!is_preflight("GET", Some(b"https://a"), Some(b"PUT")));
    }
}
