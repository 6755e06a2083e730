//! Size limits on what a peer may send, each named and explained.

/// Largest request head (request line plus fields) the server buffers, in bytes.
/// Browsers send 1-3 KiB; cookies can push it to ~8 KiB. nginx allows 4 x 8 KiB by
/// default; 16 KiB keeps a connection's buffer small while fitting every real browser.
/// A head larger than this gets 431.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Longest request target, in bytes. 8 KiB is what nginx (one large header buffer) and
/// most proxies accept; RFC 9112 section 3 recommends supporting at least 8000 octets.
/// A longer target gets 414.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Most header fields parsed in one request. Real browsers send about 20; 100 leaves
/// room for proxies while bounding the work per request. More gets 431.
pub const MAX_HEADERS: usize = 100;

/// Largest request body the server reads and discards to keep a connection usable
/// (a GET with a body). Anything larger gets 413 and the connection is closed.
pub const MAX_DISCARDED_BODY: u64 = 1024 * 1024;

/// Longest chunk-size line (size, extensions, CRLF) the chunked decoder accepts.
/// Sizes are at most 16 hex digits; 4 KiB leaves generous room for extensions.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Most trailer bytes the chunked decoder accepts after the last chunk.
pub const MAX_TRAILERS: usize = 16 * 1024;

/// Largest response head (status line plus fields) the client buffers, in bytes.
/// Real heads are well under 8 KiB, but a few `Set-Cookie` or CSP fields can reach tens
/// of KiB; curl stops at 100 KiB. 64 KiB accepts every real server while bounding what a
/// hostile one can make the client hold.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Most header fields parsed in one response. Servers send 5-30; CDNs add a dozen more,
/// and some send dozens of `Set-Cookie`. 256 leaves room for them and bounds the field
/// array (8 KiB) the client keeps on its stack.
pub const MAX_RESPONSE_HEADERS: usize = 256;
