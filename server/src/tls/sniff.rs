//! Telling TLS from plain HTTP by a connection's first bytes, so the wrong protocol on a
//! port gets a short, useful answer instead of a parse error: a TLS ClientHello on the
//! plain-HTTP port is closed with one log line, a plain HTTP request on the TLS port gets
//! a `400` saying to use https:// (as nginx's 497 does).

use shared::wire::format;
use shared::StatusCode;
use std::time::SystemTime;

/// TLS record content type of a handshake message (RFC 8446 section 5.1).
const HANDSHAKE_RECORD: u8 = 0x16;
/// Major version byte of every TLS record's legacy version (SSL 3.0 to TLS 1.3: 3.x).
const RECORD_MAJOR_VERSION: u8 = 0x03;
/// Handshake message type of a ClientHello (RFC 8446 section 4).
const CLIENT_HELLO: u8 = 0x01;

/// The log line for a TLS handshake that reached the plain-HTTP port.
pub const TLS_ON_PLAIN_PORT: &str = "TLS handshake on a plain-HTTP port";

/// The log line for a plain HTTP request that reached the TLS port.
pub const PLAIN_ON_TLS_PORT: &str = "plain HTTP request on the HTTPS port; answered 400";

/// Whether the first bytes of a connection on the plain-HTTP port are a TLS handshake.
///
/// No HTTP request starts with byte 0x16 (a request line starts with a method token or an
/// empty line), so one byte decides; later bytes, when already read, must agree with a
/// TLS record header (`16 03 0x`) or an SSL 2.0-format ClientHello (old scanners).
pub fn is_tls_handshake(first: &[u8]) -> bool {
    match first {
        [] => false,
        [HANDSHAKE_RECORD] => true,
        [HANDSHAKE_RECORD, major, ..] => *major == RECORD_MAJOR_VERSION,
        // SSL 2.0 record: two-byte length with the top bit set, then message type 1.
        [len, _, CLIENT_HELLO, ..] => len & 0x80 != 0,
        _ => false,
    }
}

/// Whether the first bytes of a connection on the TLS port are a plain HTTP request.
///
/// A TLS record starts with a content type from 20 to 24 (or an SSL 2.0 length with the top
/// bit set); a request line starts with a method, letters in every registered method. A
/// letter therefore cannot begin TLS, and anything else is left to rustls to refuse.
pub fn is_plain_http(first: &[u8]) -> bool {
    first.first().is_some_and(u8::is_ascii_alphabetic)
}

/// The whole response to a plain HTTP request on the TLS port: `400` with a one-line
/// body telling the user to switch to https://, and `Connection: close`.
pub fn plain_http_rejection(now: SystemTime) -> Vec<u8> {
    const BODY: &[u8] = b"This port speaks HTTPS: use https:// in the URL instead of http://.\n";
    let mut out = Vec::with_capacity(256);
    format::status_line(&mut out, StatusCode(400));
    format::header(
        &mut out,
        "Date",
        shared::wire::date::format_http_date(now).as_bytes(),
    );
    format::header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
    format::header_u64(&mut out, "Content-Length", BODY.len() as u64);
    format::header(&mut out, "Connection", b"close");
    format::end_head(&mut out);
    out.extend_from_slice(BODY);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of real ClientHellos: curl/OpenSSL (record version 3.1), an old
    /// TLS 1.0 client (3.1), SSL 3.0 (3.0), and a record announcing TLS 1.2 (3.3).
    const HELLOS: &[&[u8]] = &[
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"\x16\x03\x00\x00\x2f\x01",
        b"\x16\x03\x03\x00\xc4\x01",
        b"\x16",
        b"\x16\x03",
        // SSL 2.0-format ClientHello (length 0x0031 with the top bit, type 1, version 3.1).
        b"\x80\x31\x01\x03\x01",
    ];

    const REQUESTS: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n",
        b"HEAD /x HTTP/1.0\r\n",
        b"POST",
        b"OPTIONS * HTTP/1.1\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"get / HTTP/1.1\r\n",
        b"G",
    ];

    #[test]
    fn client_hellos_are_tls_and_not_http() {
        for hello in HELLOS {
            assert!(is_tls_handshake(hello), "{hello:02x?}");
            assert!(!is_plain_http(hello), "{hello:02x?}");
        }
    }

    #[test]
    fn requests_are_http_and_not_tls() {
        for request in REQUESTS {
            assert!(is_plain_http(request), "{request:?}");
            assert!(!is_tls_handshake(request), "{request:?}");
        }
    }

    #[test]
    fn other_bytes_are_neither() {
        // Empty, a TLS alert record, 0x16 with a non-TLS version, a leading CRLF, a NUL.
        for other in [
            &b""[..],
            b"\x15\x03\x03\x00\x02",
            b"\x16\x01\x00",
            b"\r\nGET / HTTP/1.1\r\n",
            b"\x00\x00\x01",
        ] {
            assert!(!is_tls_handshake(other), "{other:02x?}");
            assert!(!is_plain_http(other), "{other:02x?}");
        }
    }

    #[test]
    fn the_rejection_is_a_complete_400_that_says_https() {
        let reply = plain_http_rejection(SystemTime::UNIX_EPOCH);
        let text = String::from_utf8(reply).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(
            head.contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\nContent-Length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains("https://"), "{body}");
    }
}
