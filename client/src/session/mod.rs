//! A REPL session's state and what each command does with it: the server and base path,
//! default headers, cookies, `follow`, the last request and response (for `headers`,
//! `body`, `save`, `curl`) and the paths seen (for completion).

use crate::command::{self, Command};
use crate::complete::KnownPaths;
use crate::curl;
use crate::error::{exit, Error};
use crate::fetch::{Agent, Settings, Sink};
use crate::items::{curl_header, HeaderEdit, Items};
use crate::printer::Printer;
use crate::request::{Request, Shape};
use crate::response::Head;
use crate::target::{change_dir, looks_like_url, parse_url, under_base, Location, Origin, Scheme};
use crate::view::{Parts, Place, Pretty, View};
use keep::Keep;
use std::time::SystemTime;

mod keep;

/// Largest body kept for `save`, `body` and link completion. 16 MiB holds any page or
/// image a person looks at in a REPL, and an endless body cannot grow the client's
/// memory; `save` fetches a longer one again straight into the file.
pub(crate) const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;

/// Fields the client sends by default, which `header -Name` can drop.
const DEFAULT_FIELDS: &[&str] = &["user-agent", "accept", "accept-encoding"];

/// What the REPL does after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read the next line.
    Continue,
    /// `quit`.
    Quit,
    /// A line that is not a command: a script stops here.
    Unknown,
}

/// The last response, for `headers`, `body` and `save`.
#[derive(Debug)]
struct Last {
    head: Head,
    body: Vec<u8>,
    /// The body was longer than [`MAX_KEPT_BODY`] and only its start was kept.
    cut: bool,
    /// The request that brought it (after redirects).
    request: Request,
}

/// How a session shows and fetches, fixed by the command line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    /// Parts shown.
    pub parts: Parts,
    /// JSON style.
    pub pretty: Pretty,
    /// Fetch settings (`follow` changes with the `follow` command).
    pub settings: Settings,
}

/// The state of a session, whatever reads its commands.
#[derive(Debug)]
pub(crate) struct Session {
    agent: Agent,
    origin: Origin,
    base: String,
    headers: Vec<HeaderEdit>,
    authorization: Option<String>,
    style: Style,
    last: Option<Last>,
    last_request: Option<Request>,
    known: KnownPaths,
    status: u8,
}

impl Session {
    /// A session on `origin`.
    pub fn new(
        agent: Agent,
        origin: Origin,
        headers: Vec<HeaderEdit>,
        authorization: Option<String>,
        style: Style,
    ) -> Session {
        Session {
            agent,
            origin,
            base: "/".into(),
            headers,
            authorization,
            style,
            last: None,
            last_request: None,
            known: KnownPaths::default(),
            status: exit::OK,
        }
    }

    /// The server, for the prompt.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The base path, for completion.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The paths seen, for completion.
    pub fn known(&self) -> &KnownPaths {
        &self.known
    }

    /// The exit code of the last request (0 before any).
    pub fn status(&self) -> u8 {
        self.status
    }

    /// Runs one command line.
    pub fn execute(&mut self, line: &str, printer: &mut Printer) -> Flow {
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(message) => {
                let unknown = message.starts_with("unknown command");
                printer.error(&Error::other(message));
                return if unknown {
                    Flow::Unknown
                } else {
                    Flow::Continue
                };
            }
        };
        let result = match command {
            Command::Quit => return Flow::Quit,
            Command::Nothing => Ok(()),
            Command::Help => printer.info(&command::help()),
            Command::Fetch { method, path, items } => self.fetch(&method, &path, &items, printer),
            Command::Open(words) => self.open(&words, printer),
            Command::Cd(path) => {
                self.base = change_dir(&self.base, &path);
                printer.info(&format!("base path {}", self.base))
            }
            Command::Header(arg) => self.header(arg.as_deref(), printer),
            Command::Cookies { clear: true } => {
                self.agent.jar.clear();
                printer.info("cookies cleared")
            }
            Command::Cookies { clear: false } => printer.info(&self.cookies()),
            Command::Follow(Some(on)) => {
                self.style.settings.follow = on;
                printer.info(if on { "following redirects" } else { "not following redirects" })
            }
            Command::Follow(None) => printer.info(if self.style.settings.follow { "follow on" } else { "follow off" }),
            Command::Env => printer.info(&self.env()),
            Command::Curl => match &self.last_request {
                Some(r) => printer.info(&curl::command(r, self.style.settings.follow, self.agent.transport.options().trust.insecure)),
                None => Err(nothing_yet()),
            },
            Command::Headers => match &self.last {
                Some(last) => printer.head(&last.head),
                None => Err(nothing_yet()),
            },
            Command::Body => match &self.last {
                Some(last) if last.cut => Err(Error::other(format!(
                    "the last body was larger than {} MiB and was not kept; `save FILE` fetches it again into a file",
                    MAX_KEPT_BODY >> 20
                ))),
                Some(last) => {
                    let mut view = View::new(printer, Parts { head: false, body: true }, self.style.pretty, Place::Repl);
                    view.head(&last.head).and_then(|()| view.body(&last.body)).and_then(|()| view.finish(true))
                }
                None => Err(nothing_yet()),
            },
            Command::Save(path) => self.save(&path, printer),
        };
        if let Err(e) = result {
            printer.error(&e);
        }
        Flow::Continue
    }

    /// Sends one request and shows the reply; remembers it and the paths it mentions.
    fn fetch(
        &mut self,
        method: &str,
        path: &str,
        items: &[String],
        printer: &mut Printer,
    ) -> Result<(), Error> {
        let result = self.try_fetch(method, path, items, printer);
        self.status = match &result {
            Ok(code) => *code,
            Err(e) => e.code(),
        };
        result.map(|_| ())
    }

    fn try_fetch(
        &mut self,
        method: &str,
        path: &str,
        items: &[String],
        printer: &mut Printer,
    ) -> Result<u8, Error> {
        let location = if looks_like_url(path) && path.contains("://") {
            let (location, _) = parse_url(path, false).map_err(Error::other)?;
            if location.origin != self.origin {
                self.switch(location.origin.clone());
                printer.info(&format!("now talking to {}", self.origin))?;
            }
            location
        } else {
            Location {
                origin: self.origin.clone(),
                target: under_base(&self.base, path),
            }
        };
        let shape = Shape {
            method: Some(method.to_string()),
            headers: self.headers.clone(),
            items: Items::parse(items).map_err(Error::other)?,
            data: None,
            form: false,
            authorization: self.authorization.clone(),
        };
        let request = Request::build(location, &shape, || Err("no stdin body in the REPL".into()))
            .map_err(Error::other)?;
        self.last_request = Some(request.clone());
        let mut view = View::new(printer, self.style.parts, self.style.pretty, Place::Repl);
        let mut keep = Keep {
            inner: &mut view,
            body: Vec::new(),
            cut: false,
        };
        let result = self.agent.fetch(request, self.style.settings, &mut keep);
        let (body, cut) = (std::mem::take(&mut keep.body), keep.cut);
        let outcome = result?;
        view.printer().outcome(&outcome)?;
        let at = &outcome.request.location;
        self.known.add(&at.target);
        if let Some(location) = outcome.exchange.head.header_text("location") {
            self.known.add_reference(at, &location);
        }
        let html = outcome
            .exchange
            .head
            .header("content-type")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(b"text/html"));
        if html {
            self.known.add_links(at, &body);
        }
        let code = if outcome.exchange.warnings.is_empty() {
            exit::for_status(outcome.exchange.head.status)
        } else {
            exit::FAILURE
        };
        self.last = Some(Last {
            head: outcome.exchange.head,
            body,
            cut,
            request: outcome.request,
        });
        Ok(code)
    }

    /// `open URL` or `open HOST PORT`.
    fn open(&mut self, words: &[String], printer: &mut Printer) -> Result<(), Error> {
        let origin = match words {
            [host, port] => {
                let port: u16 = port.parse().ok().filter(|&p| p > 0).ok_or_else(|| {
                    Error::other(format!("'{port}' is not a port number (1-65535)"))
                })?;
                let scheme = if port == 443 {
                    Scheme::Https
                } else {
                    Scheme::Http
                };
                Origin::new(scheme, host, port)
            }
            [url] => {
                let (location, _) = parse_url(url, false).map_err(Error::other)?;
                let origin = location.origin.clone();
                self.switch(origin);
                self.base = change_dir("/", &location.target);
                return printer.info(&format!("now talking to {}", self.origin));
            }
            _ => return Err(Error::other("'open' needs a URL, or a host and a port")),
        };
        self.switch(origin);
        printer.info(&format!("now talking to {}", self.origin))
    }

    fn switch(&mut self, origin: Origin) {
        self.origin = origin;
        self.base = "/".into();
        self.last = None;
        self.known.clear();
    }

    /// `header Name: value` sets a session header, `header -Name` drops it.
    fn header(&mut self, arg: Option<&str>, printer: &mut Printer) -> Result<(), Error> {
        let Some(arg) = arg else {
            return printer.info(&self.header_list());
        };
        if let Some(name) = arg.strip_prefix('-') {
            let name = name.trim().trim_end_matches(':');
            let before = self.headers.len();
            self.headers
                .retain(|h| !h.name().eq_ignore_ascii_case(name));
            if self.headers.len() == before {
                if !DEFAULT_FIELDS.contains(&name.to_ascii_lowercase().as_str()) {
                    return Err(Error::other(format!(
                        "no header '{name}' is set; `header` lists them"
                    )));
                }
                self.headers.push(HeaderEdit::Unset(name.to_string()));
            }
            return printer.info(&format!("'{name}' is not sent any more"));
        }
        let edit = curl_header(arg).map_err(|e| Error::other(e.replace("-H ", "header ")))?;
        self.headers
            .retain(|h| !h.name().eq_ignore_ascii_case(edit.name()));
        let shown = match &edit {
            HeaderEdit::Set(n, v) => format!("{n}: {v} is sent with every request"),
            HeaderEdit::Unset(n) | HeaderEdit::Empty(n) => {
                format!("'{n}' is sent empty (or dropped if it is a default)")
            }
        };
        self.headers.push(edit);
        printer.info(&shown)
    }

    fn header_list(&self) -> String {
        if self.headers.is_empty() {
            return "no session headers; add one with `header Name: value`".into();
        }
        self.headers
            .iter()
            .map(|h| match h {
                HeaderEdit::Set(n, v) => format!("{n}: {v}"),
                HeaderEdit::Unset(n) => format!("-{n}"),
                HeaderEdit::Empty(n) => format!("{n}:"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn cookies(&self) -> String {
        let now = SystemTime::now();
        let list = self.agent.jar.list(now);
        if list.is_empty() {
            return "no cookies".into();
        }
        list.iter()
            .map(|c| {
                let mut line = format!(
                    "{}={}  domain {}{}  path {}",
                    c.name,
                    c.value,
                    if c.host_only { "" } else { "." },
                    c.domain,
                    c.path
                );
                if c.secure {
                    line.push_str("  secure");
                }
                if let Some(t) = c.expires {
                    line.push_str(&format!(
                        "  expires {}",
                        shared::wire::date::format_http_date(t)
                    ));
                }
                crate::terminal::escape_line(line.as_bytes())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn env(&self) -> String {
        let s = &self.style.settings;
        format!(
            "server   {}\nbase     {}\nfollow   {} (at most {} redirects)\nheaders  {}\ncookies  {} (list them with `cookies`)",
            self.origin.url_prefix(),
            self.base,
            if s.follow { "on" } else { "off" },
            s.max_redirects,
            self.header_list().replace('\n', "\n         "),
            self.agent.jar.list(SystemTime::now()).len()
        )
    }
}

pub(crate) fn nothing_yet() -> Error {
    Error::other("no response yet; fetch something first with `get PATH`")
}
