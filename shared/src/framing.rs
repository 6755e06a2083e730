//! Message body framing: how many bytes of body follow a head (RFC 9112 section 6).

/// How a message body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// Exactly this many bytes follow (0 means no body).
    Length(u64),
    /// The chunked transfer coding; decode with [`crate::chunked::ChunkedDecoder`].
    Chunked,
    /// The body runs until the peer closes the connection (responses only).
    UntilClose,
}
