//! HTTPS: the rustls client configuration (ring, TLS 1.2 and 1.3, ALPN `http/1.1`), trust
//! from the system store plus `--cacert`, or none with `-k`; the handshake; and one
//! honest line for each way it fails.

use crate::cacert::Pinned;
use crate::error::{Error, Kind};
use crate::stream::{is_timeout, Wire};
use crate::target::Origin;
use crate::tls_refusal;
use crate::x509::{self, CertSummary};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How the client decides whom to trust.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trust {
    /// `--cacert FILE`: PEM certificates trusted besides the system's.
    pub cacert: Option<PathBuf>,
    /// `-k/--insecure`: no verification at all.
    pub insecure: bool,
}

/// The TLS client side, built once and shared by every connection.
#[derive(Debug)]
pub(crate) struct Tls {
    config: Arc<ClientConfig>,
    verifier: Arc<Recording>,
}

/// What `-v` shows about a TLS connection.
#[derive(Clone, Debug)]
pub(crate) struct TlsInfo {
    /// `TLSv1.3`.
    pub version: String,
    /// `TLS13_AES_256_GCM_SHA384`.
    pub suite: String,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<String>,
    /// The server's certificate.
    pub cert: Option<CertSummary>,
}

impl Tls {
    /// Builds the configuration; reads `--cacert` now, so a bad file fails before any
    /// connection.
    pub fn new(trust: &Trust) -> Result<Tls, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // The one crypto provider, installed explicitly (ring): nothing picks another.
        let _ = CryptoProvider::install_default(rustls::crypto::ring::default_provider());
        let (inner, pinned): (Arc<dyn ServerCertVerifier>, _) = if trust.insecure {
            (
                Arc::new(AnyCertificate(provider.clone())),
                Pinned::default(),
            )
        } else {
            let extra = match &trust.cacert {
                Some(path) => load_pem(path)?,
                None => Vec::new(),
            };
            // The same certificates again, for a server that sends one of them as its own.
            let pinned = extra.clone();
            let verifier =
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                    .map_err(|e| {
                    Error::new(
                        Kind::Tls,
                        format!("cannot load the trusted certificates: {e}; pass --cacert FILE"),
                    )
                })?;
            (Arc::new(verifier), Pinned::new(pinned))
        };
        let verifier = Arc::new(Recording {
            inner,
            pinned,
            seen: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| Error::other(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(config),
            verifier,
        })
    }

    /// Runs the handshake over `wire` with `origin`'s name (SNI for host names, none for
    /// IP addresses), within the wire's timeout.
    pub fn connect(
        &self,
        mut wire: Wire,
        origin: &Origin,
    ) -> Result<(StreamOwned<ClientConnection, Wire>, TlsInfo), Error> {
        let name = ServerName::try_from(origin.host.clone()).map_err(|_| {
            Error::new(
                Kind::Tls,
                format!("'{}' is not a valid TLS server name", origin.host),
            )
        })?;
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| Error::new(Kind::Tls, format!("cannot start TLS with {origin}: {e}")))?;
        if let Ok(mut seen) = self.verifier.seen.lock() {
            *seen = None;
        }
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut wire) {
                return Err(self.failure(e, &wire, origin));
            }
        }
        let info = TlsInfo {
            version: conn
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("TLS")
                .replace("TLSv1_", "TLSv1."),
            suite: conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("unknown")
                .to_string(),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            cert: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| x509::summarize(c)),
        };
        Ok((StreamOwned::new(conn, wire), info))
    }

    /// The one line for a failed handshake.
    fn failure(&self, e: std::io::Error, wire: &Wire, origin: &Origin) -> Error {
        let tls = |m: String| Error::new(Kind::Tls, m);
        let plain = format!("http://{}/", origin.host_port());
        if is_timeout(&e) {
            return Error::timeout(format!(
                "timed out after {} s in the TLS handshake with {origin}; is it a TLS server? raise --timeout to wait longer",
                wire.timeout().as_secs_f64()
            ));
        }
        let e = match Error::from_io(e) {
            Ok(ours) => return ours,
            Err(e) => e,
        };
        if wire.first_bytes().starts_with(b"HTTP/") {
            return tls(format!(
                "{origin} answered in plain HTTP, not TLS; try {plain}"
            ));
        }
        let seen = self.verifier.seen.lock().ok().and_then(|s| s.clone());
        let cert = seen.as_deref().and_then(x509::summarize);
        let host = &origin.host;
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(c)) => {
                tls(tls_refusal::sentence(c, host, cert.as_ref()))
            }
            Some(rustls::Error::InvalidMessage(_)) => tls(format!(
                "{origin} did not answer in TLS (it sent \"{}\"); is it a plain HTTP port? try {plain}",
                wire.first_bytes().escape_ascii()
            )),
            Some(rustls::Error::AlertReceived(alert)) => {
                tls(format!("{origin} refused the TLS handshake ({alert:?} alert); it may need another TLS version or name"))
            }
            Some(other) => tls(format!("TLS handshake with {origin} failed: {other}")),
            None if wire.first_bytes().is_empty() => tls(format!(
                "{origin} closed the connection during the TLS handshake; is it a TLS server? try {plain}"
            )),
            None => tls(format!("TLS handshake with {origin} failed: {e}")),
        }
    }
}

/// Reads every certificate from a PEM file.
fn load_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let tls = |m: String| Error::new(Kind::Tls, m);
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls(format!("cannot read --cacert '{}': {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            tls(format!(
                "--cacert '{}' is not valid PEM: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(tls(format!(
            "--cacert '{}' holds no PEM certificates (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// Delegates to the real verifier (with the `--cacert` certificates that may stand for
/// themselves) and remembers the certificate it was shown, so a failure can name the
/// certificate's issuer, names and expiry.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    pinned: Pinned,
    seen: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.to_vec());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .or_else(|e| self.pinned.rescue(e, end_entity, server_name, now))
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, d)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, d)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `-k`: accepts any certificate, but still checks the handshake signatures, so the
/// connection is at least with whoever holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
