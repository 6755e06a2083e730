//! Interop with Python's `http.client`: several requests on one keep-alive
//! `HTTPConnection`, checked from the Rust side byte for byte.

use std::process::Command;
use tests::server::TestServer;

/// Sends each request of its argument list on ONE `HTTPConnection`, reading every
/// response fully (as keep-alive requires), and prints one tab-separated line per
/// response: method, path, status, Content-Length header, Connection header, local
/// port, body as hex. Counts `connect()` calls, so a silent reconnect shows.
const SCRIPT: &str = r#"
import http.client, sys

class CountingConnection(http.client.HTTPConnection):
    connects = 0
    def connect(self):
        self.connects += 1
        super().connect()

port = int(sys.argv[1])
conn = CountingConnection("127.0.0.1", port, timeout=20)
for item in sys.argv[2:]:
    method, path = item.split(" ", 1)
    conn.request(method, path)
    local_port = conn.sock.getsockname()[1]
    resp = conn.getresponse()
    body = resp.read()
    print("\t".join([
        method, path, str(resp.status),
        resp.getheader("Content-Length", "-"),
        resp.getheader("Connection", "-"),
        str(local_port),
        body.hex(),
    ]))
print("connects\t%d" % conn.connects)
conn.close()
"#;

/// One response line printed by [`SCRIPT`].
#[derive(Debug)]
struct Line {
    method: String,
    path: String,
    status: u16,
    content_length: String,
    connection: String,
    local_port: String,
    body: Vec<u8>,
}

fn parse_line(line: &str) -> Line {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 7, "unexpected line from python: {line:?}");
    Line {
        method: f[0].into(),
        path: f[1].into(),
        status: f[2].parse().expect("status"),
        content_length: f[3].into(),
        connection: f[4].into(),
        local_port: f[5].into(),
        body: unhex(f[6]),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex byte"))
        .collect()
}

fn http_client_keeps_one_connection_for_several_requests() {
    let python = tests::tools::program("python3");
    let server = TestServer::start();
    // (request, file whose bytes the body must equal, or None for an empty body)
    let plan: [(&str, Option<&str>, u16); 8] = [
        ("GET /HelloWorld.html", Some("HelloWorld.html"), 200),
        ("HEAD /HelloWorld.html", None, 200),
        ("GET /style.css", Some("style.css"), 200),
        ("GET /no-such-file.html", None, 404),
        ("GET /sub/", Some("sub/index.html"), 200),
        ("GET /with%20space.txt", Some("with space.txt"), 200),
        (
            "GET /caf%C3%A9.txt?query=ignored",
            Some("caf\u{e9}.txt"),
            200,
        ),
        ("GET /HelloWorld.html", Some("HelloWorld.html"), 200),
    ];
    let out = Command::new(python)
        .arg("-I")
        .arg("-c")
        .arg(SCRIPT)
        .arg(server.addr.port().to_string())
        .args(plan.iter().map(|(req, _, _)| req))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}\n{stdout}");

    let mut lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.pop(),
        Some("connects\t1"),
        "http.client reconnected:\n{stdout}"
    );
    assert_eq!(lines.len(), plan.len(), "{stdout}");
    let responses: Vec<Line> = lines.into_iter().map(parse_line).collect();

    for ((req, file, status), r) in plan.iter().zip(&responses) {
        assert_eq!(format!("{} {}", r.method, r.path), *req);
        assert_eq!(r.status, *status, "{req}");
        assert!(
            !r.connection.eq_ignore_ascii_case("close"),
            "{req} closed the connection"
        );
        match file {
            Some(rel) => {
                let want = std::fs::read(server.root.join(rel)).expect("read fixture");
                assert!(r.body == want, "{req}: body differs from {rel}");
                assert_eq!(r.content_length, want.len().to_string(), "{req}");
            }
            None if *status == 404 => {
                let text = String::from_utf8_lossy(&r.body);
                assert!(text.contains("404 Not Found"), "{req}: {text}");
            }
            None => {
                // HEAD: the length of the file, but no body.
                assert!(r.body.is_empty(), "{req} sent a body");
                let len = std::fs::metadata(server.root.join("HelloWorld.html"))
                    .expect("stat")
                    .len();
                assert_eq!(r.content_length, len.to_string(), "{req}");
            }
        }
    }
    // Every response came over the same socket (same local port).
    let port = &responses[0].local_port;
    assert!(
        responses.iter().all(|r| &r.local_port == port),
        "{responses:?}"
    );
}

tests::register! {
    #[needs("python3")] http_client_keeps_one_connection_for_several_requests,
}
