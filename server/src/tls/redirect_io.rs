//! One connection on the `--redirect-http` port: read one request head within the head
//! deadline, answer it with the redirect (or the refusal), close.

use super::accept::{answer_and_close, Limits};
use super::redirect::{location, response, Answer};
use super::sniff;
use crate::access_log::{self, MAX_LOGGED_REQUEST_LINE};
use crate::rt::Async;
use crate::watchdog::{Phase, Watchdog};
use shared::wire::limits::{MAX_HEADERS, MAX_REQUEST_HEAD};
use shared::wire::request::{parse_request, Status, EMPTY_HEADER};
use shared::StatusCode;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::SystemTime;

/// Size of one read: a typical head fits, and the buffer never grows past
/// [`MAX_REQUEST_HEAD`] plus one read.
const READ_CHUNK: usize = 4096;

/// Serves one redirect connection. `tls_port` goes into every Location; answers go to
/// the access log unless `quiet`. Returns a line for stderr when the request was refused
/// or was a TLS handshake (a redirect needs none).
pub(crate) async fn serve(
    tcp: Async<TcpStream>,
    peer: SocketAddr,
    tls_port: u16,
    watchdog: &Watchdog,
    limits: Limits,
    quiet: bool,
) -> Option<String> {
    // Silent connections get the same allowance as on the other ports; the head's
    // deadline runs from its first byte.
    let watch = watchdog.register(tcp.get_ref().as_fd(), limits.head);
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        let start = buf.len();
        buf.resize(start + READ_CHUNK, 0);
        match tcp.read_with(|s| (&*s).read(&mut buf[start..])).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.truncate(start + n),
        }
        if start == 0 {
            watch.set_phase(Phase::Head);
            watch.arm(limits.head);
        }
        if sniff::is_tls_handshake(&buf) {
            return Some(format!("server: {peer}: {}", sniff::TLS_ON_PLAIN_PORT));
        }
        let mut headers = [EMPTY_HEADER; MAX_HEADERS];
        let reply = match parse_request(&buf, &mut headers) {
            Ok(Status::Partial) if buf.len() <= MAX_REQUEST_HEAD => continue,
            Ok(Status::Partial) => refusal(StatusCode::HEADERS_TOO_LARGE, "request head too large"),
            Ok(Status::Complete(req)) => {
                let head_only = req.method == "HEAD";
                let line = format!("{} {} {}", req.method, req.target, req.version.as_str());
                let now = SystemTime::now();
                match location(&req, tls_port) {
                    Ok(url) => Reply {
                        bytes: response(Answer::Redirect(&url), head_only, now),
                        status: StatusCode(308),
                        line: line.into_bytes(),
                        refused: None,
                    },
                    Err(e) => {
                        let refuse = Answer::Refuse(StatusCode::BAD_REQUEST, e.describe());
                        Reply {
                            bytes: response(refuse, head_only, now),
                            status: StatusCode::BAD_REQUEST,
                            line: line.into_bytes(),
                            refused: Some(e.describe()),
                        }
                    }
                }
            }
            Err(e) => refusal(e.status(), e.describe()),
        };
        let reply = Reply {
            line: if reply.line.is_empty() {
                first_line(&buf).to_vec()
            } else {
                reply.line
            },
            ..reply
        };
        answer_and_close(&tcp, &reply.bytes, &watch, limits.send).await;
        if !quiet {
            let body = body_len(&reply.bytes);
            access_log::log(peer.ip(), &reply.line, reply.status.as_u16(), body);
        }
        return reply
            .refused
            .map(|why| format!("server: {peer}: redirect port: {why}"));
    }
}

/// One answer, with what the logs say about it.
struct Reply {
    bytes: Vec<u8>,
    status: StatusCode,
    /// The request line for the access log (empty: use the raw first line).
    line: Vec<u8>,
    refused: Option<&'static str>,
}

fn refusal(status: StatusCode, why: &'static str) -> Reply {
    Reply {
        bytes: response(Answer::Refuse(status, why), false, SystemTime::now()),
        status,
        line: Vec::new(),
        refused: Some(why),
    }
}

/// Bytes after the head.
fn body_len(reply: &[u8]) -> u64 {
    let head = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(reply.len(), |i| i + 4);
    (reply.len() - head) as u64
}

/// The first line of what the client sent, cut for the log.
fn first_line(buf: &[u8]) -> &[u8] {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    &line[..line.len().min(MAX_LOGGED_REQUEST_LINE)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    const QUICK: Limits = Limits {
        head: Duration::from_secs(1),
        send: Duration::from_secs(5),
    };

    /// Sends `request` in `pieces` to one redirect connection; returns (reply, log line).
    fn exchange(pieces: Vec<Vec<u8>>) -> (String, Option<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            for piece in pieces {
                if s.write_all(&piece).is_err() {
                    break;
                }
            }
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        });
        let (tcp, peer) = listener.accept().unwrap();
        let tcp = Async::new(tcp).unwrap();
        let logged = crate::tls::accept::tests::with_watchdog(|dog| {
            serve(tcp, peer, 8443, dog, QUICK, true)
        });
        (client.join().unwrap(), logged)
    }

    #[test]
    fn a_request_in_pieces_gets_a_308_to_https() {
        let (reply, logged) = exchange(vec![
            b"GET /a?b HTTP/1.1\r\nHo".to_vec(),
            b"st: example.com:8080\r\n\r\n".to_vec(),
        ]);
        assert!(
            reply.starts_with("HTTP/1.1 308 Permanent Redirect\r\n"),
            "{reply}"
        );
        assert!(
            reply.contains("\r\nLocation: https://example.com:8443/a?b\r\n"),
            "{reply}"
        );
        assert_eq!(logged, None);
    }

    #[test]
    fn head_gets_no_body_and_a_bad_host_gets_400() {
        let (reply, _) = exchange(vec![b"HEAD / HTTP/1.1\r\nHost: a.example\r\n\r\n".to_vec()]);
        assert!(reply.ends_with("\r\n\r\n"), "{reply}");
        let (reply, logged) = exchange(vec![b"GET / HTTP/1.0\r\n\r\n".to_vec()]);
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
        assert!(!reply.contains("Location"), "{reply}");
        assert!(logged.unwrap().contains("Host"));
    }

    #[test]
    fn junk_and_oversized_heads_are_refused() {
        let (reply, logged) = exchange(vec![b"\x16\x03\x01\x00\x05hello".to_vec()]);
        assert!(reply.is_empty(), "{reply}");
        let logged = logged.unwrap();
        assert!(
            logged.ends_with(": TLS handshake on a plain-HTTP port"),
            "{logged}"
        );
        let (reply, _) = exchange(vec![b"\x01\x02 junk\r\n\r\n".to_vec()]);
        assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_REQUEST_HEAD));
        let (reply, _) = exchange(vec![big.into_bytes()]);
        assert!(reply.starts_with("HTTP/1.1 431 "), "{reply}");
    }

    #[test]
    fn a_silent_or_trickling_client_is_cut_at_the_deadline() {
        let started = Instant::now();
        let (reply, _) = exchange(vec![]);
        assert!(reply.is_empty());
        assert!(started.elapsed() >= QUICK.head);
        let (reply, _) = exchange(vec![b"GET / HTTP/1.1\r\n".to_vec()]);
        assert!(reply.is_empty(), "{reply}");
    }
}
