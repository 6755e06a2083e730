//! Command-line flags (with environment fallbacks) and the limits they tune.

use clap::Parser;
use std::net::IpAddr;
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
#[derive(Parser, Debug, Clone)]
#[command(name = "server", version, about, long_about = None)]
pub struct Config {
    /// Port to listen on; 0 lets the operating system pick a free one.
    #[arg(short, long, env = "SERVER_PORT", default_value_t = 6789)]
    pub port: u16,

    /// Address to listen on; the default listens on all IPv4 interfaces so other hosts
    /// can connect. Use 127.0.0.1 for this machine only, or :: for IPv6.
    #[arg(short, long, env = "SERVER_BIND", default_value = "0.0.0.0")]
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
        default_value = "index.html"
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
        default_value = "no-cache"
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

    /// Most connections served at once; when full, new ones wait in the kernel's queue.
    /// Default: derived from the open-file limit.
    #[arg(long, env = "SERVER_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::try_parse_from(["server"]).unwrap();
        assert_eq!(c.port, 6789);
        assert_eq!(c.root, PathBuf::from("www"));
        assert_eq!(c.bind, "0.0.0.0".parse::<IpAddr>().unwrap());
        assert!(!c.quiet && !c.dotfiles);
    }

    #[test]
    fn flags() {
        let c = Config::try_parse_from([
            "server", "--port", "0", "--bind", "::1", "--root", "/tmp", "-q",
        ])
        .unwrap();
        assert_eq!((c.port, c.quiet), (0, true));
        assert!(Config::try_parse_from(["server", "--port", "70000"]).is_err());
        assert!(Config::try_parse_from(["server", "--head-timeout", "0"]).is_err());
        assert!(Config::try_parse_from(["server", "--max-requests", "0"]).is_err());
    }

    #[test]
    fn tls_flags_come_as_a_pair_and_the_rest_need_them() {
        let c = Config::try_parse_from(["server", "--tls-cert", "c.pem", "--tls-key", "k.pem"])
            .unwrap();
        assert_eq!(c.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(c.tls_key, Some(PathBuf::from("k.pem")));
        assert!(Config::try_parse_from(["server", "--tls-cert", "c.pem"]).is_err());
        assert!(Config::try_parse_from(["server", "--tls-key", "k.pem"]).is_err());
        assert!(Config::try_parse_from(["server", "--redirect-http", "8080"]).is_err());
        assert!(Config::try_parse_from(["server", "--hsts", "60"]).is_err());
        let c = Config::try_parse_from([
            "server",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
            "--redirect-http",
            "8080",
            "--hsts",
            "60",
        ])
        .unwrap();
        assert_eq!((c.redirect_http, c.hsts), (Some(8080), Some(60)));
    }
}
