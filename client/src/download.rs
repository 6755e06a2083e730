//! `-o FILE`: the body goes to `FILE.part` beside the file and replaces `FILE` only when
//! it arrived whole, so a refused connection or a cut transfer never clobbers what was
//! there; `-C` resumes a partial file with `Range` and `If-Range`; a progress bar on a
//! terminal's stderr. Error responses are shown, not saved.

use crate::error::Error;
use crate::fetch::Sink;
use crate::printer::Printer;
use crate::response::Head;
use crate::view::{Place, View};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How often the progress bar is redrawn when no bytes arrive: often enough to look
/// alive, rarely enough to cost nothing.
const PROGRESS_TICK: std::time::Duration = std::time::Duration::from_millis(250);

/// Where a download writes, decided before the request.
#[derive(Debug)]
pub(crate) struct Target {
    /// The file asked for.
    pub path: PathBuf,
    /// `FILE.part`.
    pub part: PathBuf,
    /// With `-C`: the file being resumed and its length.
    pub resume: Option<(PathBuf, u64)>,
}

impl Target {
    /// The target for `-o path`, looking for something to resume when `resume`.
    pub fn new(path: PathBuf, resume: bool) -> Target {
        let mut part = path.clone().into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        let existing = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file() && m.len() > 0)
                .map(|m| m.len())
        };
        let resume = resume
            .then(|| {
                existing(&part)
                    .map(|len| (part.clone(), len))
                    .or_else(|| existing(&path).map(|len| (path.clone(), len)))
            })
            .flatten();
        Target { path, part, resume }
    }

    /// The fields a resumed request adds: `Range` from the current length, `If-Range`
    /// with the file's time (set to the server's `Last-Modified` when it was written),
    /// and identity coding, since ranges of coded bodies do not mix.
    pub fn range_fields(&self) -> Vec<(String, String)> {
        let Some((file, len)) = &self.resume else {
            return Vec::new();
        };
        let mut fields = vec![
            ("Range".to_string(), format!("bytes={len}-")),
            ("Accept-Encoding".to_string(), "identity".to_string()),
        ];
        if let Ok(modified) = std::fs::metadata(file).and_then(|m| m.modified()) {
            fields.push((
                "If-Range".to_string(),
                shared::wire::date::format_http_date(modified),
            ));
        }
        fields
    }
}

/// What happens to the body of the response at hand.
#[derive(Debug)]
enum Mode {
    /// Before the head.
    Waiting,
    /// Writing to this file (the `.part`, or the resumed file itself).
    Writing {
        file: File,
        at: PathBuf,
        rename: bool,
    },
    /// Not saved (an error page): shown instead.
    Shown,
    /// The file was already complete (416 for a range from its end).
    Complete,
}

/// A [`Sink`] that saves the body.
#[derive(Debug)]
pub(crate) struct Download<'p> {
    view: View<'p>,
    target: Target,
    mode: Mode,
    modified: Option<SystemTime>,
    written: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl<'p> Download<'p> {
    /// A download into `target`, showing heads and error bodies with `view`.
    pub fn new(view: View<'p>, target: Target) -> Download<'p> {
        Download {
            view,
            target,
            mode: Mode::Waiting,
            modified: None,
            written: 0,
            bar: None,
        }
    }

    /// Whether the file already held the whole body (nothing was fetched).
    pub fn was_complete(&self) -> bool {
        matches!(self.mode, Mode::Complete)
    }

    fn open(&mut self, head: &Head) -> Result<(), Error> {
        let resumed = match (&self.target.resume, head.status) {
            (Some((file, len)), 206) => {
                let start = content_range_start(head);
                if start != Some(*len) {
                    return Err(Error::other(format!(
                        "the server answered the resume from byte {len} with a range starting at {}; not appending",
                        start.map_or("an unknown byte".into(), |s| s.to_string())
                    )));
                }
                Some(file.clone())
            }
            _ => None,
        };
        let (file, at, rename) = match resumed {
            Some(at) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&at)
                    .map_err(|e| cannot(&at, e))?;
                let rename = at == self.target.part;
                (file, at, rename)
            }
            None => {
                let at = self.target.part.clone();
                let file = File::create(&at).map_err(|e| {
                    Error::other(format!(
                        "cannot create '{}' (through '{}'): {e}; check the directory exists and is writable",
                        self.target.path.display(),
                        at.display()
                    ))
                })?;
                (file, at, true)
            }
        };
        // The file's time becomes the server's Last-Modified, the validator a later -C
        // sends in If-Range (only for an identity body: a coded one has other validators).
        self.modified = head
            .header_text("last-modified")
            .filter(|_| head.header("content-encoding").is_none())
            .and_then(|v| shared::wire::date::parse_http_date(&v));
        if self.view.printer().err_terminal() {
            let already = self
                .target
                .resume
                .as_ref()
                .filter(|_| head.status == 206)
                .map_or(0, |r| r.1);
            let total = match head.framing {
                shared::wire::message::BodyFraming::Length(n) => Some(n + already),
                _ => None,
            };
            let bar = indicatif::ProgressBar::with_draw_target(
                total,
                indicatif::ProgressDrawTarget::stderr(),
            );
            let template = match total {
                Some(_) => {
                    "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}"
                }
                None => "{spinner} {binary_bytes} {binary_bytes_per_sec}",
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_position(already);
            // Redrawn on its own too, so the rate and ETA stay true while the server stalls.
            bar.enable_steady_tick(PROGRESS_TICK);
            self.bar = Some(bar);
        }
        self.mode = Mode::Writing { file, at, rename };
        Ok(())
    }
}

impl Sink for Download<'_> {
    fn printer(&mut self) -> &mut Printer {
        self.view.printer()
    }

    fn interim(&mut self, head: &Head) -> Result<(), Error> {
        self.view.interim(head)
    }

    fn head(&mut self, head: &Head) -> Result<(), Error> {
        let resuming = self.target.resume.is_some();
        match head.status {
            200..=299 => {
                self.view.head_only(head)?;
                self.open(head)
            }
            416 if resuming => {
                self.view.head_only(head)?;
                let len = self.target.resume.as_ref().map_or(0, |r| r.1);
                if content_range_total(head) == Some(len) {
                    self.mode = Mode::Complete;
                    Ok(())
                } else {
                    self.mode = Mode::Shown;
                    Ok(())
                }
            }
            _ => {
                self.mode = Mode::Shown;
                self.view.head(head)
            }
        }
    }

    fn body(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match &mut self.mode {
            Mode::Writing { file, at, .. } => {
                file.write_all(bytes).map_err(|e| cannot(at, e))?;
                // Dated as the server's Last-Modified after every write, not only at the
                // end: a download killed mid-way keeps the validator `-C` sends in If-Range.
                if let Some(t) = self.modified {
                    let _ = file.set_modified(t);
                }
                self.written += bytes.len() as u64;
                if let Some(bar) = &self.bar {
                    bar.inc(bytes.len() as u64);
                }
                Ok(())
            }
            Mode::Shown => self.view.body(bytes),
            Mode::Waiting | Mode::Complete => Ok(()),
        }
    }

    fn finish(&mut self, complete: bool) -> Result<(), Error> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mode = std::mem::replace(&mut self.mode, Mode::Waiting);
        let Mode::Writing { file, at, rename } = mode else {
            self.mode = mode;
            return if matches!(self.mode, Mode::Shown) {
                self.view.finish(complete)
            } else {
                Ok(())
            };
        };
        file.sync_all().map_err(|e| cannot(&at, e))?;
        if let Some(t) = self.modified {
            let _ = file.set_modified(t);
        }
        drop(file);
        if !complete {
            let next = match self.view.place() {
                Place::OneShot => "run again with -C to resume",
                Place::Repl => "`save` again to retry",
            };
            let (path, at) = (self.target.path.display(), at.display());
            self.view.printer().warning(&format!(
                "'{path}' was left as it was; the bytes received are in '{at}', {next}"
            ));
            return Ok(());
        }
        if rename {
            std::fs::rename(&at, &self.target.path).map_err(|e| {
                Error::other(format!(
                    "cannot move '{}' to '{}': {e}",
                    at.display(),
                    self.target.path.display()
                ))
            })?;
        }
        Ok(())
    }
}

/// `Content-Range: bytes START-END/LEN` → START.
fn content_range_start(head: &Head) -> Option<u64> {
    let v = head.header_text("content-range")?;
    let range = v.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// `Content-Range: bytes */LEN` (or `START-END/LEN`) → LEN.
fn content_range_total(head: &Head) -> Option<u64> {
    let v = head.header_text("content-range")?;
    v.rsplit('/').next()?.trim().parse().ok()
}

fn cannot(path: &Path, e: std::io::Error) -> Error {
    Error::other(format!("cannot write '{}': {e}", path.display()))
}

/// Writes `bytes` to `path` through `path.part`, renamed once written (REPL `save`).
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let target = Target::new(path.to_path_buf(), false);
    let mut file = File::create(&target.part).map_err(|e| {
        Error::other(format!(
            "cannot create '{}': {e}; check the directory exists and is writable",
            target.part.display()
        ))
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| cannot(&target.part, e))?;
    std::fs::rename(&target.part, path).map_err(|e| cannot(path, e))
}
