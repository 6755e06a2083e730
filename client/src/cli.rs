//! The command line: `client URL [ITEM...]`, the assignment's `client HOST PORT [PATH]
//! [ITEM...]`, and the flags a curl or HTTPie user reaches for, parsed by clap; then
//! which of the two forms was meant.

use crate::error::exit;
use crate::redirect::DEFAULT_MAX_REDIRECTS;
use crate::target::{looks_like_url, parse_url, target, Location, Origin, Scheme, UserInfo};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Default for `--timeout`, in seconds: long enough for a slow server on a bad network,
/// short enough that a hung request gives the prompt back within a coffee sip.
pub(crate) const DEFAULT_TIMEOUT_SECS: f64 = 30.0;

/// Shortest `--timeout` accepted, in seconds: a socket timeout is set in whole
/// microseconds at best and zero means "never", so anything shorter cannot be honoured.
const MIN_TIMEOUT_SECS: f64 = 0.001;

/// Longest `--timeout` accepted, in seconds (one day): `Duration` cannot hold every f64,
/// and nothing interactive needs to wait longer.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--pretty`: how JSON bodies are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrettyArg {
    /// Indent and colour.
    All,
    /// Colour only.
    Colors,
    /// Indent only.
    Format,
    /// As received.
    None,
}

/// An HTTP/1.1 client: one request like curl or HTTPie, or a session like a shell.
///
/// With a URL, or HOST PORT PATH, it sends one request and exits; with HOST PORT alone it
/// opens an interactive REPL.
#[derive(Debug, Parser)]
#[command(
    name = "client",
    version,
    after_help = crate::usage::AFTER_HELP,
    override_usage = "client [OPTIONS] URL [ITEM...]\n       client [OPTIONS] HOST PORT [PATH [ITEM...]]"
)]
pub(crate) struct Args {
    /// URL [ITEM...], or HOST PORT [PATH [ITEM...]].
    #[arg(value_name = "WORDS", required = true)]
    pub words: Vec<String>,

    /// The method, any token (default GET, or POST with a body).
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,

    /// A header, curl style: -H 'Accept: text/html' (repeatable; 'Name:' drops one).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// The raw body: TEXT, @FILE, or @- for standard input (curl's -d).
    #[arg(short, long, value_name = "TEXT|@FILE|@-")]
    pub data: Option<String>,

    /// Send name=value fields as a form (application/x-www-form-urlencoded), not JSON.
    #[arg(short, long)]
    pub form: bool,

    /// Basic authentication; asks for the password (without echo) when it is left out.
    #[arg(short, long, value_name = "USER[:PASS]")]
    pub auth: Option<String>,

    /// Bearer token authentication.
    #[arg(long, value_name = "TOKEN", conflicts_with = "auth")]
    pub bearer: Option<String>,

    /// Send HEAD instead of GET: show the status and headers only.
    #[arg(short = 'I', long, conflicts_with = "output")]
    pub head: bool,

    /// Also show the response head when stdout is not a terminal (curl's -i).
    #[arg(short, long)]
    pub include: bool,

    /// What to show: any of h (response head) and b (response body), as HTTPie; H and B
    /// (the request's head and body) go to stderr, as with -v.
    #[arg(long, value_name = "WHAT", value_parser = parse_print)]
    pub print: Option<String>,

    /// Write the body to FILE (through FILE.part, renamed when complete).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// With -o: resume a partial FILE with a Range request.
    #[arg(short = 'C', long = "continue", requires = "output")]
    pub resume: bool,

    /// Follow redirects (301, 302, 303, 307, 308).
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Most redirects followed with -L.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_REDIRECTS)]
    pub max_redirects: usize,

    /// Use HTTPS for HOST PORT and for URLs without a scheme.
    #[arg(long)]
    pub tls: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Do not verify the server's certificate (warns; anyone on the path can listen).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Print the request that would be sent, and send nothing.
    #[arg(long)]
    pub offline: bool,

    /// Keep the body's content coding (gzip, br...) instead of decoding it.
    #[arg(long)]
    pub raw: bool,

    /// JSON bodies: indent and colour them (default on a terminal), or not; given, it
    /// applies when piped too.
    #[arg(long, value_enum, value_name = "STYLE")]
    pub pretty: Option<PrettyArg>,

    /// Give up when connecting, or when the server sends nothing, for SECS seconds.
    #[arg(long, value_name = "SECS", env = "CLIENT_TIMEOUT", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = parse_timeout)]
    pub timeout: f64,

    /// Also show the request as it is sent, TLS details and redirects, on stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// Never colour the output (colour is also off when NO_COLOR is set or output is piped).
    #[arg(long)]
    pub no_color: bool,

    /// Show only the body.
    #[arg(long, conflicts_with = "headers_only")]
    pub body_only: bool,

    /// Show only the status line and headers.
    #[arg(long)]
    pub headers_only: bool,
}

/// What the positional words asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// One request to `location` with `items`.
    Once {
        /// Where.
        location: Location,
        /// Credentials from the URL.
        user: UserInfo,
        /// The request items.
        items: Vec<String>,
    },
    /// The REPL on `origin`.
    Repl(Origin),
}

impl Args {
    /// The timeout as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }

    /// Tells `URL [ITEM...]` from `HOST PORT [PATH [ITEM...]]`.
    pub fn plan(&self) -> Result<Plan, String> {
        let words = &self.words;
        let Some(first) = words.first() else {
            return Err("give a URL or HOST PORT; try `client 127.0.0.1 6789`".into());
        };
        let port = words
            .get(1)
            .filter(|_| !looks_like_url(first))
            .and_then(|w| w.parse::<u16>().ok());
        let Some(port) = port else {
            let (location, user) = parse_url(first, self.tls)?;
            return Ok(Plan::Once {
                location,
                user,
                items: words[1..].to_vec(),
            });
        };
        if port == 0 {
            return Err("port 0 cannot be connected to; give the server's port (1-65535)".into());
        }
        if first.is_empty() || first.contains('/') {
            return Err(format!("'{first}' is not a host name or IP address"));
        }
        let scheme = if self.tls || port == 443 {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let origin = Origin::new(scheme, first, port);
        match words.get(2) {
            None => Ok(Plan::Repl(origin)),
            Some(path) => Ok(Plan::Once {
                location: Location {
                    origin,
                    target: target(path),
                },
                user: None,
                items: words[3..].to_vec(),
            }),
        }
    }

    /// How the transport connects: timeout, trust, and the Ctrl-C flag if any.
    pub fn options(&self, cancel: Option<crate::stream::Cancel>) -> crate::transport::Options {
        crate::transport::Options {
            timeout: self.timeout(),
            trust: crate::tls::Trust {
                cacert: self
                    .cacert
                    .as_deref()
                    .map(|p| crate::items::expand_tilde(&p.to_string_lossy())),
                insecure: self.insecure,
            },
            cancel,
        }
    }

    /// The `-H` flags as header edits.
    pub fn header_edits(&self) -> Result<Vec<crate::items::HeaderEdit>, String> {
        self.headers
            .iter()
            .map(|h| crate::items::curl_header(h))
            .collect()
    }

    /// The `Authorization` value from `-a`, `--bearer` or credentials in the URL.
    pub fn authorization(&self, user: &UserInfo) -> Result<Option<String>, crate::error::Error> {
        use crate::auth;
        if let Some(token) = &self.bearer {
            return auth::bearer(token).map(Some);
        }
        let typed = match (&self.auth, user) {
            (Some(a), _) => a.clone(),
            (None, Some((u, Some(p)))) => format!("{u}:{p}"),
            (None, Some((u, None))) => u.clone(),
            (None, None) => return Ok(None),
        };
        auth::basic(&typed, auth::prompt_password).map(Some)
    }

    /// `--pretty`, or its default: all on a terminal, none when piped.
    pub fn pretty(&self, terminal: bool) -> crate::view::Pretty {
        let choice = self.pretty.unwrap_or(if terminal {
            PrettyArg::All
        } else {
            PrettyArg::None
        });
        crate::view::Pretty {
            format: matches!(choice, PrettyArg::All | PrettyArg::Format),
            colors: matches!(choice, PrettyArg::All | PrettyArg::Colors),
            // An explicit --pretty colours a pipe too, but --no-color still wins.
            forced: self.pretty.is_some() && !self.no_color,
        }
    }

    /// Flags that make no sense in the REPL, by name, for the refusal.
    pub fn one_shot_only(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        let mut check = |set: bool, name| {
            if set {
                flags.push(name);
            }
        };
        check(self.head, "-I");
        check(self.output.is_some(), "-o");
        check(self.resume, "-C");
        check(self.method.is_some(), "-X");
        check(self.data.is_some(), "-d");
        check(self.form, "-f");
        check(self.include, "-i");
        check(self.print.is_some(), "--print");
        check(self.offline, "--offline");
        flags
    }
}

/// Parses `--timeout`: seconds between [`MIN_TIMEOUT_SECS`] and [`MAX_TIMEOUT_SECS`].
fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}; try --timeout 5"
        )),
    }
}

/// Parses `--print`: letters from `HBhb`.
fn parse_print(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(|c| "HBhb".contains(c)) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not made of H, B, h and b; try --print hb"
        ))
    }
}

/// The exit code clap's errors get: 1, since 2 means a timeout here.
pub(crate) const USAGE_EXIT: u8 = exit::FAILURE;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("client").chain(args.iter().copied()))
    }

    fn plan(args: &[&str]) -> Result<Plan, String> {
        parse(args).map_err(|e| e.to_string())?.plan()
    }

    fn once(args: &[&str]) -> (String, Vec<String>) {
        match plan(args).unwrap() {
            Plan::Once {
                location, items, ..
            } => (location.url(), items),
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn the_assignments_forms_still_work() {
        assert_eq!(
            plan(&["127.0.0.1", "6789"]).unwrap(),
            Plan::Repl(Origin::new(Scheme::Http, "127.0.0.1", 6789))
        );
        assert_eq!(
            once(&["127.0.0.1", "6789", "HelloWorld.html"]).0,
            "http://127.0.0.1:6789/HelloWorld.html"
        );
        assert_eq!(once(&["::1", "80", "/a b"]).0, "http://[::1]/a%20b");
        assert_eq!(
            parse(&["h", "1"]).unwrap().timeout(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn urls_shorthands_and_items() {
        assert_eq!(
            once(&["http://h:1/x", "a==1"]),
            ("http://h:1/x".into(), vec!["a==1".into()])
        );
        assert_eq!(once(&[":6789/x"]).0, "http://localhost:6789/x");
        assert_eq!(once(&["localhost:6789/x", "A:b"]).1, ["A:b"]);
        assert_eq!(once(&["h", "1", "/p", "n=v", "H:v"]).1, ["n=v", "H:v"]);
        assert_eq!(once(&["example.org"]).0, "http://example.org/");
    }

    #[test]
    fn https_from_port_443_or_tls() {
        assert_eq!(
            plan(&["h", "443"]).unwrap(),
            Plan::Repl(Origin::new(Scheme::Https, "h", 443))
        );
        assert_eq!(once(&["--tls", "h", "8443", "/"]).0, "https://h:8443/");
        assert_eq!(once(&["--tls", "h/x"]).0, "https://h/x");
    }

    #[test]
    fn flags() {
        let a = parse(&[
            "h",
            "1",
            "/x",
            "-o",
            "out.bin",
            "--timeout",
            "0.5",
            "-v",
            "--no-color",
            "--headers-only",
        ])
        .unwrap();
        assert!(!a.head && a.verbose && a.no_color && a.headers_only && !a.body_only);
        assert_eq!(a.output, Some(PathBuf::from("out.bin")));
        assert_eq!(a.timeout(), Duration::from_millis(500));
        let a = parse(&[
            "-X",
            "PURGE",
            "-H",
            "A: b",
            "-H",
            "C:",
            "-L",
            "--max-redirects",
            "3",
            "-k",
            ":1",
        ])
        .unwrap();
        assert_eq!(
            (
                a.method.as_deref(),
                a.headers.len(),
                a.follow,
                a.max_redirects,
                a.insecure
            ),
            (Some("PURGE"), 2, true, 3, true)
        );
        assert_eq!(parse(&[":1"]).unwrap().max_redirects, 10);
    }

    #[test]
    fn refusals() {
        for bad in [
            &[][..],
            &["h", "1", "/", "--timeout", "0"],
            &["h", "1", "/", "--timeout", "-3"],
            &["h", "1", "/", "--timeout", "nan"],
            &["h", "1", "/", "--timeout", "1e30"],
            &["h", "1", "/", "--body-only", "--headers-only"],
            &["h", "1", "/", "--print", "hx"],
            &["h", "1", "/", "-C"],
            &["h", "1", "--pretty", "loud"],
            &["-a", "u", "--bearer", "t", "h", "1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(plan(&["h", "0"]).is_err());
        assert!(plan(&["ftp://h/"]).is_err());
    }

    #[test]
    fn tiny_timeouts_are_refused_at_parse_time() {
        for tiny in ["1e-10", "0.0000001", "0.0009"] {
            let err = parse(&["--timeout", tiny, ":1"]).unwrap_err().to_string();
            assert!(
                err.contains("is not a number of seconds from 0.001"),
                "{tiny}: {err}"
            );
        }
        assert_eq!(
            parse(&["--timeout", "0.001", ":1"]).unwrap().timeout(),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = parse(&["--help"]).unwrap_err().to_string();
        for line in [
            "0  the response was 1xx-3xx",
            "2  the server did not answer",
            "4  the response was 4xx",
            "5  the response was 5xx",
            "6  a redirect loop",
            "7  TLS failed",
        ] {
            assert!(help.contains(line), "help lacks {line:?}");
        }
    }

    #[test]
    fn repl_refuses_one_shot_flags() {
        let a = parse(&["-I", "-X", "PUT", "h", "1"]).unwrap();
        assert_eq!(a.one_shot_only(), ["-I", "-X"]);
        assert!(
            parse(&["-I", "-o", "x", ":1"]).is_err(),
            "a HEAD has no body to save"
        );
        assert!(parse(&["-L", "-H", "A: b", "h", "1"])
            .unwrap()
            .one_shot_only()
            .is_empty());
    }
}
