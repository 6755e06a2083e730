//! Traversal: no byte outside the root is ever served, whatever the encoding or symlink.

use std::os::unix::fs::symlink;
use tests::raw::{exchange, Conn};
use tests::server::{write, TestServer};

const SECRET: &str = "TOP-SECRET-OUTSIDE-ROOT";

fn traversal_table() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    write(&root, "index.html", b"index");
    write(&root, "sub/file.txt", b"inside");
    write(outer.path(), "secret.txt", SECRET.as_bytes());
    symlink("../secret.txt", root.join("up-link")).unwrap();
    symlink(outer.path().join("secret.txt"), root.join("abs-link")).unwrap();
    symlink("..", root.join("parent-dir-link")).unwrap();
    symlink("sub/file.txt", root.join("inside-link")).unwrap();
    let server = TestServer::start_in(&root, &[]);

    let hostile = [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/sub/../../secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "/..\\secret.txt",
        "/..%5csecret.txt",
        "/sub/..%5c..%5csecret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/..%c0%afsecret.txt",
        "/up-link",
        "/abs-link",
        "/parent-dir-link/secret.txt",
        "/sub/../up-link",
        "http://x/../secret.txt",
        "/secret.txt%00.html",
        "/./../secret.txt",
        "//../secret.txt",
    ];
    for target in hostile {
        let mut c = Conn::open(server.addr);
        c.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
        let raw = c.read_to_close();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(SECRET), "{target} leaked the secret");
        assert!(
            text.starts_with("HTTP/1.1 400") || text.starts_with("HTTP/1.1 404"),
            "{target}: {}",
            text.lines().next().unwrap_or("")
        );
    }
    // Links that stay inside the root work.
    let r = exchange(server.addr, b"GET /inside-link HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(r.text(), "inside");
    let r = exchange(
        server.addr,
        b"GET /sub/../sub/file.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.text(), "inside");
}

tests::register! {
    traversal_table,
}
