//! TLS peers for the client's tests: a rustls server on 127.0.0.1:0 (ring) presenting one
//! of [`crate::certs::TestCerts`]' leaves, answering each request over TLS with a canned
//! reply, optionally cutting the connection without `close_notify`; and nginx with `ssl`.

use crate::client::{nginx_with, Background};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// How a [`TlsPeer`] ends each connection after its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Keep the connection for more requests (the reply must be framed).
    KeepAlive,
    /// Send `close_notify`, then close.
    CloseNotify,
    /// Close the TCP connection without `close_notify` (a truncation attack's shape).
    Cut,
}

/// A TLS server answering every request with `reply`.
#[derive(Debug, Clone)]
pub struct TlsPeer {
    /// The port it listens on.
    pub port: u16,
    /// How many TCP connections it accepted.
    pub connections: Arc<AtomicUsize>,
    /// The server name (SNI) each handshake asked for, in order; `None` without SNI.
    pub names: Arc<Mutex<Vec<Option<String>>>>,
}

impl TlsPeer {
    /// Starts a peer presenting `cert` (PEM chain) with `key`, TLS 1.2 and 1.3, or only
    /// `versions` when given.
    pub fn start(
        cert: &Path,
        key: &Path,
        reply: &'static [u8],
        ending: Ending,
        versions: Option<&'static [&'static rustls::SupportedProtocolVersion]>,
    ) -> TlsPeer {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .expect("read cert")
            .collect::<Result<_, _>>()
            .expect("parse cert");
        let key = PrivateKeyDer::from_pem_file(key).expect("read key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider);
        let builder = match versions {
            Some(v) => builder.with_protocol_versions(v),
            None => builder.with_safe_default_protocol_versions(),
        }
        .expect("protocol versions");
        let mut config = builder
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let peer = TlsPeer {
            port: listener.local_addr().expect("local_addr").port(),
            connections: Arc::new(AtomicUsize::new(0)),
            names: Arc::new(Mutex::new(Vec::new())),
        };
        let count = Arc::clone(&peer.connections);
        let names = Arc::clone(&peer.names);
        thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let (config, names) = (Arc::clone(&config), Arc::clone(&names));
                thread::spawn(move || serve(config, tcp, reply, ending, &names));
            }
        });
        peer
    }

    /// How many connections it accepted.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(
    config: Arc<rustls::ServerConfig>,
    mut tcp: TcpStream,
    reply: &[u8],
    ending: Ending,
    names: &Mutex<Vec<Option<String>>>,
) {
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            // Whatever rustls has to say (an alert for a plaintext request) goes out.
            let _ = conn.write_tls(&mut tcp);
            return;
        }
    }
    names
        .lock()
        .expect("names lock")
        .push(conn.server_name().map(str::to_string));
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        if tls.write_all(reply).and_then(|()| tls.flush()).is_err() {
            return;
        }
        match ending {
            Ending::KeepAlive => continue,
            Ending::CloseNotify => {
                tls.conn.send_close_notify();
                let _ = tls.flush();
                return;
            }
            Ending::Cut => return,
        }
    }
}

/// A plain TCP peer that writes `bytes` as soon as a connection opens (a plain-HTTP
/// server answering a TLS ClientHello with a 400), then closes.
pub fn greeter(bytes: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local_addr").port();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let _ = tcp.write_all(bytes);
            let mut sink = [0u8; 4096];
            let _ = tcp.read(&mut sink);
        }
    });
    port
}

/// Debian's nginx with `ssl` on a loopback port, serving `root` with `cert` and `key`.
pub fn nginx_tls(nginx: &Path, root: &Path, cert: &Path, key: &Path) -> io::Result<Background> {
    let body = format!(
        "ssl_certificate {};\n    ssl_certificate_key {};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    \
         root {};\n    keepalive_timeout 30s;",
        cert.display(),
        key.display(),
        root.display()
    );
    nginx_with(nginx, " ssl", &body)
}

/// A self-signed certificate for localhost whose subject (and so issuer) common name
/// carries terminal escape sequences, written as `hostile-cert.pem` and `hostile-key.pem`
/// in `dir`: what a client must never print raw.
pub fn hostile_self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "evil \u{1b}]0;pwned\u{7} CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-sign");
    let (cert_path, key_path) = (dir.join("hostile-cert.pem"), dir.join("hostile-key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (cert_path, key_path)
}
