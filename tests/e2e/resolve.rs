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

    // Each target and its one status: 400 for a path that climbs out of the root (however
    // it is spelled), 404 for one that stays inside but names nothing servable (a literal
    // `%2e%2e` folder, symlinks leading out).
    let hostile = [
        ("/../secret.txt", 400),
        ("/..%2fsecret.txt", 400),
        ("/%2e%2e/secret.txt", 400),
        ("/%2E%2E/secret.txt", 400),
        ("/.%2e/secret.txt", 400),
        ("/sub/../../secret.txt", 400),
        ("/sub/%2e%2e/%2e%2e/secret.txt", 400),
        ("/%252e%252e/secret.txt", 404),
        ("/..\\secret.txt", 400),
        ("/..%5csecret.txt", 400),
        ("/sub/..%5c..%5csecret.txt", 400),
        ("/%c0%ae%c0%ae/secret.txt", 400),
        ("/..%c0%afsecret.txt", 400),
        ("/up-link", 404),
        ("/abs-link", 404),
        ("/parent-dir-link/secret.txt", 404),
        ("/sub/../up-link", 404),
        ("http://x/../secret.txt", 400),
        ("/secret.txt%00.html", 400),
        ("/./../secret.txt", 400),
        ("//../secret.txt", 400),
    ];
    for (target, status) in hostile {
        let mut c = Conn::open(server.addr);
        c.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
        let raw = c.read_to_close();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(SECRET), "{target} leaked the secret");
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{target}: want {status}, got {}",
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
