//! One plain sentence, with the next step, for each way a server's certificate is
//! refused (rustls' `CertificateError`, and the webpki errors it carries as `Other`):
//! never a Debug value.

use crate::terminal::escape_line;
use crate::x509::{self, CertSummary};
use rustls::pki_types::UnixTime;
use rustls::CertificateError;
use shared::wire::date::civil;
use std::time::{Duration, UNIX_EPOCH};

/// The line for a refused certificate of `host`; `cert` is our own reading of it.
pub(crate) fn sentence(c: &CertificateError, host: &str, cert: Option<&CertSummary>) -> String {
    let skip = "or -k to skip verification (insecure)";
    let names = || match (cert, c) {
        // Our own reading of the certificate first: rustls' list is debug text.
        (Some(c), _) => escape_line(c.names_list().as_bytes()),
        (None, CertificateError::NotValidForNameContext { presented, .. })
            if !presented.is_empty() =>
        {
            escape_line(presented.join(", ").as_bytes())
        }
        _ => "other names".into(),
    };
    let refused = |why: &str, next: &str| {
        format!("the certificate of {host} was refused: {why}; {next} ({skip})")
    };
    #[allow(deprecated)] // the deprecated variants may still arrive from a verifier
    match c {
        CertificateError::UnknownIssuer => format!(
            "the certificate of {host} was issued by an authority this system does not trust{}; pass --cacert FILE with that CA, {skip}",
            cert.map(|c| format!(" ({})", escape_line(c.issuer.as_bytes()))).unwrap_or_default()
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            let when = match c {
                CertificateError::ExpiredContext { not_after, .. } => date(*not_after),
                _ => cert.map(|c| c.not_after.clone()).unwrap_or_else(|| "an unknown date".into()),
            };
            format!("the certificate of {host} expired on {when}; the server must renew it ({skip})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            let when = match c {
                CertificateError::NotValidYetContext { not_before, .. } => {
                    format!(" (it starts on {})", date(*not_before))
                }
                _ => String::new(),
            };
            format!("the certificate of {host} is not valid yet{when}; check this machine's clock ({skip})")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let names = names();
            format!("the certificate of {host} is for {names}, not {host}; connect with one of those names, {skip}")
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => refused(
            "it is not for TLS servers (its extended key usage lacks serverAuth)",
            "the server needs a certificate issued for serverAuth",
        ),
        CertificateError::BadEncoding => refused(
            "it is not a well-formed X.509 certificate",
            "check the server's certificate file",
        ),
        CertificateError::BadSignature => refused(
            "its signature does not match its issuer's key",
            "the server must send the chain its certificate was really issued by",
        ),
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => refused(
            "it is signed with an algorithm this client does not accept",
            "the server needs a certificate signed with RSA-PSS/PKCS#1 SHA-256+, ECDSA or Ed25519",
        ),
        CertificateError::UnhandledCriticalExtension => refused(
            "it has a critical extension this client does not understand",
            "the server needs a certificate without it",
        ),
        CertificateError::Revoked => refused(
            "its issuer has revoked it",
            "the server must get a new certificate",
        ),
        CertificateError::UnknownRevocationStatus
        | CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => refused(
            "its revocation status cannot be checked",
            "try again later",
        ),
        CertificateError::InvalidOcspResponse => refused(
            "the server's OCSP response is invalid",
            "the server must fix its OCSP stapling",
        ),
        CertificateError::ApplicationVerificationFailure => refused(
            "it failed verification",
            "check it with openssl s_client -showcerts",
        ),
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(e) => webpki_sentence(e, host, skip),
            None => refused(
                "it failed verification (not for a TLS server, or refused by the system's policy)",
                "check it with openssl s_client -showcerts",
            ),
        },
        _ => refused(
            "it failed verification",
            "check it with openssl s_client -showcerts",
        ),
    }
}

/// The webpki errors rustls does not name itself.
fn webpki_sentence(e: &webpki::Error, host: &str, skip: &str) -> String {
    let (why, next) = match e {
        webpki::Error::CaUsedAsEndEntity => (
            "it is a CA certificate (CA:TRUE) used as the server's own",
            "pass that very certificate with --cacert FILE, or make one with -addext basicConstraints=critical,CA:FALSE",
        ),
        webpki::Error::EndEntityUsedAsCa => (
            "the chain it came with uses a server certificate as an authority",
            "the server must send its real intermediate certificates",
        ),
        webpki::Error::CertDistrusted => (
            "its authority is distrusted",
            "the server needs a certificate from another authority",
        ),
        webpki::Error::NameConstraintViolation => (
            "its names are outside what its authority may certify",
            "the server needs a certificate from an authority allowed to name it",
        ),
        webpki::Error::PathLenConstraintViolated
        | webpki::Error::MaximumPathDepthExceeded
        | webpki::Error::MaximumPathBuildCallsExceeded
        | webpki::Error::MaximumSignatureChecksExceeded
        | webpki::Error::MaximumNameConstraintComparisonsExceeded => (
            "its chain of authorities is too long or too tangled to check",
            "the server must send a shorter chain",
        ),
        webpki::Error::UnsupportedCertVersion => (
            "it is not an X.509 version 3 certificate",
            "the server needs a v3 certificate",
        ),
        webpki::Error::EmptyEkuExtension => (
            "its extended key usage is empty",
            "the server needs a certificate issued for serverAuth",
        ),
        _ => (
            "it is malformed or uses a feature this client does not support",
            "check it with openssl x509 -text",
        ),
    };
    format!("the certificate of {host} was refused: {why}; {next} ({skip})")
}

/// A date for messages: `2001-01-01 00:00:00 UTC`.
fn date(t: UnixTime) -> String {
    x509::show(&civil(UNIX_EPOCH + Duration::from_secs(t.as_secs())))
}
