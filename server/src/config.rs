//! Command-line flags (with environment fallbacks), the limits they tune, and the
//! checks every start-up value passes. [`crate::config_file`] layers a TOML file beneath
//! them: each flag below is also a key of the same name there, with no extra code.

use crate::rules::field;
use crate::rules::file::SiteRules;
use clap::builder::BoolishValueParser;
use clap::{Arg, ArgAction, Parser};
use std::ffi::OsString;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// How long a client has to send a whole request head, from its first byte. A trickle
/// does not extend it (darkhttpd's per-byte reset lets slowloris hold a connection
/// forever). 10 s is ample for any real client on a slow link; nginx uses 60 s.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle keep-alive connection stays open waiting for the next request.
/// Browsers reuse connections within seconds; nginx uses 75 s, Apache 5 s. 30 s keeps
/// reuse high while idle connections (and their descriptors) are freed reasonably soon.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write may make no progress before the peer is dropped (it stopped
/// reading). nginx's `send_timeout` is 60 s; 30 s frees stuck connections sooner.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How many requests one connection may carry before the server closes it, so one
/// client cannot pin a task forever. nginx's default is 1000; 10,000 keeps benchmark
/// reconnects rare.
pub const MAX_REQUESTS_PER_CONNECTION: u32 = 10_000;

/// How long in-flight responses may run after SIGINT/SIGTERM before the server exits.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serve a folder over HTTP/1.1.
///
/// Every flag can also be set by its environment variable or by a key of the same name
/// (with `_` for `-`) in the `--config` file; the command line wins, then the
/// environment, then the file. Boolean flags take an optional value: `--listing`,
/// `--listing=false`, `SERVER_LISTING=1` (1/0, yes/no, on/off, true/false).
#[derive(Parser, Debug, Clone)]
#[command(name = "server", version, about, long_about = None, mut_args = boolish)]
pub struct Config {
    /// Port to listen on; 0 lets the operating system pick a free one.
    #[arg(short, long, env = "SERVER_PORT", default_value_t = 6789)]
    pub port: u16,

    /// Address or host name to listen on; the default listens on all IPv4 interfaces so
    /// other hosts can connect. Use 127.0.0.1 (or localhost) for this machine only, or ::
    /// for IPv6. A host name listens on its first IPv4 address, else its first IPv6 one.
    #[arg(short, long, env = "SERVER_BIND", default_value = "0.0.0.0", value_name = "ADDR", value_parser = parse_bind)]
    pub bind: IpAddr,

    /// Folder to serve. Nothing outside it is ever served.
    #[arg(short, long, env = "SERVER_ROOT", default_value = "www")]
    pub root: PathBuf,

    /// Do not print the access log.
    #[arg(short, long, env = "SERVER_QUIET")]
    pub quiet: bool,

    /// Serve files and folders whose names start with a dot (always served: /.well-known/).
    #[arg(long, env = "SERVER_DOTFILES")]
    pub dotfiles: bool,

    /// File names served for a folder URL, tried in order (comma-separated).
    #[arg(
        long,
        env = "SERVER_INDEX",
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = "index.html",
        value_parser = parse_index_name
    )]
    pub index: Vec<String>,

    /// List a folder's contents (HTML, or JSON with `Accept: application/json` or
    /// `?format=json`) when it has no index file.
    #[arg(long, env = "SERVER_LISTING")]
    pub listing: bool,

    /// `Cache-Control` sent with files. The default `no-cache` lets browsers keep copies
    /// but revalidate each use (cheap 304s), so edits show at once. For content-hashed
    /// assets use e.g. `public, max-age=31536000, immutable`.
    #[arg(
        long,
        env = "SERVER_CACHE_CONTROL",
        value_name = "VALUE",
        default_value = "no-cache",
        value_parser = parse_field_value
    )]
    pub cache_control: String,

    /// Gzip text files on the fly for clients that accept it (when no precompressed
    /// `.br`/`.zst`/`.gz` twin exists). Never for ranges or already-compressed types.
    #[arg(long, env = "SERVER_COMPRESS")]
    pub compress: bool,

    /// Seconds a client has to send a request head, counted from its first byte.
    #[arg(long, env = "SERVER_HEAD_TIMEOUT", value_name = "SECS", default_value_t = HEAD_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub head_timeout: u64,

    /// Seconds an idle keep-alive connection waits for its next request.
    #[arg(long, env = "SERVER_KEEP_ALIVE_TIMEOUT", value_name = "SECS", default_value_t = KEEP_ALIVE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_alive_timeout: u64,

    /// Seconds a response write may make no progress before the client is dropped.
    #[arg(long, env = "SERVER_SEND_TIMEOUT", value_name = "SECS", default_value_t = SEND_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub send_timeout: u64,

    /// Requests one connection may carry before it is closed.
    #[arg(long, env = "SERVER_MAX_REQUESTS", value_name = "N", default_value_t = MAX_REQUESTS_PER_CONNECTION, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests: u32,

    /// Most connections served at once (at least 1); when full, new ones wait in the
    /// kernel's queue. Default: derived from the open-file limit.
    #[arg(long, env = "SERVER_MAX_CONNECTIONS", value_name = "N", value_parser = parse_max_connections)]
    pub max_connections: Option<usize>,

    /// Serving threads, each running its own connections start to finish (thread per
    /// core). Default: the CPUs the server may run on, so `taskset -c 1 server` gets one.
    #[arg(long, env = "SERVER_THREADS", value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// Seconds in-flight responses may take to finish after SIGINT or SIGTERM.
    #[arg(long, env = "SERVER_SHUTDOWN_GRACE", value_name = "SECS", default_value_t = SHUTDOWN_GRACE.as_secs())]
    pub shutdown_grace: u64,

    /// Let other servers bind the same address and port (SO_REUSEPORT): start a new
    /// instance with the flag, then stop this one with SIGTERM; no connection is lost.
    #[arg(long, env = "SERVER_REUSE_PORT")]
    pub reuse_port: bool,

    /// Answer GET and HEAD for PATH (e.g. /healthz) with `200 ok` from memory, without
    /// touching the disk: a cheap probe for load balancers and Kubernetes.
    #[arg(long, env = "SERVER_HEALTH", value_name = "PATH", value_parser = crate::health::parse_path)]
    pub health: Option<String>,

    /// Append the access log to FILE instead of printing it on stdout; SIGUSR1 reopens
    /// the file (after logrotate moved it).
    #[arg(long, env = "SERVER_ACCESS_LOG", value_name = "FILE")]
    pub access_log: Option<PathBuf>,

    /// Serve HTTPS with this PEM certificate chain, the server's own certificate first
    /// (certbot's fullchain.pem). Needs --tls-key; SIGHUP re-reads both files.
    #[arg(
        long,
        env = "SERVER_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), not
    /// encrypted (certbot's privkey.pem).
    #[arg(
        long,
        env = "SERVER_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Also listen on this cleartext port and answer every request there with a 308
    /// redirect to the same URL on https. Needs --tls-cert.
    #[arg(
        long,
        env = "SERVER_REDIRECT_HTTP",
        value_name = "PORT",
        requires = "tls_cert"
    )]
    pub redirect_http: Option<u16>,

    /// Send `Strict-Transport-Security: max-age=SECS` on HTTPS responses: browsers then
    /// use https for this host for that long (31536000 is a year). Needs --tls-cert.
    #[arg(long, env = "SERVER_HSTS", value_name = "SECS", requires = "tls_cert")]
    pub hsts: Option<u64>,

    /// Offer HTTP/2 on HTTPS (ALPN `h2`, then `http/1.1`); `--http2 false` offers
    /// HTTP/1.1 only. There is no cleartext HTTP/2 (h2c): browsers never use it.
    #[arg(
        long,
        env = "SERVER_HTTP2",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub http2: bool,

    /// Single-page-app fallback: a file (relative to the root) served with 200 for GET
    /// and HEAD of paths that do not exist and have no extension, so deep links such as
    /// /app/settings load the app; /missing.png stays a 404.
    #[arg(long, env = "SERVER_FALLBACK", value_name = "FILE", value_parser = parse_fallback)]
    pub fallback: Option<String>,

    /// Send a conservative set of security fields with every response:
    /// `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`
    /// and `X-Frame-Options: SAMEORIGIN` (a `[[headers]]` rule can override each).
    #[arg(long, env = "SERVER_SECURITY_HEADERS")]
    pub security_headers: bool,

    /// Allow `[[auth]]` rules to ask for passwords over plain HTTP on an address other
    /// hosts can reach (passwords then cross the network readable by anyone on the path).
    #[arg(long, env = "SERVER_ALLOW_INSECURE_AUTH")]
    pub allow_insecure_auth: bool,

    /// Read settings and site rules (headers, redirects, CORS, auth) from this TOML file.
    /// Flags and environment variables override its settings; SIGHUP re-reads it.
    #[arg(short = 'c', long, env = "SERVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the effective settings (flags, environment and file combined) as a TOML
    /// config file, then exit.
    #[arg(long)]
    pub print_config: bool,

    /// What to do instead of serving (`server` alone serves).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The site rules from the `--config` file (empty without one).
    #[arg(skip)]
    pub site: SiteRules,

    /// The command line these settings came from, to read them again on SIGHUP.
    #[arg(skip)]
    pub argv: Vec<OsString>,

    /// Each file key with its values as given, to tell on SIGHUP what changed.
    #[arg(skip)]
    pub values: Vec<(String, Vec<String>)>,
}

/// A task other than serving.
#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Read a password from standard input (not echoed on a terminal) and print its
    /// argon2id hash, to paste into the `users` of an `[[auth]]` rule.
    HashPassword,
}

/// Gives every boolean flag an optional value (`--listing`, `--listing=no`) that accepts
/// 1/0, yes/no, on/off and true/false, from the command line and the environment alike,
/// so a flag set in the config file can be turned off again on the command line.
fn boolish(arg: Arg) -> Arg {
    if !matches!(arg.get_action(), ArgAction::SetTrue) || arg.get_id() == "print_config" {
        return arg;
    }
    arg.action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .value_name("BOOL")
        .default_missing_value("true")
        .default_value("false")
        .hide_default_value(true)
        .hide_possible_values(true)
        .value_parser(BoolishValueParser::new())
}

/// `--bind`: an IP address (IPv6 with or without brackets) or a host name, resolved once
/// at start-up. A name with several addresses listens on its first IPv4 one (every client
/// tries IPv4 for `localhost`), else its first IPv6 one.
fn parse_bind(s: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip);
    }
    if let Some(ip) = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<Ipv6Addr>().ok())
    {
        return Ok(IpAddr::V6(ip));
    }
    if s.parse::<SocketAddr>().is_ok() {
        return Err("give the address without a port, and the port with --port".into());
    }
    let is_host_name = !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !is_host_name {
        return Err("not an IP address or a host name; try 127.0.0.1, 0.0.0.0 or ::".into());
    }
    let addrs: Vec<SocketAddr> = (s, 0)
        .to_socket_addrs()
        .map_err(|e| {
            format!("cannot resolve host name: {e}; give an IP address such as 127.0.0.1")
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(|| "the host name has no address; give an IP address such as 127.0.0.1".into())
}

/// `--index`: each name is a plain file name. An empty one is refused rather than
/// skipped: it can never match a file, so it used to make every folder 404 silently, and
/// a list the user wrote wrongly is better reported than half-applied.
fn parse_index_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(
            "an index file name cannot be empty; give names such as index.html,index.htm".into(),
        );
    }
    if s.contains('/') || s == "." || s == ".." {
        return Err("an index is a file name inside each folder, not a path".into());
    }
    if s.chars().any(|c| c.is_control()) {
        return Err("control character in an index file name".into());
    }
    Ok(s.to_string())
}

/// `--cache-control` (and any other value sent as a header field): RFC 9110 grammar.
pub(crate) fn parse_field_value(s: &str) -> Result<String, String> {
    field::check_value(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// `--max-connections`: at least 1; 0 would serve nothing.
fn parse_max_connections(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n == 0 {
        return Err("at least 1 connection is needed to serve anything; leave the flag out to derive the cap from the open-file limit".into());
    }
    Ok(n)
}

/// Most serving threads: more threads than CPUs only adds context switches, and past
/// this many a typo (`--threads 40000`) is more likely than a machine that size.
pub const MAX_THREADS: usize = 1024;

/// `--threads`: 1 to [`MAX_THREADS`].
fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n == 0 || n > MAX_THREADS {
        return Err(format!(
            "between 1 and {MAX_THREADS} threads; leave the flag out for one per CPU"
        ));
    }
    Ok(n)
}

/// `--fallback`: a file path relative to the root, normalised to `a/b.html` form.
fn parse_fallback(s: &str) -> Result<String, String> {
    let trimmed = s.strip_prefix('/').unwrap_or(s);
    let segments: Vec<&str> = trimmed.split('/').collect();
    if trimmed.is_empty() || segments.iter().any(|seg| seg.is_empty()) {
        return Err("give a file inside the root, such as index.html".into());
    }
    if segments.iter().any(|seg| *seg == "." || *seg == "..") {
        return Err("the fallback file must be inside the root (no . or .. segments)".into());
    }
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return Err("control character or backslash in the fallback file name".into());
    }
    Ok(segments.join("/"))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
