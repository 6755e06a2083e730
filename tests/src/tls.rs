//! A blocking rustls client for the end-to-end tests: connect to a loopback server as
//! `localhost`, finish the handshake, then speak raw bytes over it, and see what the server
//! presented (certificate serial, protocol version, ALPN) and whether it closed cleanly.

use crate::certs::serial_of;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Longest a read waits, so a hung server fails the test instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS connection to the server under test.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// Connects to `addr` and completes a handshake for `localhost` with `config`.
pub fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsStream> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    let name = ServerName::try_from("localhost").expect("a valid name");
    let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// The serial number of the certificate the server presented (see [`crate::certs::serial_bytes`]).
pub fn peer_serial(stream: &TlsStream) -> Option<Vec<u8>> {
    let chain = stream.conn.peer_certificates()?;
    serial_of(chain.first()?.as_ref())
}

/// How a connection ended, as seen by [`read_to_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server sent `close_notify` (RFC 8446 section 6.1) before closing.
    CloseNotify,
    /// The TCP connection ended without `close_notify` (a truncation, to a TLS client).
    Truncated,
    /// The read timed out or failed otherwise.
    Error,
}

/// Reads everything until the server closes, and how it closed.
pub fn read_to_end(stream: &mut TlsStream) -> (Vec<u8>, Ending) {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (out, Ending::CloseNotify),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return (out, Ending::Truncated),
            Err(_) => return (out, Ending::Error),
        }
    }
}

/// Sends one request with `Connection: close` and reads until the server closes.
pub fn exchange(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    request: &[u8],
) -> io::Result<(Vec<u8>, Ending)> {
    let mut stream = connect(addr, config)?;
    stream.write_all(request)?;
    stream.flush()?;
    Ok(read_to_end(&mut stream))
}

/// Like [`exchange`], but the request leaves in the same write as the client's
/// `Finished`, as from a client with `TCP_NODELAY` that writes at once (curl, wrk,
/// browsers): the server then finds the request already there when its handshake ends.
pub fn exchange_with_finished(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    request: &[u8],
) -> io::Result<(Vec<u8>, Ending)> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost").expect("a valid name");
    let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    while conn.wants_write() {
        conn.write_tls(&mut tcp)?;
    }
    while conn.is_handshaking() {
        if conn.read_tls(&mut tcp)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        conn.process_new_packets().map_err(io::Error::other)?;
    }
    // Finished is queued, not yet written: the request joins it.
    conn.writer().write_all(request)?;
    while conn.wants_write() {
        conn.write_tls(&mut tcp)?;
    }
    let mut stream = StreamOwned::new(conn, tcp);
    Ok(read_to_end(&mut stream))
}
