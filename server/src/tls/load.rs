//! Reading the certificate chain and private key from PEM files (PKCS#8, PKCS#1 or SEC1
//! keys, through rustls-pki-types), checking that they belong together, and saying what
//! to do when they do not.

use super::x509::{self, CertSummary};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Largest certificate or key file read. A full chain is a few KiB; 1 MiB leaves room
/// for long bundles and refuses to slurp a wrong path (a log, a disk image) into memory.
pub const MAX_PEM_FILE: u64 = 1 << 20;

/// Where the certificate chain and its key live (`--tls-cert`, `--tls-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificates, the server's own first (certbot's `fullchain.pem`).
    pub cert: PathBuf,
    /// PEM private key of the first certificate (certbot's `privkey.pem`).
    pub key: PathBuf,
}

/// A certificate and key ready for handshakes, with what is worth telling the operator.
#[derive(Debug)]
pub struct Loaded {
    /// The chain and signing key rustls serves.
    pub key: Arc<CertifiedKey>,
    /// Serial and validity of the server's certificate, when readable.
    pub summary: Option<CertSummary>,
    /// Problems that do not stop the server (an expired certificate), one sentence each.
    pub warnings: Vec<String>,
}

/// Why a certificate or key could not be used; `Display` names the file and the fix.
#[derive(Debug)]
pub struct LoadError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a certificate or key file. One sentence each in [`LoadError`]'s
/// `Display`.
#[derive(Debug)]
pub enum Problem {
    /// The certificate file cannot be opened or read.
    CertUnreadable(io::Error),
    /// The key file cannot be opened or read.
    KeyUnreadable(io::Error),
    /// The file is larger than [`MAX_PEM_FILE`].
    TooLarge,
    /// A PEM section is malformed.
    BadPem(pem::Error),
    /// The certificate file holds no `CERTIFICATE` section.
    NoCertificate(Holds),
    /// The key file holds no private key section.
    NoKey(Holds),
    /// The key is encrypted with a passphrase.
    EncryptedKey,
    /// The key's algorithm or encoding is not usable with ring.
    UnusableKey(rustls::Error),
    /// The first certificate is not a valid X.509 certificate.
    BadCertificate(rustls::Error),
    /// The key is not the one the certificate (named here) was issued for.
    KeyMismatch(PathBuf),
}

/// What a file holds instead of what was expected, for a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Nothing but whitespace.
    Nothing,
    /// Binary DER rather than PEM text.
    Der,
    /// A private key.
    Key,
    /// A certificate.
    Certificate,
    /// Anything else.
    Other,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.problem {
            Problem::CertUnreadable(e) if e.kind() == io::ErrorKind::NotFound => write!(
                f,
                "TLS certificate '{file}' not found; pass the certificate chain (e.g. fullchain.pem) with --tls-cert FILE"
            ),
            Problem::KeyUnreadable(e) if e.kind() == io::ErrorKind::NotFound => write!(
                f,
                "TLS key '{file}' not found; pass the certificate's private key (e.g. privkey.pem) with --tls-key FILE"
            ),
            Problem::CertUnreadable(e) | Problem::KeyUnreadable(e)
                if e.kind() == io::ErrorKind::PermissionDenied =>
            {
                write!(f, "cannot read '{file}': permission denied; run the server as a user that may read it")
            }
            Problem::CertUnreadable(e) | Problem::KeyUnreadable(e) => {
                write!(f, "cannot read '{file}': {e}")
            }
            Problem::TooLarge => write!(
                f,
                "'{file}' is over {} KiB, too large for a PEM certificate or key; check the path",
                MAX_PEM_FILE / 1024
            ),
            Problem::BadPem(e) => write!(f, "'{file}' is not valid PEM ({e}); re-export it"),
            Problem::NoCertificate(Holds::Key) => write!(
                f,
                "'{file}' holds a private key, not a certificate; did you swap --tls-cert and --tls-key?"
            ),
            Problem::NoCertificate(Holds::Der) => write!(
                f,
                "'{file}' is DER, not PEM; convert it with: openssl x509 -inform der -in '{file}' -out cert.pem"
            ),
            Problem::NoCertificate(_) => write!(
                f,
                "no certificate in '{file}'; --tls-cert needs PEM '-----BEGIN CERTIFICATE-----' blocks, the server's own first (e.g. fullchain.pem)"
            ),
            Problem::NoKey(Holds::Certificate) => write!(
                f,
                "'{file}' holds a certificate, not a private key; did you swap --tls-cert and --tls-key?"
            ),
            Problem::NoKey(Holds::Der) => write!(
                f,
                "'{file}' is DER, not PEM; convert it with: openssl pkey -inform der -in '{file}' -out key.pem"
            ),
            Problem::NoKey(_) => write!(
                f,
                "no private key in '{file}'; --tls-key needs a PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY' block"
            ),
            Problem::EncryptedKey => write!(
                f,
                "the private key in '{file}' is encrypted and the server cannot ask for its passphrase; decrypt it with: openssl pkey -in '{file}' -out key.pem"
            ),
            Problem::UnusableKey(e) => write!(
                f,
                "cannot use the private key in '{file}' ({e}); use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key"
            ),
            Problem::BadCertificate(e) => write!(
                f,
                "the first certificate in '{file}' is not a valid X.509 certificate ({e}); the file must start with the server's own certificate"
            ),
            Problem::KeyMismatch(cert) => write!(
                f,
                "the private key in '{file}' does not match the certificate in '{}'; pass the key the certificate was issued for",
                cert.display()
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks the pair; `now` decides the expiry warning.
pub fn load(
    files: &TlsFiles,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<Loaded, LoadError> {
    let fail = |file: &Path, problem| LoadError {
        file: file.to_path_buf(),
        problem,
    };
    let cert_pem = read_capped(&files.cert).map_err(|p| fail(&files.cert, p.cert()))?;
    let chain = certificates(&cert_pem).map_err(|p| fail(&files.cert, p))?;
    let key_pem = read_capped(&files.key).map_err(|p| fail(&files.key, p.key()))?;
    let key = private_key(&key_pem).map_err(|p| fail(&files.key, p))?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| fail(&files.key, Problem::UnusableKey(e)))?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // Unknown: the key cannot show its public half; the first handshake would tell.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(fail(&files.key, Problem::KeyMismatch(files.cert.clone())))
        }
        Err(e) => return Err(fail(&files.cert, Problem::BadCertificate(e))),
    }
    let summary = certified
        .cert
        .first()
        .and_then(|der| x509::summary(der.as_ref()));
    let warnings = summary
        .as_ref()
        .and_then(|s| validity_warning(&files.cert, s, now))
        .into_iter()
        .collect();
    Ok(Loaded {
        key: Arc::new(certified),
        summary,
        warnings,
    })
}

/// An expired or not-yet-valid certificate still lets the server start (the operator may be
/// renewing it right now, and a reload picks up the new one), but deserves a loud line.
fn validity_warning(file: &Path, s: &CertSummary, now: SystemTime) -> Option<String> {
    let now = shared::wire::date::civil(now);
    let file = file.display();
    if x509::earlier(&s.not_after, &now) {
        return Some(format!(
            "the certificate in '{file}' expired on {}; clients will refuse it until it is renewed (e.g. certbot renew), then reload with SIGHUP",
            x509::show(&s.not_after)
        ));
    }
    if x509::earlier(&now, &s.not_before) {
        return Some(format!(
            "the certificate in '{file}' is not valid until {}; clients will refuse it until then (is the clock right?)",
            x509::show(&s.not_before)
        ));
    }
    None
}

/// Reading failed before any parsing; which file decides the variant.
enum ReadFailure {
    Io(io::Error),
    TooLarge,
}

impl ReadFailure {
    fn cert(self) -> Problem {
        match self {
            ReadFailure::Io(e) => Problem::CertUnreadable(e),
            ReadFailure::TooLarge => Problem::TooLarge,
        }
    }

    fn key(self) -> Problem {
        match self {
            ReadFailure::Io(e) => Problem::KeyUnreadable(e),
            ReadFailure::TooLarge => Problem::TooLarge,
        }
    }
}

fn read_capped(path: &Path) -> Result<Vec<u8>, ReadFailure> {
    let file = std::fs::File::open(path).map_err(ReadFailure::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::Io)?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(ReadFailure::TooLarge);
    }
    Ok(bytes)
}

/// Every `CERTIFICATE` block, in order; at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Problem::BadPem)?;
    if chain.is_empty() {
        return Err(Problem::NoCertificate(holds(pem)));
    }
    Ok(chain)
}

/// The first private key block, PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Problem> {
    // Encrypted keys: PKCS#8's own label, or the legacy OpenSSL header inside a block.
    if contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(pem, b"Proc-Type: 4,ENCRYPTED")
    {
        return Err(Problem::EncryptedKey);
    }
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(Problem::NoKey(holds(pem))),
        Err(e) => Err(Problem::BadPem(e)),
    }
}

/// What a file without the expected blocks holds, for the hint.
fn holds(pem: &[u8]) -> Holds {
    let mut found = Holds::Other;
    for (kind, _) in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem).flatten() {
        match kind {
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                return Holds::Key
            }
            SectionKind::Certificate => found = Holds::Certificate,
            _ => {}
        }
    }
    if found == Holds::Other {
        if pem.iter().all(u8::is_ascii_whitespace) {
            return Holds::Nothing;
        }
        // A DER certificate or key is a SEQUENCE: tag 0x30, then a long-form length.
        if pem.first() == Some(&0x30) && pem.get(1).is_some_and(|b| b & 0x80 != 0) {
            return Holds::Der;
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
