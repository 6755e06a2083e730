//! HTTPS: the rustls server configuration (ring as the one crypto provider, TLS 1.2 and
//! 1.3, ALPN from config, session tickets) around a reloadable certificate, and the
//! pieces the listeners use beside it (protocol sniffing, the https redirect, HSTS).

pub mod accept;
pub mod load;
pub mod redirect;
pub mod redirect_io;
pub mod resolver;
pub mod sniff;
pub mod socket;
pub mod x509;

pub use load::{LoadError, TlsFiles};
pub use resolver::CertResolver;

use crate::config::Config;
use futures_rustls::TlsAcceptor;
use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// ALPN protocol id of HTTP/1.1 (RFC 7301 registry), offered after `h2`.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The TLS versions offered: 1.3 first, 1.2 for older clients; nothing older (RFC 8996).
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The crypto provider: ring, with rustls' default (forward-secret, AEAD-only) suites.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs ring as the process-wide default provider, so no other code path can pick
/// another one implicitly. Harmless if already installed.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A ready TLS setup: the configuration handshakes use and the handle that reloads it.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The rustls server configuration (certificate through `resolver`).
    pub config: Arc<ServerConfig>,
    /// Holds the current certificate; [`CertResolver::reload`] swaps it.
    pub resolver: Arc<CertResolver>,
}

/// Why TLS could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// The certificate or key file is unusable.
    Load(LoadError),
    /// rustls refused the configuration (not expected with ring's defaults).
    Rustls(rustls::Error),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Load(e) => e.fmt(f),
            SetupError::Rustls(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// Loads the pair from `files` and builds the server configuration offering `alpn` in
/// order of preference. Returns the setup and the warnings to print (expiry).
pub fn setup(files: TlsFiles, alpn: &[&[u8]]) -> Result<(Tls, Vec<String>), SetupError> {
    let provider = provider();
    let loaded = load::load(&files, &provider, SystemTime::now()).map_err(SetupError::Load)?;
    let warnings = loaded.warnings.clone();
    let resolver = Arc::new(CertResolver::new(files, provider.clone(), loaded));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)
        .map_err(SetupError::Rustls)?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Resumption: stateless tickets (TLS 1.2 and 1.3) with keys rotated by ring's Ticketer;
    // the default in-memory session cache stays for TLS 1.2 clients without tickets.
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(SetupError::Rustls)?;
    Ok((
        Tls {
            config: Arc::new(config),
            resolver,
        },
        warnings,
    ))
}

/// The `Strict-Transport-Security` value for `--hsts SECONDS` (RFC 6797 section 6.1).
/// Sent on TLS responses only: browsers ignore it over plain HTTP (section 8.1).
pub fn hsts_value(max_age: u64) -> String {
    format!("max-age={max_age}")
}

/// The ALPN protocols the TLS listener offers, in order of preference: HTTP/2 first
/// unless `--http2 false`, then HTTP/1.1.
pub(crate) fn alpn(config: &Config) -> Vec<&'static [u8]> {
    if config.http2 {
        vec![crate::h2::ALPN_H2, ALPN_HTTP1]
    } else {
        vec![ALPN_HTTP1]
    }
}

/// What the running server keeps of its TLS set-up: the acceptor every handshake uses,
/// the certificate SIGHUP reloads, and the fields TLS responses carry.
#[derive(Debug)]
pub(crate) struct Live {
    /// The configuration every handshake uses (with the current certificate).
    pub config: Arc<ServerConfig>,
    /// The reloadable certificate.
    pub resolver: Arc<CertResolver>,
    /// `Strict-Transport-Security` value, when `--hsts` asks for it.
    pub hsts: Option<Arc<str>>,
}

impl Live {
    /// Loads the pair the flags name and builds the acceptor; `None` when the flags ask
    /// for no TLS. Warnings (an expired certificate) are printed here, one line each.
    pub(crate) fn from_config(config: &Config) -> Result<Option<Live>, SetupError> {
        let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
            return Ok(None);
        };
        install_provider();
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        let (tls, warnings) = setup(files, &alpn(config))?;
        for warning in warnings {
            eprintln!("server: warning: {warning}");
        }
        Ok(Some(Live {
            config: tls.config,
            resolver: tls.resolver,
            hsts: config.hsts.map(|secs| hsts_value(secs).into()),
        }))
    }

    /// What runs one handshake (a cheap handle on the shared configuration).
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }

    /// SIGHUP: re-reads the certificate and key. Returns the line for the log; warnings
    /// about the new certificate are printed first.
    pub(crate) fn reload(&self) -> String {
        match self.resolver.reload() {
            Ok(done) => {
                for warning in &done.warnings {
                    crate::log_queue::error(format_args!("warning: {warning}"));
                }
                format!(
                    "reloaded the TLS certificate from '{}'{}",
                    self.resolver.files().cert.display(),
                    resolver::describe(done.summary.as_ref())
                )
            }
            Err(e) => format!("TLS reload failed, keeping the old certificate: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
