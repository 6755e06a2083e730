//! The command line: `client HOST PORT [PATH]` and the flags a curl or HTTPie user
//! reaches for, parsed by clap.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Default for `--timeout`, in seconds: long enough for a slow server on a bad network,
/// short enough that a hung request gives the prompt back within a coffee sip.
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;

/// Longest `--timeout` accepted, in seconds (one day): `Duration` cannot hold every f64,
/// and nothing interactive needs to wait longer.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

const AFTER_HELP: &str = "\
Examples:
  client 127.0.0.1 6789 HelloWorld.html    fetch once and exit
  client example.org 80                    open the REPL (type `help` there)
  printf 'get /\\nquit\\n' | client ::1 8080  script the REPL through a pipe

Exit status:
  0  the response was 1xx-3xx (or the REPL ended)
  1  any other failure: connection refused, malformed reply, truncated body,
     body on a HEAD or 304 response, unwritable output file
  2  the server did not answer within --timeout
  4  the response was 4xx
  5  the response was 5xx (or an undefined status, 600-999)";

/// An HTTP/1.x client: one request like curl, or a session like a shell.
///
/// With PATH it sends one GET and exits; without it opens an interactive REPL.
#[derive(Debug, Parser)]
#[command(name = "client", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Server host name, IPv4 address or IPv6 literal (with or without brackets).
    pub host: String,

    /// Server TCP port.
    pub port: u16,

    /// Path to fetch once, then exit; `HelloWorld.html` means `/HelloWorld.html`.
    /// Spaces and non-ASCII characters are percent-encoded.
    pub path: Option<String>,

    /// Send HEAD instead of GET: show the status and headers only.
    #[arg(short = 'I', long)]
    pub head: bool,

    /// Write the body to FILE instead of the terminal; the head is still shown.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Give up when connecting, or when the server sends nothing, for SECS seconds.
    #[arg(long, value_name = "SECS", env = "CLIENT_TIMEOUT", default_value_t = DEFAULT_TIMEOUT_SECS, value_parser = parse_timeout)]
    pub timeout: f64,

    /// Also show the request as it is sent.
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

impl Args {
    /// The timeout as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout)
    }
}

/// Parses `--timeout`: a positive number of seconds, fractions allowed.
fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= MAX_TIMEOUT_SECS => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}; try --timeout 5"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("client").chain(args.iter().copied()))
    }

    #[test]
    fn positional_forms() {
        let a = parse(&["127.0.0.1", "6789"]).unwrap();
        assert_eq!((a.host.as_str(), a.port, a.path), ("127.0.0.1", 6789, None));
        let a = parse(&["::1", "80", "HelloWorld.html"]).unwrap();
        assert_eq!(
            (a.host.as_str(), a.path.as_deref()),
            ("::1", Some("HelloWorld.html"))
        );
        assert_eq!(a.timeout(), Duration::from_secs(30));
    }

    #[test]
    fn flags() {
        let a = parse(&[
            "h",
            "1",
            "/x",
            "-I",
            "-o",
            "out.bin",
            "--timeout",
            "0.5",
            "-v",
            "--no-color",
            "--headers-only",
        ])
        .unwrap();
        assert!(a.head && a.verbose && a.no_color && a.headers_only && !a.body_only);
        assert_eq!(a.output, Some(PathBuf::from("out.bin")));
        assert_eq!(a.timeout(), Duration::from_millis(500));
    }

    #[test]
    fn refusals() {
        for bad in [
            &["h"][..],
            &["h", "70000"],
            &["h", "-1"],
            &["h", "port"],
            &["h", "1", "/", "--timeout", "0"],
            &["h", "1", "/", "--timeout", "-3"],
            &["h", "1", "/", "--timeout", "nan"],
            &["h", "1", "/", "--timeout", "1e30"],
            &["h", "1", "/", "--body-only", "--headers-only"],
            &["h", "1", "/", "extra"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = parse(&["--help"]).unwrap_err().to_string();
        for line in [
            "0  the response was 1xx-3xx",
            "2  the server did not answer",
            "4  the response was 4xx",
            "5  the response was 5xx",
        ] {
            assert!(help.contains(line), "help lacks {line:?}");
        }
    }
}
