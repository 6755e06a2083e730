//! The REPL's command language: what each command is called, takes and does, and the
//! parser from a typed line to a [`Command`].

use std::path::PathBuf;

/// One REPL command, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `get PATH` (or a bare `/PATH`).
    Get(String),
    /// `head PATH`.
    Head(String),
    /// `open HOST PORT`: switch server.
    Open(String, u16),
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
    /// An empty line.
    Nothing,
}

/// Every command: name, arguments (for hints) and one line of help.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "get",
        "PATH",
        "fetch PATH and show status, headers and body",
    ),
    ("head", "PATH", "fetch only the status and headers of PATH"),
    ("open", "HOST PORT", "switch to another server"),
    ("save", "FILE", "write the last body to FILE"),
    ("headers", "", "show the last status line and headers again"),
    ("body", "", "show the last body again"),
    ("help", "", "show this list"),
    ("quit", "", "leave (also `exit` or Ctrl-D)"),
    ("exit", "", "leave"),
];

/// The help text listing every command.
pub fn help() -> String {
    let mut out = String::from("commands:\n");
    for (name, args, text) in COMMANDS.iter().filter(|c| c.0 != "exit") {
        let usage = format!("{name} {args}");
        out.push_str(&format!("  {usage:<16} {text}\n"));
    }
    out.push_str("paths complete with Tab from links, redirects and earlier requests; Ctrl-C clears the line");
    out
}

/// Parses one typed line. Errors are lowercase, quote the input and say what to type.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(Command::Nothing);
    }
    if line.starts_with('/') {
        return Ok(Command::Get(line.to_string()));
    }
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (line, ""),
    };
    let needs = |what: &str| format!("'{name}' needs {what}; try `{name} {}`", example(name));
    match name.to_ascii_lowercase().as_str() {
        "get" | "head" if rest.is_empty() => Err(needs("a path")),
        "get" => Ok(Command::Get(rest.to_string())),
        "head" => Ok(Command::Head(rest.to_string())),
        "open" => {
            let mut words = rest.split_whitespace();
            let (Some(host), Some(port), None) = (words.next(), words.next(), words.next()) else {
                return Err(needs("a host and a port"));
            };
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("'{port}' is not a port number (1-65535)"))?;
            Ok(Command::Open(host.to_string(), port))
        }
        "save" if rest.is_empty() => Err(needs("a file name")),
        "save" => Ok(Command::Save(PathBuf::from(rest))),
        "headers" => Ok(Command::Headers),
        "body" => Ok(Command::Body),
        "help" | "?" => Ok(Command::Help),
        "quit" | "exit" => Ok(Command::Quit),
        _ => Err(format!(
            "unknown command '{name}'; type `help` for the list"
        )),
    }
}

fn example(name: &str) -> &'static str {
    match name {
        "open" => "127.0.0.1 6789",
        "save" => "page.html",
        _ => "/HelloWorld.html",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Result<Command, &str>)] = &[
            ("", Ok(Command::Nothing)),
            ("   ", Ok(Command::Nothing)),
            ("get /a", Ok(Command::Get("/a".into()))),
            (
                "GET  HelloWorld.html ",
                Ok(Command::Get("HelloWorld.html".into())),
            ),
            ("get /a b.html", Ok(Command::Get("/a b.html".into()))),
            ("/x", Ok(Command::Get("/x".into()))),
            ("head /", Ok(Command::Head("/".into()))),
            ("open ::1 8080", Ok(Command::Open("::1".into(), 8080))),
            ("save out.html", Ok(Command::Save("out.html".into()))),
            ("headers", Ok(Command::Headers)),
            ("body", Ok(Command::Body)),
            ("help", Ok(Command::Help)),
            ("quit", Ok(Command::Quit)),
            ("exit", Ok(Command::Quit)),
            ("get", Err("'get' needs a path; try `get /HelloWorld.html`")),
            (
                "open host",
                Err("'open' needs a host and a port; try `open 127.0.0.1 6789`"),
            ),
            (
                "open host 1 2",
                Err("'open' needs a host and a port; try `open 127.0.0.1 6789`"),
            ),
            (
                "open host 99999",
                Err("'99999' is not a port number (1-65535)"),
            ),
            (
                "save",
                Err("'save' needs a file name; try `save page.html`"),
            ),
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
}
