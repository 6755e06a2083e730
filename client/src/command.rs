//! The REPL's command language: what each command is called, takes and does, and the
//! parser from a typed line (shell-like quoting) to a [`Command`].

use std::path::PathBuf;

/// One REPL command, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `get PATH [ITEM...]`, `post ...`, `request METHOD PATH [ITEM...]`, or a bare `/PATH`.
    Fetch {
        /// The method.
        method: String,
        /// The path or absolute URL as typed.
        path: String,
        /// The request items.
        items: Vec<String>,
    },
    /// `open URL` or `open HOST PORT`: switch server.
    Open(Vec<String>),
    /// `cd PATH`: change the base path.
    Cd(String),
    /// `header Name: value`, `header -Name`, or `header` to list.
    Header(Option<String>),
    /// `cookies`, or `cookies clear`.
    Cookies { clear: bool },
    /// `follow on|off`, or `follow` to show.
    Follow(Option<bool>),
    /// `env`: the session's state.
    Env,
    /// `curl`: the last request as a curl command line.
    Curl,
    /// `save FILE`: write the last body.
    Save(PathBuf),
    /// `headers`: show the last status line and headers again.
    Headers,
    /// `body`: show the last body again.
    Body,
    /// `help`.
    Help,
    /// `quit` or `exit`.
    Quit,
    /// An empty line or a `#` comment.
    Nothing,
}

/// The commands that send a request, and their methods.
pub(crate) const METHODS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("head", "HEAD"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
];

/// Every command: name, arguments (for hints) and one line of help.
pub(crate) const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "get",
        "PATH [ITEM...]",
        "fetch PATH and show status, headers and body",
    ),
    (
        "head",
        "PATH [ITEM...]",
        "fetch only the status and headers of PATH",
    ),
    (
        "post",
        "PATH [ITEM...]",
        "send name=value fields as JSON (or @FILE) to PATH",
    ),
    ("put", "PATH [ITEM...]", "PUT to PATH"),
    ("patch", "PATH [ITEM...]", "PATCH to PATH"),
    ("delete", "PATH [ITEM...]", "DELETE PATH"),
    (
        "options",
        "PATH [ITEM...]",
        "ask PATH which methods it allows",
    ),
    ("request", "METHOD PATH [ITEM...]", "any other method"),
    ("open", "URL | HOST PORT", "switch to another server"),
    (
        "cd",
        "PATH",
        "set the base path for relative paths (cd .., cd /)",
    ),
    (
        "header",
        "[Name: value | -Name]",
        "add or drop a header sent with every request",
    ),
    (
        "cookies",
        "[clear]",
        "list (or forget) the cookies servers set",
    ),
    ("follow", "[on|off]", "follow redirects or not"),
    (
        "env",
        "",
        "show the session: server, base path, headers, cookies, follow",
    ),
    ("curl", "", "show the last request as a curl command line"),
    ("save", "FILE", "write the last body to FILE"),
    ("headers", "", "show the last status line and headers again"),
    ("body", "", "show the last body again"),
    ("help", "", "show this list"),
    ("quit", "", "leave (also `exit` or Ctrl-D)"),
    ("exit", "", "leave"),
];

/// The help text listing every command.
pub(crate) fn help() -> String {
    let mut out = String::from("commands:\n");
    for (name, args, text) in COMMANDS.iter().filter(|c| c.0 != "exit") {
        let usage = format!("{name} {args}");
        out.push_str(&format!("  {usage:<30} {text}\n"));
    }
    out.push_str(
        "items: Name:value header, name==value query, name=value JSON field, name:=json, @FILE body\n\
         paths complete with Tab from links, redirects and earlier requests; Ctrl-C clears the line\n\
         or abandons a request in flight",
    );
    out
}

/// Parses one typed line. Errors are lowercase, quote the input and say what to type.
pub(crate) fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Command::Nothing);
    }
    if line.starts_with('/') {
        return fetch("GET", line);
    }
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (line, ""),
    };
    let lower = name.to_ascii_lowercase();
    let needs = |what: &str| format!("'{name}' needs {what}; try `{name} {}`", example(&lower));
    if let Some((_, method)) = METHODS.iter().find(|(n, _)| *n == lower) {
        if rest.is_empty() {
            return Err(needs("a path"));
        }
        return fetch(method, rest);
    }
    let words = split_words(rest)?;
    match lower.as_str() {
        "request" => {
            let Some((method, more)) = rest.split_once(char::is_whitespace) else {
                return Err(needs("a method and a path"));
            };
            fetch(method, more.trim())
        }
        "open" if words.is_empty() || words.len() > 2 => Err(needs("a URL, or a host and a port")),
        "open" => Ok(Command::Open(words)),
        "cd" => Ok(Command::Cd(
            words.first().cloned().unwrap_or_else(|| "/".into()),
        )),
        "header" if rest.is_empty() => Ok(Command::Header(None)),
        "header" => Ok(Command::Header(Some(rest.to_string()))),
        "cookies" => match words.as_slice() {
            [] => Ok(Command::Cookies { clear: false }),
            [w] if w == "clear" => Ok(Command::Cookies { clear: true }),
            _ => Err("'cookies' takes nothing or `clear`".into()),
        },
        "follow" => match words.as_slice() {
            [] => Ok(Command::Follow(None)),
            [w] if w == "on" => Ok(Command::Follow(Some(true))),
            [w] if w == "off" => Ok(Command::Follow(Some(false))),
            _ => Err("'follow' takes `on` or `off`".into()),
        },
        "env" => Ok(Command::Env),
        "curl" => Ok(Command::Curl),
        "save" => match words.as_slice() {
            [file] => Ok(Command::Save(crate::items::expand_tilde(file))),
            _ => Err(needs("a file name")),
        },
        "headers" => Ok(Command::Headers),
        "body" => Ok(Command::Body),
        "help" | "?" => Ok(Command::Help),
        "quit" | "exit" => Ok(Command::Quit),
        _ => Err(format!(
            "unknown command '{name}'; type `help` for the list"
        )),
    }
}

/// A fetch command's path and items. When the words after the path are not all
/// request items, the whole rest is the path, so `get /a b.html` still asks for
/// `/a b.html` as it always did.
fn fetch(method: &str, rest: &str) -> Result<Command, String> {
    let words = split_words(rest)?;
    let Some((path, items)) = words.split_first() else {
        return Err(format!(
            "'{}' needs a path; try `get /HelloWorld.html`",
            method.to_ascii_lowercase()
        ));
    };
    let quoted = rest.contains(['\'', '"', '\\']);
    if !quoted && !items.is_empty() && crate::items::Items::parse(items).is_err() {
        let all_words = items.iter().all(|w| !w.contains([':', '=', '@', ';']));
        if all_words {
            return Ok(Command::Fetch {
                method: method.to_string(),
                path: rest.to_string(),
                items: Vec::new(),
            });
        }
    }
    Ok(Command::Fetch {
        method: method.to_string(),
        path: path.clone(),
        items: items.to_vec(),
    })
}

/// Splits words as a POSIX shell would for quoting: '...' literal, "..." with `\"`,
/// a backslash before a space or quote keeps just that character, and any other
/// backslash stays, so item escapes such as `a\:b=c` survive.
pub(crate) fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a ' quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a \" quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a \" quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    // `\ ` and `\'` are the shell's: the character itself.
                    Some(next) if next.is_whitespace() || next == '\'' || next == '"' => {
                        word.push(next)
                    }
                    Some(next) => {
                        word.push('\\');
                        word.push(next);
                    }
                    None => word.push('\\'),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn example(name: &str) -> &'static str {
    match name {
        "open" => "http://127.0.0.1:6789/",
        "save" => "page.html",
        "request" => "PURGE /cache",
        _ => "/HelloWorld.html",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, items: &[&str]) -> Command {
        Command::Fetch {
            method: "GET".into(),
            path: path.into(),
            items: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, Result<Command, &str>)] = &[
            ("", Ok(Command::Nothing)),
            ("   ", Ok(Command::Nothing)),
            ("# a comment", Ok(Command::Nothing)),
            ("get /a", Ok(get("/a", &[]))),
            ("GET  HelloWorld.html ", Ok(get("HelloWorld.html", &[]))),
            ("get /a b.html", Ok(get("/a b.html", &[]))),
            (
                "get /api Accept:application/json",
                Ok(get("/api", &["Accept:application/json"])),
            ),
            ("get '/a b' q==1", Ok(get("/a b", &["q==1"]))),
            ("/x", Ok(get("/x", &[]))),
            (
                "head /",
                Ok(Command::Fetch {
                    method: "HEAD".into(),
                    path: "/".into(),
                    items: vec![],
                }),
            ),
            (
                "post /items name=pen 'note=two words'",
                Ok(Command::Fetch {
                    method: "POST".into(),
                    path: "/items".into(),
                    items: vec!["name=pen".into(), "note=two words".into()],
                }),
            ),
            (
                "request PURGE /x",
                Ok(Command::Fetch {
                    method: "PURGE".into(),
                    path: "/x".into(),
                    items: vec![],
                }),
            ),
            (
                "open ::1 8080",
                Ok(Command::Open(vec!["::1".into(), "8080".into()])),
            ),
            (
                "open http://h/",
                Ok(Command::Open(vec!["http://h/".into()])),
            ),
            ("cd /api", Ok(Command::Cd("/api".into()))),
            ("cd", Ok(Command::Cd("/".into()))),
            ("header X-A: 1", Ok(Command::Header(Some("X-A: 1".into())))),
            ("cookies clear", Ok(Command::Cookies { clear: true })),
            ("follow on", Ok(Command::Follow(Some(true)))),
            ("save out.html", Ok(Command::Save("out.html".into()))),
            ("headers", Ok(Command::Headers)),
            ("body", Ok(Command::Body)),
            ("help", Ok(Command::Help)),
            ("quit", Ok(Command::Quit)),
            ("exit", Ok(Command::Quit)),
            ("get", Err("'get' needs a path; try `get /HelloWorld.html`")),
            (
                "open",
                Err("'open' needs a URL, or a host and a port; try `open http://127.0.0.1:6789/`"),
            ),
            (
                "open host 1 2",
                Err("'open' needs a URL, or a host and a port; try `open http://127.0.0.1:6789/`"),
            ),
            (
                "save",
                Err("'save' needs a file name; try `save page.html`"),
            ),
            ("follow maybe", Err("'follow' takes `on` or `off`")),
            (
                "fetch /",
                Err("unknown command 'fetch'; type `help` for the list"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse(line),
                want.clone().map_err(str::to_string),
                "line {line:?}"
            );
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(
            split_words(r#"a 'b c' "d \" e" f\:g h\ i"#).unwrap(),
            ["a", "b c", "d \" e", "f\\:g", "h i"]
        );
        assert!(split_words("'open").is_err());
    }
}
