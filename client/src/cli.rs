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

    /// Write the body to FILE (through FILE.part, renamed when complete); `-o -` writes
    /// it to standard output, as curl does.
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
        let second = words.get(1).filter(|_| !looks_like_url(first));
        // All digits after a host is a port, even one out of range: say so, rather than
        // reading the host as a URL and the number as a request item.
        if let Some(w) = second.filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())) {
            if w.parse::<u16>().is_err() {
                return Err(format!(
                    "port {w} is out of range; give the server's port (1-65535)"
                ));
            }
        }
        let port = second.and_then(|w| w.parse::<u16>().ok());
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
#[path = "cli_tests.rs"]
mod tests;
