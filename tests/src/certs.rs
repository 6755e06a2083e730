//! Test certificates made on the fly with rcgen (ring): a CA, leaves it signs, and the broken
//! inputs a TLS loader must reject, written as PEM files into one temporary folder.
//!
//! ```no_run
//! let certs = tests::certs::TestCerts::new();
//! // server --tls-cert certs.cert_pem() --tls-key certs.key_pem()
//! // curl --cacert certs.ca_pem() https://localhost:PORT/
//! ```

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Serial number of the good leaf (`cert.pem`), so a test can tell it from a reissued one.
pub const LEAF_SERIAL: u64 = 0x1001;
/// Serial number of the expired leaf.
pub const EXPIRED_SERIAL: u64 = 0x1002;
/// Serial number of the wrong-name leaf.
pub const WRONG_NAME_SERIAL: u64 = 0x1003;
/// The names every good leaf is issued for: what loopback tests connect to.
pub const LOOPBACK_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// One leaf certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The leaf certificate alone (PEM `CERTIFICATE`).
    pub cert: PathBuf,
    /// The leaf followed by the CA, as certbot's `fullchain.pem` is laid out.
    pub fullchain: PathBuf,
    /// Its private key, PKCS#8 (PEM `PRIVATE KEY`).
    pub key: PathBuf,
    /// The same key as SEC1 (PEM `EC PRIVATE KEY`), the form `openssl ecparam -genkey` writes.
    pub key_sec1: PathBuf,
    /// The certificate's DER.
    pub der: CertificateDer<'static>,
    /// Its serial number.
    pub serial: u64,
    /// DER SubjectPublicKeyInfo of its key (Chromium's `--ignore-certificate-errors-spki-list`).
    pub spki: Vec<u8>,
}

/// The server's flags for a certificate and its key, `--tls-cert CERT --tls-key KEY`,
/// followed by `extra`.
pub fn tls_flags<'a>(cert: &'a Path, key: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec![
        "--tls-cert",
        cert.to_str().expect("a UTF-8 temporary path"),
        "--tls-key",
        key.to_str().expect("a UTF-8 temporary path"),
    ];
    flags.extend_from_slice(extra);
    flags
}

impl Leaf {
    /// The server's flags for this leaf ([`tls_flags`]), followed by `extra`.
    pub fn server_flags<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        tls_flags(&self.cert, &self.key, extra)
    }
}

/// A CA and the leaves it signed, in a temporary folder removed on drop.
#[derive(Debug)]
pub struct TestCerts {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// Good leaf for localhost, 127.0.0.1 and ::1 (`cert.pem`, `key.pem`).
    pub leaf: Leaf,
    /// A leaf whose validity ended in 2001 (`expired-cert.pem`, `expired-key.pem`).
    pub expired: Leaf,
    /// A leaf for `wrong.example` only (`wrong-name-cert.pem`, `wrong-name-key.pem`).
    pub wrong_name: Leaf,
    /// A key that matches none of the certificates (`other-key.pem`).
    pub other_key: PathBuf,
}

impl Default for TestCerts {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCerts {
    /// Makes the CA and every leaf; panics only if rcgen or the temp folder fails (a test bug).
    pub fn new() -> TestCerts {
        let dir = tempfile::tempdir().expect("temp dir for certificates");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "server tests CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2099, 1, 1);
        params.serial_number = Some(SerialNumber::from(1u64));
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("self-sign CA");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca.pem");

        let mut certs = TestCerts {
            leaf: placeholder(),
            expired: placeholder(),
            wrong_name: placeholder(),
            other_key: dir.path().join("other-key.pem"),
            ca,
            dir,
        };
        certs.leaf = certs.issue("", LOOPBACK_NAMES, LEAF_SERIAL, Validity::Current);
        certs.expired = certs.issue(
            "expired-",
            LOOPBACK_NAMES,
            EXPIRED_SERIAL,
            Validity::Expired,
        );
        certs.wrong_name = certs.issue(
            "wrong-name-",
            &["wrong.example"],
            WRONG_NAME_SERIAL,
            Validity::Current,
        );
        let other = KeyPair::generate().expect("other key");
        std::fs::write(&certs.other_key, other.serialize_pem()).expect("write other-key.pem");
        certs
    }

    /// The folder holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `ca.pem`: the CA certificate a client trusts (`curl --cacert`).
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's flags for the good leaf ([`tls_flags`]), followed by `extra`.
    pub fn server_flags<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        self.leaf.server_flags(extra)
    }

    /// `cert.pem`: the good leaf.
    pub fn cert_pem(&self) -> PathBuf {
        self.leaf.cert.clone()
    }

    /// `key.pem`: the good leaf's key (PKCS#8).
    pub fn key_pem(&self) -> PathBuf {
        self.leaf.key.clone()
    }

    /// The CA certificate as DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// Issues another good leaf for `names` with `serial`, written as `<stem>cert.pem`,
    /// `<stem>key.pem`... (a reissue for a reload test: same CA, new serial, new key).
    pub fn issue_leaf(&self, stem: &str, names: &[&str], serial: u64) -> Leaf {
        self.issue(stem, names, serial, Validity::Current)
    }

    /// A rustls client configuration (ring) that trusts only this CA, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der()).expect("CA certificate is valid");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    fn issue(&self, stem: &str, names: &[&str], serial: u64, validity: Validity) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf names are valid SANs");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("server tests leaf {serial:#x}"));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from(serial));
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (date_time_ymd(2000, 1, 1), date_time_ymd(2099, 1, 1)),
            Validity::Expired => (date_time_ymd(2000, 1, 1), date_time_ymd(2001, 1, 1)),
        };
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.ca).expect("CA signs leaf");
        let path = |name: &str| self.dir.path().join(format!("{stem}{name}"));
        let leaf = Leaf {
            cert: path("cert.pem"),
            fullchain: path("fullchain.pem"),
            key: path("key.pem"),
            key_sec1: path("key-sec1.pem"),
            der: cert.der().clone(),
            serial,
            spki: key.subject_public_key_info(),
        };
        std::fs::write(&leaf.cert, cert.pem()).expect("write leaf");
        std::fs::write(&leaf.fullchain, cert.pem() + &self.ca.pem()).expect("write fullchain");
        std::fs::write(&leaf.key, key.serialize_pem()).expect("write key");
        let sec1 = sec1_from_pkcs8(key.serialized_der()).expect("ring writes EC PKCS#8");
        std::fs::write(&leaf.key_sec1, pem("EC PRIVATE KEY", sec1)).expect("write SEC1 key");
        leaf
    }
}

impl Leaf {
    /// Base64 of the SHA-256 of the key's SubjectPublicKeyInfo: the value Chromium's
    /// `--ignore-certificate-errors-spki-list` takes.
    pub fn spki_sha256_base64(&self) -> String {
        base64(sha256(&self.spki).as_ref())
    }
}

/// The serial number of a DER certificate, big-endian without leading zeros, or `None` if the
/// DER is not a certificate. For telling a reissued certificate from the old one.
pub fn serial_of(cert_der: &[u8]) -> Option<Vec<u8>> {
    let (tag, cert, _) = tlv(cert_der)?;
    let (tbs_tag, tbs, _) = tlv(cert)?;
    if tag != 0x30 || tbs_tag != 0x30 {
        return None;
    }
    let (mut tag, mut value, mut rest) = tlv(tbs)?;
    if tag == 0xa0 {
        // The explicit [0] version comes first when present.
        (tag, value, rest) = tlv(rest)?;
    }
    let _ = rest;
    if tag != 0x02 {
        return None;
    }
    let start = value.iter().position(|b| *b != 0).unwrap_or(value.len());
    Some(value[start..].to_vec())
}

/// `serial` as [`serial_of`] returns it.
pub fn serial_bytes(serial: u64) -> Vec<u8> {
    let bytes = serial.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

#[derive(Clone, Copy)]
enum Validity {
    Current,
    Expired,
}

fn placeholder() -> Leaf {
    Leaf {
        cert: PathBuf::new(),
        fullchain: PathBuf::new(),
        key: PathBuf::new(),
        key_sec1: PathBuf::new(),
        der: CertificateDer::from(Vec::new()),
        serial: 0,
        spki: Vec::new(),
    }
}

/// One DER tag-length-value: (tag, value, rest). Short and long lengths up to 4 bytes.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, der) = der.split_first()?;
    let (&first, mut der) = der.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || der.len() < count {
            return None;
        }
        let (bytes, rest) = der.split_at(count);
        der = rest;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if der.len() < len {
        return None;
    }
    let (value, rest) = der.split_at(len);
    Some((tag, value, rest))
}

/// The SEC1 `ECPrivateKey` inside an EC P-256 PKCS#8 `PrivateKeyInfo`, with the curve's
/// `[0] parameters` put back (ring leaves them to the outer algorithm; OpenSSL needs them).
fn sec1_from_pkcs8(pkcs8: &[u8]) -> Option<Vec<u8>> {
    /// `[0] { OID 1.2.840.10045.3.1.7 }`: named curve prime256v1, what `KeyPair::generate` makes.
    const P256_PARAMETERS: &[u8] = &[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let (_, info, _) = tlv(pkcs8)?;
    let (_, _version, rest) = tlv(info)?;
    let (_, _algorithm, rest) = tlv(rest)?;
    let (tag, key, _) = tlv(rest)?;
    let (seq, fields, _) = tlv(key)?;
    if tag != 0x04 || seq != 0x30 {
        return None;
    }
    let (_, _, after_version) = tlv(fields)?;
    let (_, _, after_private) = tlv(after_version)?;
    let head = fields.len() - after_private.len();
    let mut body = fields[..head].to_vec();
    body.extend_from_slice(P256_PARAMETERS);
    body.extend_from_slice(after_private);
    let mut out = vec![0x30];
    match u8::try_from(body.len()) {
        Ok(len) if len < 0x80 => out.push(len),
        Ok(len) => out.extend_from_slice(&[0x81, len]),
        Err(_) => return None,
    }
    out.extend_from_slice(&body);
    Some(out)
}

fn sha256(data: &[u8]) -> rustls::crypto::hash::Output {
    // rustls exposes ring's SHA-256 through its cipher suites; no extra crate needed.
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256;
    let tls13 = suite.tls13().expect("a TLS 1.3 suite");
    tls13.common.hash_provider.hash(data)
}

fn pem(label: &str, der: Vec<u8>) -> String {
    let body = base64(&der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out + &format!("-----END {label}-----\n")
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn every_file_exists_and_serials_read_back() {
        let certs = TestCerts::new();
        for path in [
            certs.ca_pem(),
            certs.cert_pem(),
            certs.key_pem(),
            certs.leaf.fullchain.clone(),
            certs.leaf.key_sec1.clone(),
            certs.expired.cert.clone(),
            certs.wrong_name.key.clone(),
            certs.other_key.clone(),
        ] {
            assert!(path.is_file(), "{} missing", path.display());
        }
        assert_eq!(serial_of(&certs.leaf.der), Some(serial_bytes(LEAF_SERIAL)));
        assert_eq!(
            serial_of(&certs.expired.der),
            Some(serial_bytes(EXPIRED_SERIAL))
        );
        let again = certs.issue_leaf("again-", LOOPBACK_NAMES, 0x2002);
        assert_eq!(serial_of(&again.der), Some(serial_bytes(0x2002)));
        assert_eq!(serial_of(b"\x30\x03\x02\x01"), None);
    }

    #[test]
    fn the_sec1_key_is_the_same_key_as_the_pkcs8_one() {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::PrivateKeyDer;
        let certs = TestCerts::new();
        let sec1 = PrivateKeyDer::from_pem_file(&certs.leaf.key_sec1).expect("SEC1 parses");
        assert!(matches!(sec1, PrivateKeyDer::Sec1(_)), "{sec1:?}");
        let provider = rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(sec1)
            .expect("ring loads SEC1");
        let spki = key.public_key().expect("ECDSA keys expose their SPKI");
        assert_eq!(spki.as_ref(), certs.leaf.spki.as_slice());
    }

    #[test]
    fn a_rustls_client_trusting_the_ca_verifies_the_leaf_for_every_loopback_name() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls_pki_types::{ServerName, UnixTime};
        let certs = TestCerts::new();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certs.ca_der()).expect("CA");
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .expect("verifier");
        let now = UnixTime::now();
        for name in LOOPBACK_NAMES {
            let name = ServerName::try_from(*name).expect("name");
            webpki
                .verify_server_cert(&certs.leaf.der, &[], &name, &[], now)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        }
        let localhost = ServerName::try_from("localhost").expect("name");
        assert!(webpki
            .verify_server_cert(&certs.expired.der, &[], &localhost, &[], now)
            .is_err());
        assert!(webpki
            .verify_server_cert(&certs.wrong_name.der, &[], &localhost, &[], now)
            .is_err());
    }
}
