//! Site rules from the config file: headers, redirects, CORS, Basic auth and the SPA
//! fallback, matched by path glob on the sanitised request path.
//!
//! [`Rules`] is pure logic: it takes a method, the rule path ([`glob::rule_path`]), a
//! field lookup, the peer address and the time, and gives decisions (a redirect, a
//! preflight answer, a challenge) and the fields to add. The handler calls it as steps
//! of its pipeline, so every response (files, listings, errors, compressed twins) is
//! treated alike. Within each kind the first matching rule in file order applies.

pub mod auth;
pub mod cors;
pub mod fallback;
pub mod field;
pub mod file;
pub mod glob;
pub mod hash_password;
pub mod headers;
pub mod limiter;
pub mod redirects;

use crate::config::Config;
use auth::{Auth, Outcome};
use cors::Cors;
use glob::Matcher;
use headers::{Headers, SECURITY_HEADERS};
use limiter::Limiter;
use redirects::Redirect;
use shared::StatusCode;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The compiled rules and the site-wide settings they complete.
#[derive(Debug)]
pub struct Rules {
    headers: Kind<Headers>,
    redirects: Vec<Redirect>,
    cors: Kind<Cors>,
    auth: Kind<Auth>,
    security_headers: bool,
    /// Shared, so each response carries it without a copy.
    cache_control: Arc<str>,
    fallback: Option<String>,
    limiter: Arc<Limiter>,
}

/// The rules of one kind and the globs that pick among them.
#[derive(Debug)]
struct Kind<R> {
    matcher: Matcher,
    rules: Vec<R>,
}

impl<R> Kind<R> {
    fn new<T>(
        kind: &'static str,
        items: &[T],
        source: impl Fn(&T) -> &str,
        compile: impl Fn(&T) -> Result<R, String>,
    ) -> Result<Kind<R>, RuleError> {
        let matcher = Matcher::new(items.iter().map(&source))
            .map_err(|(index, message)| RuleError::at(kind, index, message))?;
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, item)| compile(item).map_err(|m| RuleError::at(kind, i, m)))
            .collect::<Result<_, _>>()?;
        Ok(Kind { matcher, rules })
    }

    fn first(&self, path: &str) -> Option<&R> {
        self.matcher.first(path).map(|i| &self.rules[i])
    }

    fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A rule the server cannot use, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The table kind (`headers`, ...), or `""` for a site-wide setting.
    pub kind: &'static str,
    /// Which rule of that kind, from 0 in file order.
    pub index: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl RuleError {
    fn at(kind: &'static str, index: usize, message: String) -> RuleError {
        RuleError {
            kind,
            index,
            message,
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "[[{}]] rule {}: {}",
                self.kind,
                self.index + 1,
                self.message
            )
        }
    }
}

impl std::error::Error for RuleError {}

impl Rules {
    /// Compiles the rules of `config`; `previous` (on reload) hands over the record of
    /// failed logins, so a reload does not reset anyone's limit.
    pub fn build(config: &Config, previous: Option<&Rules>) -> Result<Rules, RuleError> {
        let site = &config.site;
        if !site.auth.is_empty() && !config.allow_insecure_auth && !serves_https(config) {
            return Err(RuleError::at(
                "",
                0,
                "[[auth]] rules would send passwords in cleartext over plain HTTP; serve HTTPS, or set allow_insecure_auth = true (for a TLS proxy in front, or a trusted network)".into(),
            ));
        }
        Ok(Rules {
            headers: Kind::new("headers", &site.headers, |r| &r.source, Headers::new)?,
            redirects: site
                .redirects
                .iter()
                .enumerate()
                .map(|(i, r)| Redirect::new(r).map_err(|m| RuleError::at("redirects", i, m)))
                .collect::<Result<_, _>>()?,
            cors: Kind::new("cors", &site.cors, |r| &r.source, Cors::new)?,
            auth: Kind::new("auth", &site.auth, |r| &r.source, Auth::new)?,
            security_headers: config.security_headers,
            cache_control: config.cache_control.as_str().into(),
            fallback: config.fallback.clone(),
            limiter: previous.map_or_else(Default::default, |p| p.limiter.clone()),
        })
    }

    /// Whether any rule depends on the request's path: a glob of any kind, or the
    /// fallback. Without one, every path is covered alike (by nothing but the site-wide
    /// settings), and the handler need not build a rule path at all.
    pub fn look_at_paths(&self) -> bool {
        !(self.headers.is_empty()
            && self.redirects.is_empty()
            && self.cors.is_empty()
            && self.auth.is_empty()
            && self.fallback.is_none())
    }

    /// The rules covering `path` (a [`glob::rule_path`]), looked up once per request.
    pub fn matched(&self, path: &str) -> Matched<'_> {
        Matched {
            rules: self,
            headers: self.headers.first(path),
            cors: self.cors.first(path),
            auth: self.auth.first(path),
        }
    }

    /// The first redirect whose source matches `path`: its status and `Location`.
    /// `query` gives the request's query, looked for only when there are redirects.
    pub fn redirect<'q>(
        &self,
        path: &str,
        query: impl FnOnce() -> Option<&'q str>,
    ) -> Option<(StatusCode, String)> {
        if self.redirects.is_empty() {
            return None;
        }
        let query = query();
        self.redirects.iter().find_map(|r| r.location(path, query))
    }

    /// The fallback file (relative to the root) for a missing `path`, if one is set and
    /// the path does not look like a file.
    pub fn fallback(&self, path: &str) -> Option<&str> {
        self.fallback.as_deref().filter(|_| fallback::applies(path))
    }

    /// The global `Cache-Control`, for what no rule covers.
    pub fn default_cache_control(&self) -> &str {
        &self.cache_control
    }
}

/// Whether the server answers over TLS, so passwords are not sent in cleartext.
fn serves_https(config: &Config) -> bool {
    config.tls_cert.is_some()
}

/// The rules of each kind that cover one request path.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'r> {
    rules: &'r Rules,
    headers: Option<&'r Headers>,
    cors: Option<&'r Cors>,
    auth: Option<&'r Auth>,
}

/// The fields rules add to a response.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Edits<'r> {
    /// Fields to send, each replacing any field of the same name.
    pub set: Vec<(&'r str, &'r str)>,
    /// CORS fields (their values depend on the request's `Origin`).
    pub cors: cors::Fields,
    /// A name to join to `Vary` (`Origin`).
    pub vary: Option<&'static str>,
    /// `Cache-Control` for a successful response (empty: send none).
    pub cache_control: Option<&'r Arc<str>>,
}

impl<'r> Matched<'r> {
    /// For a CORS preflight to a covered path: the fields of its 204 answer.
    pub fn preflight(
        &self,
        method: &str,
        origin: Option<&[u8]>,
        request_method: Option<&[u8]>,
    ) -> Option<cors::Fields> {
        let cors = self.cors?;
        cors::is_preflight(method, origin, request_method).then(|| cors.preflight(origin))
    }

    /// Basic auth for a covered path (`Allowed` when none covers it).
    pub fn auth(&self, authorization: Option<&[u8]>, peer: IpAddr, now: Instant) -> Outcome {
        match self.auth {
            Some(a) => a.check(authorization, peer, now, &self.rules.limiter),
            None => Outcome::Allowed,
        }
    }

    /// Whether an auth rule covers the path.
    pub fn is_protected(&self) -> bool {
        self.auth.is_some()
    }

    /// The fields of the `[[headers]]` rule alone (with its own `Cache-Control` on a
    /// success), for a file served under another path's URL: that path's
    /// [`Matched::edits`] come first, and these replace fields of the same name.
    pub fn file_edits(&self, status: StatusCode) -> Edits<'r> {
        let mut edits = Edits::default();
        if let Some(h) = self.headers {
            edits
                .set
                .extend(h.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            if matches!(status.0, 200 | 206 | 304) {
                edits.cache_control = h.cache_control.as_ref();
            }
        }
        edits
    }

    /// The fields for a response with `status` to a request with this `Origin`.
    /// `Cache-Control` (a rule's, else the global one) goes with successful responses
    /// only, so an error is never cached as long as an asset.
    pub fn edits(&self, status: StatusCode, origin: Option<&[u8]>) -> Edits<'r> {
        let mut edits = Edits::default();
        if self.rules.security_headers {
            for (name, value) in SECURITY_HEADERS {
                if !self.headers.is_some_and(|h| h.sets(name)) {
                    edits.set.push((name, value));
                }
            }
        }
        if let Some(h) = self.headers {
            edits
                .set
                .extend(h.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        }
        if let Some(c) = self.cors {
            let (fields, vary) = c.actual(origin);
            edits.cors = fields;
            edits.vary = vary;
        }
        let success = matches!(status.0, 200 | 206 | 304);
        if success {
            let value = self
                .headers
                .and_then(|h| h.cache_control.as_ref())
                .unwrap_or(&self.rules.cache_control);
            edits.cache_control = (!value.is_empty()).then_some(value);
        }
        edits
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
