//! One open connection: its stream, the bytes read from it and not yet used (the start
//! of the next head or body), and the TLS details of its handshake.

use crate::stream::Stream;
use crate::target::Origin;
use crate::tls::TlsInfo;

/// One open connection: its stream and the bytes read from it but not yet used.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The server at the other end.
    pub origin: Origin,
    /// The stream.
    pub stream: Stream,
    /// Bytes received and not yet parsed (the start of the next head or body).
    pub buf: Vec<u8>,
    /// The handshake details, until the first response over it reports them.
    pub tls: Option<TlsInfo>,
}
