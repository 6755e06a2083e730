//! Our client against our server: the assignment's `client host port filename`, the
//! piped REPL, and the exit codes by status class.

use tests::client::{run, Home};
use tests::server::TestServer;

fn one_shot_prints_status_headers_and_the_exact_body() {
    let server = TestServer::start();
    let home = Home::new();
    let port = server.addr.port().to_string();
    let out = run(
        home.client(&["-i", "127.0.0.1", &port, "HelloWorld.html"]),
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{stdout}");
    assert!(stdout.contains("Content-Type: text/html; charset=utf-8"));
    let body = std::fs::read(server.root.join("HelloWorld.html")).unwrap();
    assert!(
        out.stdout.ends_with(&body),
        "piped output must end with the exact body"
    );
}

fn one_shot_exit_codes_follow_the_status_class() {
    let server = TestServer::start();
    let home = Home::new();
    let port = server.addr.port().to_string();
    let missing = run(
        home.client(&["-i", "127.0.0.1", &port, "/no/such/page"]),
        b"",
    );
    assert_eq!(missing.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("404 Not Found"));
    let head = run(home.client(&["-I", "127.0.0.1", &port, "/style.css"]), b"");
    assert_eq!(head.status.code(), Some(0));
    let text = String::from_utf8_lossy(&head.stdout);
    assert!(
        text.contains("Content-Length: 23") && !text.contains("color"),
        "{text}"
    );
    let spaced = run(
        home.client(&["--body-only", "127.0.0.1", &port, "with space.txt"]),
        b"",
    );
    assert_eq!(String::from_utf8_lossy(&spaced.stdout), "space\n");
}

fn piped_repl_runs_several_commands_against_our_server() {
    let server = TestServer::start();
    let home = Home::new();
    let port = server.addr.port().to_string();
    let script = b"get /HelloWorld.html\nhead /style.css\nget /sub/page.txt\nquit\n";
    let out = run(home.client(&["127.0.0.1", &port]), script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("HTTP/1.1 200 OK").count(), 3, "{stdout}");
    assert!(stdout.contains("Hello, World!") && stdout.contains("plain text"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
    // HEAD printed headers only: the stylesheet's body never appears.
    assert!(!stdout.contains("color: black"), "{stdout}");
}

tests::register! {
    one_shot_prints_status_headers_and_the_exact_body,
    one_shot_exit_codes_follow_the_status_class,
    piped_repl_runs_several_commands_against_our_server,
}
