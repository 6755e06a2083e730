//! The certificate every handshake gets, swappable while the server runs: SIGHUP re-reads
//! the files, new handshakes use the new pair, live connections keep theirs, and a bad new
//! pair leaves the old one in place.

use super::load::{load, LoadError, Loaded, TlsFiles};
use super::x509::{self, CertSummary};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

/// Serves the current certificate and swaps in a new one on [`CertResolver::reload`].
///
/// The cell is a lock around an `Arc`: a handshake holds the read lock only to clone the
/// `Arc`, a reload holds the write lock only to replace it, so neither waits on the other
/// for longer than that (a lock-free swap would save nanoseconds per handshake, next to
/// the milliseconds of its cryptography).
#[derive(Debug)]
pub struct CertResolver {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
}

#[derive(Debug)]
struct Current {
    key: Arc<CertifiedKey>,
    summary: Option<CertSummary>,
}

/// What a successful reload installed.
#[derive(Debug)]
pub struct Reloaded {
    /// Serial and validity of the new certificate, when readable.
    pub summary: Option<CertSummary>,
    /// Problems that did not stop the reload (an expired certificate).
    pub warnings: Vec<String>,
}

impl CertResolver {
    /// A resolver serving `first`, reloading later from `files`.
    pub fn new(files: TlsFiles, provider: Arc<CryptoProvider>, first: Loaded) -> CertResolver {
        CertResolver {
            files,
            provider,
            current: RwLock::new(Current {
                key: first.key,
                summary: first.summary,
            }),
        }
    }

    /// Re-reads the certificate and key. On success new handshakes use them; on failure
    /// the old pair stays and the error says why.
    pub fn reload(&self) -> Result<Reloaded, LoadError> {
        let loaded = load(&self.files, &self.provider, SystemTime::now())?;
        let summary = loaded.summary.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Current {
            key: loaded.key,
            summary: loaded.summary,
        };
        Ok(Reloaded {
            summary,
            warnings: loaded.warnings,
        })
    }

    /// Reloads and logs the outcome on stderr, one line each (the SIGHUP handler's job).
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(done) => {
                for warning in &done.warnings {
                    eprintln!("server: warning: {warning}");
                }
                eprintln!(
                    "server: reloaded the TLS certificate from '{}'{}",
                    self.files.cert.display(),
                    describe(done.summary.as_ref())
                );
            }
            Err(e) => {
                eprintln!("server: error: TLS reload failed, keeping the old certificate: {e}")
            }
        }
    }

    /// The pair new handshakes get now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .key
            .clone()
    }

    /// Serial and validity of the current certificate, when readable.
    pub fn summary(&self) -> Option<CertSummary> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .summary
            .clone()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// ` (serial 10:01, valid until 2099-01-01 00:00:00 UTC)`, or nothing when unreadable.
pub fn describe(summary: Option<&CertSummary>) -> String {
    summary.map_or_else(String::new, |s| {
        format!(
            " (serial {}, valid until {})",
            s.serial_hex(),
            x509::show(&s.not_after)
        )
    })
}
