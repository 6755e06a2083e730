//! `--cacert` naming the server's own certificate: a self-signed certificate (even one
//! marked `CA:TRUE`, as `openssl req -x509` makes) trusted as the end entity when it is
//! byte for byte one of the `--cacert` certificates, as curl and OpenSSL do; its name and
//! dates are still checked, and the handshake signatures still go to the provider.

use crate::x509::{self, Validity};
use rustls::client::danger::ServerCertVerified;
use rustls::client::verify_server_name;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::CertificateError;
use std::time::{Duration, UNIX_EPOCH};

/// The `--cacert` certificates that may stand for themselves (none with `-k`).
#[derive(Debug, Default)]
pub(crate) struct Pinned(Vec<CertificateDer<'static>>);

impl Pinned {
    pub fn new(certs: Vec<CertificateDer<'static>>) -> Pinned {
        Pinned(certs)
    }

    /// What the normal verifier's refusal `e` becomes: accepted only when it is one this
    /// rule overrides and the server's certificate is exactly one the user named; then
    /// the name and dates are checked here instead.
    pub fn rescue(
        &self,
        e: rustls::Error,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !overridable(&e) || !self.0.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Err(e);
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        verify_server_name(&parsed, server_name)?;
        let now = UNIX_EPOCH + Duration::from_secs(now.as_secs());
        match x509::validity_at(end_entity, now) {
            Some(Validity::Current) => Ok(ServerCertVerified::assertion()),
            Some(Validity::Expired(_)) => Err(CertificateError::Expired.into()),
            Some(Validity::NotYet(_)) => Err(CertificateError::NotValidYet.into()),
            None => Err(CertificateError::BadEncoding.into()),
        }
    }
}

/// The refusals a certificate the user named exactly overrides: it is its own
/// authority, whatever its basic constraints say or whoever its issuer is.
fn overridable(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::OtherError;
    use std::sync::Arc;

    fn webpki(e: webpki::Error) -> rustls::Error {
        CertificateError::Other(OtherError(Arc::new(e))).into()
    }

    #[test]
    fn only_an_unknown_issuer_or_a_ca_as_end_entity_is_overridden() {
        assert!(overridable(&CertificateError::UnknownIssuer.into()));
        assert!(overridable(&webpki(webpki::Error::CaUsedAsEndEntity)));
        assert!(!overridable(&webpki(webpki::Error::EndEntityUsedAsCa)));
        assert!(!overridable(&CertificateError::Expired.into()));
        assert!(!overridable(&CertificateError::NotValidForName.into()));
        assert!(!overridable(&CertificateError::BadSignature.into()));
    }

    #[test]
    fn a_certificate_not_named_keeps_the_normal_refusal() {
        let pinned = Pinned::new(vec![CertificateDer::from(vec![0x30, 0x00])]);
        let other = CertificateDer::from(vec![0x30, 0x01, 0x00]);
        let name = ServerName::try_from("localhost").unwrap();
        let now = UnixTime::since_unix_epoch(Duration::from_secs(0));
        let refused = pinned.rescue(CertificateError::UnknownIssuer.into(), &other, &name, now);
        assert_eq!(refused.err(), Some(CertificateError::UnknownIssuer.into()));
        // Named, but the refusal is not one this rule overrides.
        let named = CertificateDer::from(vec![0x30, 0x00]);
        let refused = pinned.rescue(CertificateError::Expired.into(), &named, &name, now);
        assert_eq!(refused.err(), Some(CertificateError::Expired.into()));
    }
}
