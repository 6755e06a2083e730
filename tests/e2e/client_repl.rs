//! The client's REPL driven through a real terminal (tmux send-keys / capture-pane):
//! prompt, terminal escaping, footer, hints, Tab completion of paths from links,
//! Ctrl-C, Ctrl-D and history that survives a restart.

use tests::client::{client_bin, shell_quote, Home, Peer, Tmux};

fn start(name: &str, home: &Home, port: u16) -> Tmux {
    let command = format!(
        "env HOME={} XDG_STATE_HOME={} TERM=xterm-256color NO_COLOR=1 {} 127.0.0.1 {port}",
        shell_quote(&home.dir.path().display().to_string()),
        shell_quote(&home.state().display().to_string()),
        shell_quote(&client_bin().display().to_string()),
    );
    Tmux::start(name, &command)
}

/// The last non-empty line of the screen.
fn last_line(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim_end()
}

fn repl_in_a_terminal() {
    let peer = Peer::pages(vec![
        (
            "/index.html",
            "text/html",
            "Welcome \x1b]0;pwned\x07<a href=\"other.html\">next</a>\n",
        ),
        ("/other.html", "text/html", "OTHER PAGE\n"),
        ("/bin", "application/octet-stream", "\x00\x01binary"),
    ]);
    let home = Home::new();
    let prompt = format!("127.0.0.1:{}>", peer.port);
    let tmux = start("client-repl", &home, peer.port);
    tmux.wait_for("the prompt", |s| last_line(s) == prompt);

    // A request shows head, escaped body and footer.
    tmux.type_text("get /index.html");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the footer", |s| s.contains("200 OK · "));
    assert!(screen.contains("HTTP/1.1 200 OK"), "{screen}");
    assert!(
        screen.contains("Welcome \\x1b]0;pwned\\x07<a href"),
        "control bytes escaped: {screen}"
    );
    assert!(
        screen.contains("· content-length · ") && screen.contains("· new connection"),
        "{screen}"
    );
    tmux.wait_for("the prompt again", |s| last_line(s) == prompt);

    // A hint shows the command's arguments; Ctrl-C clears the line.
    tmux.type_text("ge");
    tmux.wait_for("the hint", |s| {
        last_line(s) == format!("{prompt} get PATH [ITEM...]")
    });
    tmux.keys(&["C-c"]);
    tmux.wait_for("a cleared line", |s| last_line(s) == prompt);

    // Tab completes a path from the links of the last page; the connection is reused.
    tmux.type_text("get /oth");
    tmux.keys(&["Tab"]);
    tmux.wait_for("the completed path", |s| {
        last_line(s) == format!("{prompt} get /other.html")
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the second page", |s| s.contains("OTHER PAGE"));
    tmux.wait_for("reuse in the footer", |s| s.contains("connection reused"));
    assert_eq!(peer.connection_count(), 1, "{screen}");

    // A binary body is replaced by a notice.
    tmux.type_text("get /bin");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the binary notice", |s| {
        s.contains("[binary body not shown on a terminal")
    });

    // Ctrl-D quits; history is on disk.
    tmux.wait_for("the prompt again", |s| last_line(s) == prompt);
    tmux.keys(&["C-d"]);
    tmux.wait_for("the client to exit", |_| tmux.exited());
    let history = std::fs::read_to_string(home.history()).expect("history file");
    assert!(
        history.contains("get /index.html") && history.contains("get /other.html"),
        "{history}"
    );
    drop(tmux);

    // A new session recalls the last command with Up.
    let tmux = start("client-repl-2", &home, peer.port);
    tmux.wait_for("the prompt", |s| last_line(s) == prompt);
    tmux.keys(&["Up"]);
    tmux.wait_for("the recalled command", |s| {
        last_line(s) == format!("{prompt} get /bin")
    });
    tmux.keys(&["C-c"]);
    // Keys typed before the fresh prompt is drawn can be lost while the line editor
    // leaves and re-enters raw mode: wait for it, as a person would.
    tmux.wait_for("a cleared line", |s| {
        last_line(s) == prompt && s.matches(&prompt).count() >= 2
    });
    tmux.type_text("quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the client to exit", |_| tmux.exited());
}

fn ctrl_c_abandons_a_request_in_flight() {
    // /slow is read and never answered (a local listener that never answers).
    let peer = Peer::start(|mut s, _, peer| {
        while let Some(head) = peer.read_request(&mut s) {
            if head.starts_with("GET /slow ") {
                let mut rest = Vec::new();
                let _ = std::io::Read::read_to_end(&mut s, &mut rest);
                return;
            }
            let _ = std::io::Write::write_all(
                &mut s,
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfast\n",
            );
        }
    });
    let home = Home::new();
    let prompt = format!("127.0.0.1:{}>", peer.port);
    let tmux = start("client-ctrl-c", &home, peer.port);
    tmux.wait_for("the prompt", |s| last_line(s) == prompt);
    tmux.type_text("get /slow");
    tmux.keys(&["Enter"]);
    let start = std::time::Instant::now();
    while !peer
        .request_lines()
        .iter()
        .any(|l| l.starts_with("GET /slow "))
    {
        assert!(
            start.elapsed() < tests::client::HANG_LIMIT,
            "the request never arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for("the interruption", |s| {
        s.contains("interrupted with Ctrl-C")
    });
    assert!(!tmux.exited(), "Ctrl-C must not end the REPL: {screen}");
    tmux.wait_for("the prompt again", |s| last_line(s) == prompt);
    tmux.type_text("get /next");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the next answer", |s| s.contains("fast"));
    assert_eq!(
        peer.connection_count(),
        2,
        "the abandoned connection was dropped, a new one opened"
    );
    tmux.type_text("quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the client to exit", |_| tmux.exited());
}

fn completion_and_history_never_hold_a_links_escape_sequences() {
    // Issue 9 item 3: a link carrying OSC 52 (set the clipboard) must not be offered.
    let peer = Peer::pages(vec![
        ("/index.html", "text/html", "<a href=\"/q\x1b]52;c;aGk=\x07\">x</a> <a href=\"/q\u{9b}2J\">y</a> <a href=\"/qok\">z</a>\n"),
        ("/qok", "text/plain", "fine\n"),
    ]);
    let home = Home::new();
    let prompt = format!("127.0.0.1:{}>", peer.port);
    let tmux = start("client-clean", &home, peer.port);
    tmux.wait_for("the prompt", |s| last_line(s) == prompt);
    tmux.type_text("get /index.html");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the page", |s| s.contains("200 OK · "));
    tmux.wait_for("the prompt again", |s| last_line(s) == prompt);
    // One clean candidate, so Tab completes it at once.
    tmux.type_text("get /q");
    tmux.keys(&["Tab"]);
    tmux.wait_for("the clean link", |s| {
        last_line(s) == format!("{prompt} get /qok")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("its body", |s| s.contains("fine"));
    tmux.type_text("quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the client to exit", |_| tmux.exited());
    let history = std::fs::read(home.history()).expect("history file");
    assert!(
        !history.iter().any(|&b| b == 0x1b || b == 0x07),
        "{history:?}"
    );
    assert!(String::from_utf8_lossy(&history).contains("get /qok"));
}

tests::register! {
    #[needs("tmux")] repl_in_a_terminal,
    #[needs("tmux")] completion_and_history_never_hold_a_links_escape_sequences,
    #[needs("tmux")] ctrl_c_abandons_a_request_in_flight,
}
