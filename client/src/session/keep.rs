//! What the REPL keeps of the last response: the [`Keep`] sink that holds the start of
//! a body while it is shown, and `save`, which writes it (or fetches a body too large to
//! have been kept again, straight into the file).

use super::{nothing_yet, Session, MAX_KEPT_BODY};
use crate::download::{write_whole, Download, Target};
use crate::error::{Error, Kind};
use crate::fetch::Sink;
use crate::printer::Printer;
use crate::response::Head;
use crate::tls::TlsInfo;
use crate::view::{Parts, Place, View};

impl Session {
    /// Writes the last body to `path`; a body too large to have been kept is fetched
    /// again straight into the file when its request was a GET.
    pub(crate) fn save(
        &mut self,
        path: &std::path::Path,
        printer: &mut Printer,
    ) -> Result<(), Error> {
        let last = self.last.as_ref().ok_or_else(nothing_yet)?;
        if !last.cut {
            write_whole(path, &last.body)?;
            return printer.info(&format!(
                "saved {} bytes to '{}'",
                last.body.len(),
                path.display()
            ));
        }
        if last.request.method != "GET" {
            return Err(Error::other(format!(
                "the last body was larger than {} MiB and was not kept, and a {} is not sent again on its own",
                MAX_KEPT_BODY >> 20,
                last.request.method
            )));
        }
        let request = last.request.clone();
        let target = Target::new(path.to_path_buf(), false);
        let view = View::new(
            printer,
            Parts {
                head: false,
                body: false,
            },
            self.style.pretty,
            Place::Repl,
        );
        let mut download = Download::new(view, target);
        let mut settings = self.style.settings;
        settings.verbose = false;
        let outcome = self.agent.fetch(request, settings, &mut download)?;
        if !outcome.exchange.warnings.is_empty()
            || !(200..300).contains(&outcome.exchange.head.status)
        {
            for w in &outcome.exchange.warnings {
                printer.warning(&w.to_string());
            }
            return Err(Error::new(
                Kind::Other,
                format!(
                    "fetching it again gave {}; '{}' was not written",
                    outcome.exchange.head.status,
                    path.display()
                ),
            ));
        }
        printer.info(&format!(
            "fetched it again: saved {} bytes to '{}'",
            outcome.decoded.map_or(outcome.exchange.body_len, |d| d.0),
            path.display()
        ))
    }
}

/// A sink that passes a response on and keeps the start of its body.
pub(crate) struct Keep<'a, 'p> {
    pub inner: &'a mut View<'p>,
    pub body: Vec<u8>,
    pub cut: bool,
}

impl Sink for Keep<'_, '_> {
    fn sent(&mut self, head: &[u8], body: Option<&str>) {
        self.inner.sent(head, body);
    }

    fn tls(&mut self, info: &TlsInfo) {
        self.inner.tls(info);
    }

    fn hop(&mut self, head: &Head, to: &str) {
        self.inner.hop(head, to);
    }

    fn warn(&mut self, message: &str) {
        self.inner.warn(message);
    }

    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        self.inner.interim(head)
    }

    fn head(&mut self, head: &Head) -> Result<(), Error> {
        self.inner.head(head)
    }

    fn body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let room = MAX_KEPT_BODY - self.body.len();
        if bytes.len() > room {
            self.cut = true;
        }
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.inner.body(bytes)
    }

    fn finish(&mut self, complete: bool) -> Result<(), Error> {
        self.inner.finish(complete)
    }
}
