//! Unit tests of the TLS set-up: every start-up error, and real handshakes between a
//! rustls client and our configuration in memory (versions, ALPN, resumption, reload).

use super::load::{load, Holds, Problem, MAX_PEM_FILE};
use super::*;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair,
    SerialNumber,
};
use rustls::client::ClientConnection;
use rustls::server::ServerConnection;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};

struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        }
    }

    /// A leaf for localhost with `serial`, valid until `not_after`: (cert.pem, key.pem).
    fn leaf(&self, stem: &str, serial: u64, not_after: i32) -> TlsFiles {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.serial_number = Some(SerialNumber::from(serial));
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(not_after, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        TlsFiles {
            cert: self.write(&format!("{stem}cert.pem"), cert.pem().as_bytes()),
            key: self.write(&format!("{stem}key.pem"), key.serialize_pem().as_bytes()),
        }
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn client(
        &self,
        alpn: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

fn problem(files: &TlsFiles) -> (PathBuf, Problem, String) {
    let e = load(files, &provider(), SystemTime::now()).unwrap_err();
    let shown = e.to_string();
    (e.file, e.problem, shown)
}

fn files(cert: &Path, key: &Path) -> TlsFiles {
    TlsFiles {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
    }
}

/// Runs a handshake between `client` and `server` in memory, then lets post-handshake
/// messages (TLS 1.3 tickets) through. Returns the client connection.
fn handshake(client: Arc<ClientConfig>, server: &Tls) -> Result<ClientConnection, rustls::Error> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = ClientConnection::new(client, name).unwrap();
    let mut s = ServerConnection::new(server.config.clone()).unwrap();
    for _ in 0..20 {
        let mut moved = 0;
        let mut buf = Vec::new();
        while c.wants_write() {
            moved += c.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets()?;
        let mut buf = Vec::new();
        while s.wants_write() {
            moved += s.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets()?;
        if moved == 0 && !c.is_handshaking() && !s.is_handshaking() {
            return Ok(c);
        }
    }
    panic!("handshake did not settle");
}

fn peer_serial(c: &ClientConnection) -> String {
    let chain: &[CertificateDer<'_>] = c.peer_certificates().unwrap();
    x509::summary(chain[0].as_ref()).unwrap().serial_hex()
}

#[test]
fn a_good_pair_loads_with_its_serial_and_no_warning() {
    let pki = Pki::new();
    let good = pki.leaf("", 0x1001, 2099);
    let loaded = load(&good, &provider(), SystemTime::now()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.summary.unwrap().serial_hex(), "10:01");
    assert_eq!(loaded.key.cert.len(), 1);
}

#[test]
fn a_fullchain_keeps_every_certificate_in_order() {
    let pki = Pki::new();
    let good = pki.leaf("", 0x1001, 2099);
    let mut chain = std::fs::read(&good.cert).unwrap();
    chain.extend_from_slice(pki.ca.pem().as_bytes());
    let fullchain = pki.write("fullchain.pem", &chain);
    let loaded = load(
        &files(&fullchain, &good.key),
        &provider(),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(loaded.key.cert.len(), 2);
    assert_eq!(loaded.key.cert[1], *pki.ca.der());
}

#[test]
fn an_expired_certificate_is_a_warning_not_an_error() {
    let pki = Pki::new();
    let old = pki.leaf("old-", 0x1002, 2001);
    let loaded = load(&old, &provider(), SystemTime::now()).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert!(
        warning.contains("expired on 2001-01-01 00:00:00 UTC"),
        "{warning}"
    );
    assert!(
        warning.contains(&old.cert.display().to_string()),
        "{warning}"
    );
    assert!(warning.contains("renew"), "{warning}");
}

#[test]
fn a_certificate_not_yet_valid_is_a_warning() {
    let pki = Pki::new();
    let good = pki.leaf("", 0x1001, 2099);
    let long_ago = SystemTime::UNIX_EPOCH;
    let loaded = load(&good, &provider(), long_ago).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("not valid until 2000-01-01"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn missing_files_name_the_file_and_the_flag() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let nowhere = pki.dir.path().join("nope.pem");
    let (file, p, shown) = problem(&files(&nowhere, &good.key));
    assert_eq!(file, nowhere);
    assert!(matches!(p, Problem::CertUnreadable(_)), "{p:?}");
    assert!(
        shown.contains("nope.pem' not found") && shown.contains("--tls-cert"),
        "{shown}"
    );
    let (_, p, shown) = problem(&files(&good.cert, &nowhere));
    assert!(matches!(p, Problem::KeyUnreadable(_)), "{p:?}");
    assert!(
        shown.contains("nope.pem' not found") && shown.contains("--tls-key"),
        "{shown}"
    );
}

#[test]
fn swapped_files_are_recognised() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let (file, p, shown) = problem(&files(&good.key, &good.cert));
    assert_eq!(file, good.key);
    assert!(matches!(p, Problem::NoCertificate(Holds::Key)), "{p:?}");
    assert!(shown.contains("swap --tls-cert and --tls-key"), "{shown}");
    let (_, p, _) = problem(&files(&good.cert, &good.cert));
    assert!(matches!(p, Problem::NoKey(Holds::Certificate)), "{p:?}");
}

#[test]
fn files_without_pem_blocks_say_what_they_hold() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let empty = pki.write("empty.pem", b"\n\n");
    let (_, p, shown) = problem(&files(&empty, &good.key));
    assert!(matches!(p, Problem::NoCertificate(Holds::Nothing)), "{p:?}");
    assert!(shown.contains("no certificate in"), "{shown}");
    let der = std::fs::read(&good.cert).unwrap();
    let der = CertificateDer::from_pem_slice(&der).unwrap();
    let der = pki.write("cert.der", der.as_ref());
    let (_, p, shown) = problem(&files(&der, &good.key));
    assert!(matches!(p, Problem::NoCertificate(Holds::Der)), "{p:?}");
    assert!(shown.contains("openssl x509 -inform der"), "{shown}");
    let text = pki.write("notes.txt", b"just some notes\n");
    let (_, p, shown) = problem(&files(&good.cert, &text));
    assert!(matches!(p, Problem::NoKey(Holds::Other)), "{p:?}");
    assert!(shown.contains("no private key in"), "{shown}");
}

#[test]
fn broken_pem_and_oversized_files_are_refused() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let broken = pki.write(
        "broken.pem",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let (_, p, shown) = problem(&files(&broken, &good.key));
    assert!(matches!(p, Problem::BadPem(_)), "{p:?}");
    assert!(shown.contains("not valid PEM"), "{shown}");
    let unterminated = pki.write("cut.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
    assert!(matches!(
        problem(&files(&unterminated, &good.key)).1,
        Problem::BadPem(_)
    ));
    let huge = pki.write("huge.pem", &vec![b'\n'; MAX_PEM_FILE as usize + 1]);
    let (_, p, shown) = problem(&files(&huge, &good.key));
    assert!(matches!(p, Problem::TooLarge), "{p:?}");
    assert!(shown.contains("check the path"), "{shown}");
}

#[test]
fn a_certificate_block_that_is_not_x509_is_refused() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let junk = pki.write(
        "junk.pem",
        b"-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    );
    let (file, p, shown) = problem(&files(&junk, &good.key));
    assert_eq!(file, junk);
    assert!(matches!(p, Problem::BadCertificate(_)), "{p:?}");
    assert!(shown.contains("not a valid X.509 certificate"), "{shown}");
}

#[test]
fn encrypted_keys_are_refused_with_the_decrypt_command() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    for (name, pem) in [
        ("enc8.pem", &b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"[..]),
        ("enc1.pem", b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
    ] {
        let key = pki.write(name, pem);
        let (_, p, shown) = problem(&files(&good.cert, &key));
        assert!(matches!(p, Problem::EncryptedKey), "{name}: {p:?}");
        assert!(shown.contains("openssl pkey -in"), "{shown}");
    }
}

#[test]
fn a_key_that_does_not_match_names_both_files() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    let other = pki.leaf("other-", 2, 2099);
    let (file, p, shown) = problem(&files(&good.cert, &other.key));
    assert_eq!(file, other.key);
    assert!(
        matches!(p, Problem::KeyMismatch(ref c) if *c == good.cert),
        "{p:?}"
    );
    assert!(
        shown.contains("does not match the certificate in"),
        "{shown}"
    );
    assert!(shown.contains(&good.cert.display().to_string()), "{shown}");
}

#[test]
fn a_key_ring_cannot_use_is_refused() {
    let pki = Pki::new();
    let good = pki.leaf("", 1, 2099);
    // A well-formed PKCS#8 block whose contents are no key at all.
    let key = pki.write(
        "bogus-key.pem",
        b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
    );
    let (_, p, shown) = problem(&files(&good.cert, &key));
    assert!(matches!(p, Problem::UnusableKey(_)), "{p:?}");
    assert!(shown.contains("cannot use the private key"), "{shown}");
}

#[test]
fn handshakes_offer_tls_1_3_and_1_2_and_the_configured_alpn() {
    let pki = Pki::new();
    let (tls, warnings) = setup(pki.leaf("", 1, 2099), &[ALPN_HTTP1]).unwrap();
    assert!(warnings.is_empty());
    let offered: &[&[u8]] = &[b"h2", b"http/1.1"];
    let c = handshake(pki.client(offered, VERSIONS), &tls).unwrap();
    assert_eq!(c.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    let c = handshake(pki.client(&[], &[&rustls::version::TLS12]), &tls).unwrap();
    assert_eq!(c.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert_eq!(c.alpn_protocol(), None);
    // A client that offers only protocols we do not speak is refused (RFC 7301 section 3.2).
    assert!(handshake(pki.client(&[b"h2"], VERSIONS), &tls).is_err());
    // The list is the caller's: HTTP/2 will put h2 first.
    let (both, _) = setup(pki.leaf("b-", 2, 2099), &[b"h2", ALPN_HTTP1]).unwrap();
    let c = handshake(pki.client(offered, VERSIONS), &both).unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"h2"[..]));
}

#[test]
fn sessions_resume_with_tickets_on_both_versions() {
    let pki = Pki::new();
    let (tls, _) = setup(pki.leaf("", 1, 2099), &[ALPN_HTTP1]).unwrap();
    // Stateless tickets, not only the in-memory cache (which would resume just as well here
    // but not across a cache eviction).
    assert!(tls.config.ticketer.enabled());
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        // One client config keeps its session store between the two handshakes.
        let client = pki.client(&[ALPN_HTTP1], &[version]);
        let first = handshake(client.clone(), &tls).unwrap();
        assert_eq!(first.handshake_kind(), Some(rustls::HandshakeKind::Full));
        let again = handshake(client, &tls).unwrap();
        assert_eq!(
            again.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "{version:?}"
        );
    }
}

#[test]
fn reload_swaps_the_pair_for_new_handshakes_and_keeps_it_on_a_bad_one() {
    let pki = Pki::new();
    let files = pki.leaf("", 0x1001, 2099);
    let (tls, _) = setup(files.clone(), &[ALPN_HTTP1]).unwrap();
    let client = || pki.client(&[], VERSIONS);
    assert_eq!(peer_serial(&handshake(client(), &tls).unwrap()), "10:01");

    // certbot renews: new files at the same paths.
    let renewed = pki.leaf("renewed-", 0x2002, 2099);
    std::fs::copy(&renewed.cert, &files.cert).unwrap();
    std::fs::copy(&renewed.key, &files.key).unwrap();
    let done = tls.resolver.reload().unwrap();
    assert_eq!(done.summary.unwrap().serial_hex(), "20:02");
    assert_eq!(peer_serial(&handshake(client(), &tls).unwrap()), "20:02");

    // Half-written renewal: the new certificate with the old key. Refused, old pair kept.
    let next = pki.leaf("next-", 0x3003, 2099);
    std::fs::copy(&next.cert, &files.cert).unwrap();
    let e = tls.resolver.reload().unwrap_err();
    assert!(matches!(e.problem, Problem::KeyMismatch(_)), "{e}");
    assert_eq!(peer_serial(&handshake(client(), &tls).unwrap()), "20:02");

    // A missing file is refused the same way.
    std::fs::remove_file(&files.key).unwrap();
    assert!(tls.resolver.reload().is_err());
    assert_eq!(peer_serial(&handshake(client(), &tls).unwrap()), "20:02");
}

#[test]
fn hsts_is_a_max_age() {
    assert_eq!(hsts_value(31_536_000), "max-age=31536000");
}
