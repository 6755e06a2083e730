//! The certificate every handshake gets, swappable while the server runs: SIGHUP re-reads
//! the files, new handshakes use the new pair, live connections keep theirs, and a bad new
//! pair leaves the old one in place.

use super::load::{load, LoadError, Loaded, TlsFiles};
use super::x509::{self, CertSummary};
use crate::swap::Swap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;
use std::time::SystemTime;

/// Serves the current certificate and swaps in a new one on [`CertResolver::reload`].
///
/// The cell is the server's [`Swap`]: a handshake holds its lock only to clone an `Arc`,
/// a reload only to replace it, so neither waits on the other for longer than that (a
/// lock-free swap would save nanoseconds per handshake, next to the milliseconds of its
/// cryptography). A handshake under way keeps the pair it started with.
#[derive(Debug)]
pub struct CertResolver {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Swap<CertifiedKey>,
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
            current: Swap::from_arc(first.key),
        }
    }

    /// Re-reads the certificate and key. On success new handshakes use them; on failure
    /// the old pair stays and the error says why.
    pub fn reload(&self) -> Result<Reloaded, LoadError> {
        let loaded = load(&self.files, &self.provider, SystemTime::now())?;
        self.current.store_arc(loaded.key);
        Ok(Reloaded {
            summary: loaded.summary,
            warnings: loaded.warnings,
        })
    }

    /// The files it reloads from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The pair new handshakes get now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load()
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
