//! Following redirects (RFC 9110 15.4): which statuses, the next request's method and
//! body, the fields dropped when the origin changes, and the chain kept to explain a loop
//! or a chain that is too long.

use crate::error::{Error, Kind};
use crate::request::{Body, Request};
use crate::target::Location;

/// Default for `--max-redirects`: what curl, HTTPie and browsers allow (at most 20).
pub(crate) const DEFAULT_MAX_REDIRECTS: usize = 10;

/// Fields that carry credentials and never follow a redirect to another origin.
const CREDENTIALS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Fields that describe the body, dropped when the redirect turns the request into a GET.
const BODY_FIELDS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-language",
    "content-location",
    "digest",
];

/// Whether `status` is a redirect the client can follow.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The request that follows `status` from `prev` to `to`: 303 turns anything but HEAD
/// into a GET without body, 301 and 302 turn a POST into one (RFC 9110 15.4.2-4, what
/// browsers and HTTPie do), 307 and 308 keep method and body. Credentials (and a `Host`
/// set by hand) are dropped when the origin changes.
pub(crate) fn next(prev: &Request, status: u16, to: Location) -> Request {
    let mut req = prev.clone();
    let to_get = match status {
        303 => req.method != "HEAD",
        301 | 302 => req.method == "POST",
        _ => false,
    };
    if to_get {
        req.method = "GET".to_string();
        req.body = Body::Empty;
        req.headers
            .retain(|(n, _)| !BODY_FIELDS.iter().any(|b| n.eq_ignore_ascii_case(b)));
    }
    if to.origin != prev.location.origin {
        req.headers.retain(|(n, _)| {
            !CREDENTIALS
                .iter()
                .chain(&["host"])
                .any(|c| n.eq_ignore_ascii_case(c))
        });
    }
    req.location = to;
    req
}

/// One hop of a redirect chain: the method, the URL and the `Cookie` sent, and the
/// status that sent us on.
#[derive(Clone, Debug)]
struct Hop {
    method: String,
    url: String,
    cookie: Option<String>,
    status: u16,
}

/// The hops of a redirect chain so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chain {
    hops: Vec<Hop>,
}

impl Chain {
    /// Records that `from` (sent with `cookie`) answered `status`, and checks the next
    /// request (to be sent with `next_cookie`): an error for a loop or more than `max`
    /// redirects. A loop is the same method and URL with the same cookies again: a
    /// server that sets a cookie and sends the client back (`/a -> /login -> /a`, a
    /// cookie check) is answered differently the second time.
    pub fn push(
        &mut self,
        (from, cookie): (&Request, Option<&str>),
        status: u16,
        (next, next_cookie): (&Request, Option<&str>),
        max: usize,
    ) -> Result<(), Error> {
        self.hops.push(Hop {
            method: from.method.clone(),
            url: from.location.url(),
            cookie: cookie.map(str::to_string),
            status,
        });
        let url = next.location.url();
        let again = self.hops.iter().any(|hop| {
            hop.method == next.method && hop.url == url && hop.cookie.as_deref() == next_cookie
        });
        if again {
            return Err(Error::new(
                Kind::Redirects,
                format!(
                    "redirect loop: {}; the server sends the client in a circle",
                    self.shown(&url)
                ),
            ));
        }
        if self.hops.len() > max {
            return Err(Error::new(
                Kind::Redirects,
                format!(
                    "more than {max} redirects: {}; raise --max-redirects to follow more",
                    self.shown(&url)
                ),
            ));
        }
        Ok(())
    }

    /// `http://a/ (301) -> http://b/ (302) -> http://a/`.
    fn shown(&self, last: &str) -> String {
        let mut out = String::new();
        for hop in &self.hops {
            out.push_str(&format!("{} ({}) -> ", hop.url, hop.status));
        }
        out.push_str(last);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_url;

    fn request(method: &str, url: &str) -> Request {
        Request {
            method: method.into(),
            location: parse_url(url, false).unwrap().0,
            headers: vec![
                ("Authorization".into(), "Basic eA==".into()),
                ("Cookie".into(), "a=1".into()),
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "*/*".into()),
            ],
            body: Body::Bytes(b"{}".to_vec()),
        }
    }

    fn to(url: &str) -> Location {
        parse_url(url, false).unwrap().0
    }

    #[test]
    fn methods_by_status() {
        let post = request("POST", "http://h/form");
        for (status, method, body) in [
            (301, "GET", false),
            (302, "GET", false),
            (303, "GET", false),
            (307, "POST", true),
            (308, "POST", true),
        ] {
            let next = next(&post, status, to("http://h/done"));
            assert_eq!(
                (next.method.as_str(), next.body != Body::Empty),
                (method, body),
                "{status}"
            );
            assert_eq!(next.header("content-type").is_some(), body, "{status}");
        }
        let put = request("PUT", "http://h/x");
        assert_eq!(next(&put, 302, to("http://h/y")).method, "PUT");
        assert_eq!(next(&put, 303, to("http://h/y")).method, "GET");
        assert_eq!(
            next(&request("HEAD", "http://h/"), 303, to("http://h/y")).method,
            "HEAD"
        );
    }

    #[test]
    fn credentials_stay_with_their_origin() {
        let get = request("GET", "http://h/");
        let same = next(&get, 302, to("http://h/elsewhere"));
        assert!(same.header("authorization").is_some() && same.header("cookie").is_some());
        for other in ["http://other/", "http://h:8080/", "https://h/"] {
            let moved = next(&get, 302, to(other));
            assert!(
                moved.header("authorization").is_none() && moved.header("cookie").is_none(),
                "{other}"
            );
            assert!(moved.header("accept").is_some());
        }
    }

    #[test]
    fn loops_and_long_chains_are_errors_with_the_chain() {
        let a = request("GET", "http://h/a");
        let b = request("GET", "http://h/b");
        let mut chain = Chain::default();
        chain.push((&a, None), 302, (&b, None), 10).unwrap();
        let err = chain.push((&b, None), 302, (&a, None), 10).unwrap_err();
        assert_eq!(err.kind, Kind::Redirects);
        assert!(
            err.message
                .contains("http://h/a (302) -> http://h/b (302) -> http://h/a"),
            "{}",
            err.message
        );
        let mut chain = Chain::default();
        let err = (0..3)
            .map(|i| {
                chain.push(
                    (&request("GET", &format!("http://h/{i}")), None),
                    301,
                    (&request("GET", &format!("http://h/{}", i + 1)), None),
                    2,
                )
            })
            .find_map(Result::err)
            .unwrap();
        assert!(
            err.message.starts_with("more than 2 redirects"),
            "{}",
            err.message
        );
    }

    /// A cookie check or a login (`/a -> /login -> /a`) comes back with a cookie the
    /// first visit did not have: not a loop (found by review).
    #[test]
    fn coming_back_with_a_new_cookie_is_not_a_loop() {
        let a = request("GET", "http://h/a");
        let login = request("GET", "http://h/login");
        let mut chain = Chain::default();
        chain.push((&a, None), 302, (&login, None), 10).unwrap();
        chain
            .push((&login, None), 302, (&a, Some("session=1")), 10)
            .unwrap();
        // The same cookies again is a loop.
        let err = chain
            .push((&a, Some("session=1")), 302, (&login, None), 10)
            .unwrap_err();
        assert_eq!(err.kind, Kind::Redirects);
    }
}
