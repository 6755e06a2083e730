//! REPL sessions, scripted through a pipe: session headers, the base path, cookies,
//! `follow`, `env`, `curl` (run back through real curl), absolute URLs, `save` with `~`,
//! the script's exit status, and flags the REPL refuses.

use std::io::{Read, Write};
use std::process::Output;
use tests::client::{run, Home, Peer};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repl(home: &Home, port: u16, extra: &[&str], script: &str) -> Output {
    let port = port.to_string();
    let mut args = extra.to_vec();
    args.extend(["127.0.0.1", port.as_str()]);
    run(home.client(&args), script.as_bytes())
}

/// A keep-alive peer that sets a cookie on /login, redirects /old to /new, and answers
/// everything else with the request line it got.
fn site() -> Peer {
    Peer::start(|mut s, _, peer| {
        while let Some(head) = peer.read_request(&mut s) {
            let line = head.lines().next().unwrap_or("").to_string();
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, extra) = match path {
                "/login" => ("200 OK", "Set-Cookie: sid=7; Path=/\r\n"),
                "/old" => ("301 Moved Permanently", "Location: /new\r\n"),
                "/gone" => ("404 Not Found", ""),
                _ => ("200 OK", ""),
            };
            let body = if status.starts_with("301") {
                String::new()
            } else {
                format!("{line}\n")
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if s.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    })
}

fn session_headers_base_path_and_cookies() {
    let peer = site();
    let home = Home::new();
    let script = "header X-Team: blue\nget /a\nheader -X-Team\nget /b\nheader -User-Agent\ncd /api/v1\nget users\ncd ..\nget items\ncd /\nget /login\nget /c\ncookies\ncookies clear\nget /d\n";
    let out = repl(&home, peer.port, &["--body-only"], script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = peer.request_lines();
    assert_eq!(
        lines,
        [
            "GET /a HTTP/1.1",
            "GET /b HTTP/1.1",
            "GET /api/v1/users HTTP/1.1",
            "GET /api/items HTTP/1.1",
            "GET /login HTTP/1.1",
            "GET /c HTTP/1.1",
            "GET /d HTTP/1.1"
        ]
    );
    let requests = peer.requests.lock().unwrap().clone();
    assert!(
        requests[0].contains("\r\nX-Team: blue\r\n"),
        "{}",
        requests[0]
    );
    assert!(!requests[1].contains("X-Team"), "{}", requests[1]);
    assert!(
        !requests[2].contains("User-Agent"),
        "a default dropped: {}",
        requests[2]
    );
    assert!(
        requests[5].contains("\r\nCookie: sid=7\r\n"),
        "the cookie goes back: {}",
        requests[5]
    );
    assert!(!requests[6].contains("Cookie"), "cleared: {}", requests[6]);
    assert!(
        text(&out.stderr).contains("sid=7  domain 127.0.0.1  path /"),
        "`cookies` lists it: {}",
        text(&out.stderr)
    );
}

fn follow_and_env() {
    let peer = site();
    let home = Home::new();
    let out = repl(
        &home,
        peer.port,
        &["--body-only"],
        "get /old\nfollow on\nget /old\nenv\nfollow off\nfollow\n",
    );
    assert_eq!(
        text(&out.stdout),
        "GET /new HTTP/1.1\n",
        "only the followed request has a body: {}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "server   http://127.0.0.1:{}\nbase     /\nfollow   on",
            peer.port
        )),
        "{err}"
    );
    assert!(err.contains("follow off"), "{err}");
}

fn absolute_urls_open_that_server() {
    let a = site();
    let b = site();
    let home = Home::new();
    let script = format!("get /one\nget http://127.0.0.1:{}/two\nget /three\nopen http://127.0.0.1:{}/base/\nget four\n", b.port, a.port);
    let out = repl(&home, a.port, &["--body-only"], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        a.request_lines(),
        ["GET /one HTTP/1.1", "GET /base/four HTTP/1.1"]
    );
    assert_eq!(
        b.request_lines(),
        ["GET /two HTTP/1.1", "GET /three HTTP/1.1"]
    );
    assert!(text(&out.stderr).contains(&format!("now talking to 127.0.0.1:{}", b.port)));
}

fn curl_prints_a_command_that_sends_the_same_request() {
    let curl = tests::tools::program("curl");
    let echo = Peer::echo();
    let home = Home::new();
    let out = repl(
        &home,
        echo.port,
        &["--body-only"],
        "post /items?x=1 name=pen 'note=it'\\''s' X-Extra:1\ncurl\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The piped REPL ends an entry that did not end a line with a newline of its own.
    let ours = text(&out.stdout);
    let ours = ours.strip_suffix('\n').unwrap_or(&ours).to_string();
    let command = text(&out.stderr)
        .lines()
        .find(|l| l.starts_with("curl "))
        .expect("a curl line")
        .to_string();
    let theirs = std::process::Command::new("sh")
        .arg("-c")
        .arg(command.replacen("curl", &curl.display().to_string(), 1))
        .output()
        .unwrap();
    let theirs = text(&theirs.stdout);
    // Same request line, fields we chose and body; the user agent and coding are each tool's own.
    // Field order is each tool's own too: compare the lines as a set.
    let significant = |r: &str| -> Vec<String> {
        let mut lines: Vec<String> = r
            .split("\r\n")
            .filter(|l| !l.starts_with("User-Agent:") && !l.starts_with("Accept-Encoding:"))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        significant(&theirs),
        significant(&ours),
        "ours:\n{ours}\ncurl's ({command}):\n{theirs}"
    );
}

fn a_script_exits_with_its_last_status_and_stops_at_a_typo() {
    let peer = site();
    let home = Home::new();
    let out = repl(
        &home,
        peer.port,
        &[],
        "# comments and blank lines are skipped\n\nget /gone\n",
    );
    assert_eq!(out.status.code(), Some(4), "the last request was a 404");
    let out = repl(&home, peer.port, &[], "get /gone\nget /fine\n");
    assert_eq!(out.status.code(), Some(0));
    let before = peer.request_lines().len();
    let out = repl(&home, peer.port, &[], "get /x\ngte /y\nget /z\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown command fails the script"
    );
    assert!(text(&out.stderr).contains("unknown command 'gte'"));
    assert_eq!(
        peer.request_lines().len(),
        before + 1,
        "nothing after the typo ran"
    );
}

fn save_expands_tilde_and_refetches_a_body_too_large_to_keep() {
    const BIG: usize = 17 * 1024 * 1024;
    let peer = Peer::start(|mut s, _, peer| {
        while peer.read_request(&mut s).is_some() {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n\r\n");
            let chunk = vec![b'z'; 1 << 20];
            if s.write_all(head.as_bytes()).is_err()
                || (0..17).any(|_| s.write_all(&chunk).is_err())
            {
                return;
            }
        }
    });
    let home = Home::new();
    let out = repl(
        &home,
        peer.port,
        &["--headers-only"],
        "get /big\nsave ~/big.bin\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved = home.dir.path().join("big.bin");
    assert_eq!(
        std::fs::metadata(&saved).map(|m| m.len()).ok(),
        Some(BIG as u64),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("fetched it again"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(peer.request_lines().len(), 2);
    let mut head = [0u8; 4];
    std::fs::File::open(&saved)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(&head, b"zzzz");
}

fn one_shot_flags_are_refused_in_the_repl() {
    let peer = site();
    let home = Home::new();
    let out = repl(&home, peer.port, &["-I", "-X", "PUT"], "get /\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("-I, -X only apply to one request"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(peer.connection_count(), 0);
}

tests::register! {
    session_headers_base_path_and_cookies,
    follow_and_env,
    absolute_urls_open_that_server,
    #[needs("curl")] curl_prints_a_command_that_sends_the_same_request,
    a_script_exits_with_its_last_status_and_stops_at_a_typo,
    save_expands_tilde_and_refetches_a_body_too_large_to_keep,
    one_shot_flags_are_refused_in_the_repl,
}
