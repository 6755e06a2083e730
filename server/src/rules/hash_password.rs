//! `server hash-password`: a password from standard input (never echoed on a terminal)
//! to the argon2id PHC string an `[[auth]]` rule's `users` table holds.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

/// Longest password read. Far beyond any real one; it bounds what a pipe can make us
/// hold and hash.
pub const MAX_PASSWORD: usize = 4096;

/// Salt length in bytes: the PHC recommendation (16).
const SALT_LEN: usize = argon2::password_hash::Salt::RECOMMENDED_LENGTH;

/// Reads the password (asking twice on a terminal) and returns its hash.
pub fn run() -> Result<String, String> {
    let stdin = io::stdin();
    let password = if termios::isatty(stdin.as_fd()) {
        let first = prompt("Password: ")?;
        let second = prompt("Again: ")?;
        if first != second {
            return Err("the two passwords differ; nothing was printed, try again".into());
        }
        first
    } else {
        read_piped(stdin.lock())?
    };
    if password.is_empty() {
        return Err(
            "the password is empty; type one, or pipe it in: echo -n 'pw' | server hash-password"
                .into(),
        );
    }
    hash(password.as_bytes())
}

/// The argon2id PHC string of `password`, with the crate's default (OWASP) cost and a
/// fresh random salt.
pub fn hash(password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; SALT_LEN];
    let mut filled = 0;
    while filled < salt.len() {
        filled +=
            rustix::rand::getrandom(&mut salt[filled..], rustix::rand::GetRandomFlags::empty())
                .map_err(|e| format!("cannot get random bytes for the salt: {e}"))?;
    }
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A whole piped input, less one final line ending (`echo pw |` adds one).
fn read_piped(input: impl Read) -> Result<String, String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_PASSWORD as u64 + 2)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.len() > MAX_PASSWORD {
        return Err(format!("the password is longer than {MAX_PASSWORD} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "the password is not UTF-8 text".to_string())
}

/// Asks for a line on the terminal without echo. The terminal reads byte by byte (no
/// line editing, no signals), so Ctrl-C cancels here and the settings are always
/// restored; Backspace and Ctrl-U still edit.
fn prompt(question: &str) -> Result<String, String> {
    let stdin = io::stdin();
    // Echo goes off before the prompt shows, so nothing typed after it can be echoed.
    let quiet = Quiet::new(stdin.as_fd()).map_err(|e| format!("cannot turn off echo: {e}"))?;
    let mut err = io::stderr();
    let _ = err.write_all(question.as_bytes());
    let _ = err.flush();
    let mut line: Vec<u8> = Vec::new();
    let mut byte = [0u8; 1];
    let outcome = loop {
        match stdin.lock().read(&mut byte) {
            Ok(0) => break Err("end of input before a password".to_string()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(format!("cannot read the terminal: {e}")),
        }
        match byte[0] {
            b'\r' | b'\n' => break Ok(()),
            0x03 => break Err("cancelled".to_string()),
            0x04 if line.is_empty() => break Err("cancelled".to_string()),
            0x7f | 0x08 => pop_char(&mut line),
            0x15 => line.clear(),
            b if line.len() < MAX_PASSWORD => line.push(b),
            _ => {}
        }
    };
    drop(quiet);
    let _ = err.write_all(b"\n");
    outcome?;
    String::from_utf8(line).map_err(|_| "the password is not UTF-8 text".to_string())
}

/// Removes the last UTF-8 character.
fn pop_char(line: &mut Vec<u8>) {
    while let Some(b) = line.pop() {
        if b & 0xC0 != 0x80 {
            break;
        }
    }
}

/// The terminal with echo, line editing and signals off; restored when dropped.
struct Quiet<'f> {
    fd: std::os::fd::BorrowedFd<'f>,
    saved: Termios,
}

impl<'f> Quiet<'f> {
    fn new(fd: std::os::fd::BorrowedFd<'f>) -> io::Result<Quiet<'f>> {
        let saved = termios::tcgetattr(fd)?;
        let mut quiet = saved.clone();
        quiet
            .local_modes
            .remove(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG);
        quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
        quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
        termios::tcsetattr(fd, OptionalActions::Now, &quiet)?;
        Ok(Quiet { fd, saved })
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash(b"correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
        assert_ne!(
            h,
            hash(b"correct horse").unwrap(),
            "each hash has its own salt"
        );
    }

    #[test]
    fn piped_input_loses_one_line_ending_only() {
        assert_eq!(read_piped(&b"pw\n"[..]).unwrap(), "pw");
        assert_eq!(read_piped(&b"pw\r\n"[..]).unwrap(), "pw");
        assert_eq!(read_piped(&b"pw \n\n"[..]).unwrap(), "pw \n");
        assert_eq!(read_piped(&b"pw"[..]).unwrap(), "pw");
        let long = vec![b'x'; MAX_PASSWORD + 1];
        assert!(read_piped(&long[..]).unwrap_err().contains("longer than"));
    }

    #[test]
    fn backspace_removes_a_whole_character() {
        let mut line = "aé".as_bytes().to_vec();
        pop_char(&mut line);
        assert_eq!(line, b"a");
    }
}
