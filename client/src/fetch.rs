//! One fetch, the same for the one-shot and the REPL: send a request (with the jar's
//! cookies), follow redirects when asked, undo content codings, and stream the final
//! response into a [`Sink`] that shows or saves it.

use crate::cookies::Jar;
use crate::decode;
use crate::error::Error;
use crate::printer::Printer;
use crate::redirect::{self, Chain};
use crate::request::{Body, Request};
use crate::response::{Exchange, Head, Response, READ_CHUNK};
use crate::transport::Transport;
use crate::warning::Warning;
use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;
use std::time::SystemTime;

/// Longest request body shown by `-v`; longer ones, and binary ones, are summarised.
const MAX_SHOWN_BODY: usize = 4096;

/// Where a response goes as it arrives, and where the fetch reports along the way.
pub(crate) trait Sink {
    /// The printer for what the fetch reports along the way: the request (`-v`), TLS
    /// details, redirect hops and warnings.
    fn printer(&mut self) -> &mut Printer;
    /// An interim (1xx) response head that came before the final one.
    fn interim(&mut self, head: &Head) -> Result<(), Error>;
    /// The final response head, before any body byte.
    fn head(&mut self, head: &Head) -> Result<(), Error>;
    /// The next piece of the decoded body.
    fn body(&mut self, bytes: &[u8]) -> Result<(), Error>;
    /// The end of the body (also after an error in the middle of it); `complete` when
    /// every byte arrived and decoded.
    fn finish(&mut self, complete: bool) -> Result<(), Error>;
}

/// How to fetch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// `-L`: follow redirects.
    pub follow: bool,
    /// `--max-redirects`.
    pub max_redirects: usize,
    /// Undo content codings (not with `--raw`).
    pub decode: bool,
    /// `-v`.
    pub verbose: bool,
}

/// What a fetch brought back besides what went to the sink.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The final response.
    pub exchange: Exchange,
    /// The last request sent (after any redirects).
    pub request: Request,
    /// The decoded body length and the codings undone, when there were any.
    pub decoded: Option<(u64, String)>,
}

impl Outcome {
    /// The decoded length and codings, for the footer.
    pub fn decoded_text(&self) -> Option<(u64, &str)> {
        self.decoded.as_ref().map(|(n, c)| (*n, c.as_str()))
    }
}

/// Connections and cookies: what lasts from one fetch to the next.
#[derive(Debug)]
pub(crate) struct Agent {
    /// The connections.
    pub transport: Transport,
    /// The cookies.
    pub jar: Jar,
    warned_insecure: bool,
}

impl Agent {
    /// An agent with an empty jar.
    pub fn new(transport: Transport) -> Agent {
        Agent {
            transport,
            jar: Jar::default(),
            warned_insecure: false,
        }
    }

    /// Sends `request`, following redirects when `settings.follow`, and streams the final
    /// response into `sink`.
    pub fn fetch(
        &mut self,
        mut request: Request,
        settings: Settings,
        sink: &mut dyn Sink,
    ) -> Result<Outcome, Error> {
        let mut chain = Chain::default();
        loop {
            let cookie = self.jar.header(&request.location, SystemTime::now());
            if settings.verbose {
                sink.printer().request(
                    &request.head(cookie.as_deref()),
                    shown_body(&request.body).as_deref(),
                );
            }
            let response = self.transport.send(&request, cookie.as_deref())?;
            self.jar
                .store(&request.location, &response.head, SystemTime::now());
            if let Some(info) = &response.tls {
                if settings.verbose {
                    sink.printer().tls(info);
                }
                if self.transport.options().trust.insecure && !self.warned_insecure {
                    self.warned_insecure = true;
                    sink.printer().warning(&format!(
                        "-k: the certificate of {} was not verified; anyone on the path could read or change this traffic",
                        request.location.origin.host
                    ));
                }
            }
            let status = response.head.status;
            let location = response.head.header_text("location");
            let to = location.as_deref().and_then(|l| request.location.join(l));
            if let (Some(l), None, true) = (
                &location,
                &to,
                settings.follow && redirect::is_redirect(status),
            ) {
                sink.printer().warning(&format!(
                    "not following the redirect to '{}': not an http or https URL",
                    crate::terminal::escape_line(l.as_bytes())
                ));
            }
            match to {
                Some(to) if settings.follow && redirect::is_redirect(status) => {
                    let next = redirect::next(&request, status, to);
                    if settings.verbose {
                        sink.printer().hop(&response.head, &next.location.url());
                    }
                    let (_, conn) = response.finish();
                    if let Some(conn) = conn {
                        self.transport.keep(conn);
                    }
                    let next_cookie = self.jar.header(&next.location, SystemTime::now());
                    chain.push(
                        (&request, cookie.as_deref()),
                        status,
                        (&next, next_cookie.as_deref()),
                        settings.max_redirects,
                    )?;
                    request = next;
                }
                _ => return self.deliver(request, response, settings, sink),
            }
        }
    }

    /// Streams the final response's body, decoded, into the sink.
    fn deliver(
        &mut self,
        request: Request,
        mut response: Response,
        settings: Settings,
        sink: &mut dyn Sink,
    ) -> Result<Outcome, Error> {
        for head in &response.interim {
            sink.interim(head)?;
        }
        sink.head(&response.head)?;
        let mut codings = if settings.decode && request.method != "HEAD" {
            decode::codings(&response.head)
        } else {
            Vec::new()
        };
        if let Err(unknown) = decode::supported(&codings) {
            let unknown = crate::terminal::escape_line(unknown.as_bytes());
            sink.printer().warning(&format!(
                "the body is in the unknown coding '{unknown}' and is shown as received"
            ));
            codings.clear();
        }
        let failure = Rc::new(RefCell::new(None));
        let tap = Tap {
            inner: &mut response,
            failure: Rc::clone(&failure),
        };
        let mut reader = decode::decoder(&codings, Box::new(tap));
        let mut buf = vec![0u8; READ_CHUNK];
        let mut decoded = 0u64;
        let mut undecodable = None;
        let result = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    decoded += n as u64;
                    if let Err(e) = sink.body(&buf[..n]) {
                        break Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted && failure.borrow().is_none() => {}
                Err(e) => match failure.borrow_mut().take() {
                    Some(ours) => break Err(ours),
                    None => {
                        undecodable = Some(e.to_string());
                        break Ok(());
                    }
                },
            }
        };
        drop(reader);
        let complete = result.is_ok() && undecodable.is_none() && response.is_complete();
        let finished = sink.finish(complete);
        result?;
        finished?;
        let (mut exchange, conn) = response.finish();
        if let Some(error) = undecodable {
            exchange.warnings.push(Warning::Undecodable {
                coding: codings.join(", "),
                error,
            });
        }
        if let Some(conn) = conn {
            self.transport.keep(conn);
        }
        let decoded = (!codings.is_empty()).then(|| {
            (
                decoded,
                codings.iter().rev().cloned().collect::<Vec<_>>().join(", "),
            )
        });
        Ok(Outcome {
            exchange,
            request,
            decoded,
        })
    }
}

/// The response body as the decoders see it: a transport failure (timeout, Ctrl-C)
/// is kept aside, since some decoders turn their source's errors into their own.
struct Tap<'a> {
    inner: &'a mut Response,
    failure: Rc<RefCell<Option<Error>>>,
}

impl Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| match Error::from_io(e) {
            Ok(ours) => {
                let message = ours.message.clone();
                *self.failure.borrow_mut() = Some(ours);
                io::Error::other(message)
            }
            Err(e) => e,
        })
    }
}

/// The body as `-v` shows it: short UTF-8 text as is, anything else as a summary.
fn shown_body(body: &Body) -> Option<String> {
    match body {
        Body::Empty => None,
        Body::Bytes(b) if b.len() <= MAX_SHOWN_BODY => match std::str::from_utf8(b) {
            Ok(text) if !text.contains(|c: char| c.is_control() && c != '\n' && c != '\t') => {
                Some(text.to_string())
            }
            _ => Some(format!("[{} bytes of binary body]", b.len())),
        },
        Body::Bytes(b) => Some(format!("[{} bytes of body]", b.len())),
        Body::File { path, len } => Some(format!("[{len} bytes from '{}']", path.display())),
    }
}
