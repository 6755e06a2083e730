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

/// Issue 9 item 11: a FIFO in the root was opened by GET and by listings, which
/// released (then killed with SIGPIPE) a local writer blocked on it; a socket gave 500.
fn fifos_and_sockets_in_the_root_are_404_and_never_opened() {
    let site = tests::server::site();
    let fifo = site.path().join("noindex/pipe");
    let made = std::process::Command::new(tests::tools::program("mkfifo"))
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let _socket = std::os::unix::net::UnixListener::bind(site.path().join("noindex/sock")).unwrap();
    // A writer blocks in open() until some reader opens the FIFO.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(fifo))
    };
    let server = TestServer::start_in(site.path(), &["--quiet", "--listing"]);
    let get = |path: &str| {
        exchange(
            server.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("response")
    };
    assert_eq!(get("/noindex/pipe").status, 404);
    assert_eq!(get("/noindex/sock").status, 404);
    let listing = get("/noindex/");
    assert_eq!(listing.status, 200);
    assert!(listing.text().contains("file.txt"), "{}", listing.text());
    assert!(!listing.text().contains("pipe"), "{}", listing.text());
    assert!(!writer.is_finished(), "the server opened the FIFO");
    // Release the writer ourselves.
    let _reader = std::fs::File::open(&fifo).unwrap();
    assert!(writer.join().unwrap().is_ok());
}

/// Whether this test runs as root (who reads any file, whatever its mode).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Issue 9 item 12: a traverse-only (0711) folder with a readable index.html gave 403;
/// nginx serves the index. (Run as an unprivileged user: root reads everything.)
fn a_traverse_only_folder_serves_its_readable_index() {
    use std::os::unix::fs::PermissionsExt;
    let site = tests::server::site();
    write(site.path(), "private/index.html", b"the index");
    write(site.path(), "closed/file.txt", b"x");
    let mode = |p: &str, m: u32| {
        std::fs::set_permissions(site.path().join(p), std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode("", 0o755);
    mode("private", 0o711);
    mode("closed", 0o711);
    let binary = tests::bin::binary("server");
    let mut cmd = if running_as_root() {
        let mut c = std::process::Command::new(tests::tools::program("setpriv"));
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    let mut child = cmd
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--quiet",
            "--listing",
            "--root",
        ])
        .arg(site.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = tests::server::parse_addr(&line).expect("address in the start-up line");
    let get = |path: &str| {
        exchange(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("response")
    };
    let index = get("/private/");
    let listing = get("/closed/");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((index.status, index.text().as_str()), (200, "the index"));
    // Without an index it cannot be listed: that needs read permission.
    assert_eq!(listing.status, 403);
}

tests::register! {
    #[needs("mkfifo")] fifos_and_sockets_in_the_root_are_404_and_never_opened,
    #[needs("setpriv")] a_traverse_only_folder_serves_its_readable_index,
    traversal_table,
}
