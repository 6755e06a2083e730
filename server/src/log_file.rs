//! Where the access log goes: stdout (the default, for the journal or a pipe), or the
//! file given with `--access-log FILE`, appended to and reopened on SIGUSR1 so logrotate
//! can move it away and have the next line start a new file (as nginx does).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Permissions of a log file the server creates: readable by others, as nginx does; the
/// umask (or the unit's `UMask=`) narrows it.
const LOG_FILE_MODE: u32 = 0o644;

/// The `--access-log` path, once set at start-up.
static PATH: OnceLock<PathBuf> = OnceLock::new();

/// Set by SIGUSR1; the writer thread reopens the file before its next write.
static REOPEN: AtomicBool = AtomicBool::new(false);

/// Opens `path` for appending (creating it), so a bad path fails at start-up with a
/// clear message, and makes it the access log's destination.
pub(crate) fn set_path(path: &Path) -> Result<(), String> {
    open(path).map_err(|e| {
        format!(
            "cannot open the access log '{}': {e}; check the folder exists and is writable",
            path.display()
        )
    })?;
    let _ = PATH.set(path.to_owned());
    Ok(())
}

/// Asks for the log file to be reopened (SIGUSR1) and wakes the writer to do it now;
/// false when the access log is stdout, which has nothing to reopen.
pub(crate) fn request_reopen() -> bool {
    if PATH.get().is_none() {
        return false;
    }
    REOPEN.store(true, Ordering::Release);
    crate::access_log::wake();
    true
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(LOG_FILE_MODE)
        .open(path)
}

/// The writer thread's destination.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    file: Option<File>,
    /// A write or reopen failed and has been reported; cleared when one succeeds.
    failing: bool,
}

impl Sink {
    /// Reopens the file if SIGUSR1 asked for it (or it is not open yet).
    pub(crate) fn refresh(&mut self) {
        let Some(path) = PATH.get() else {
            return;
        };
        if !REOPEN.swap(false, Ordering::AcqRel) && self.file.is_some() {
            return;
        }
        match open(path) {
            Ok(f) => self.file = Some(f),
            Err(e) => self.report(path, "reopen", &e),
        }
    }

    /// Writes one batch of lines.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) {
        self.refresh();
        let Some(path) = PATH.get() else {
            let _ = io::stdout().lock().write_all(bytes);
            return;
        };
        let result = match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => return,
        };
        match result {
            Ok(()) => self.failing = false,
            Err(e) => self.report(path, "write", &e),
        }
    }

    fn report(&mut self, path: &Path, what: &str, e: &io::Error) {
        if !self.failing {
            self.failing = true;
            crate::log_queue::error(format_args!(
                "cannot {what} the access log '{}': {e}; lines are lost until it works",
                path.display()
            ));
        }
    }
}
