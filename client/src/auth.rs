//! Credentials: `-a USER[:PASS]` as Basic (RFC 7617), asking for a missing password on
//! the terminal without echo, and `--bearer TOKEN` (RFC 6750).

use crate::error::Error;
use std::io::{BufRead, Write};

/// The `Authorization` value for `-a`; `ask` reads the password when none was given.
pub(crate) fn basic(
    user_pass: &str,
    ask: impl FnOnce(&str) -> Result<String, Error>,
) -> Result<String, Error> {
    let (user, pass) = match user_pass.split_once(':') {
        Some((user, pass)) => (user.to_string(), pass.to_string()),
        None => (user_pass.to_string(), ask(user_pass)?),
    };
    Ok(format!(
        "Basic {}",
        base64(format!("{user}:{pass}").as_bytes())
    ))
}

/// The `Authorization` value for `--bearer`.
pub(crate) fn bearer(token: &str) -> Result<String, Error> {
    if token.contains(['\r', '\n', '\0']) {
        return Err(Error::other("the --bearer token holds a line break or NUL"));
    }
    Ok(format!("Bearer {token}"))
}

/// Asks for `user`'s password on the controlling terminal with echo off, as curl does.
pub(crate) fn prompt_password(user: &str) -> Result<String, Error> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            Error::other(format!(
                "no terminal to ask for {user}'s password ({e}); pass -a {user}:PASSWORD"
            ))
        })?;
    let saved = rustix::termios::tcgetattr(&tty).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Flush, &quiet);
    }
    let mut out = &tty;
    let _ = write!(out, "password for {user}: ");
    let _ = out.flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    if let Some(saved) = &saved {
        let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Flush, saved);
    }
    let _ = writeln!(out);
    read.map_err(|e| Error::other(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Standard base64 with padding (RFC 4648 section 4).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }

    #[test]
    fn basic_with_and_without_password() {
        assert_eq!(
            basic("Aladdin:open sesame", |_| unreachable!()).unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(
            basic("me", |u| Ok(format!("{u}-pw"))).unwrap(),
            format!("Basic {}", base64(b"me:me-pw"))
        );
        assert!(bearer("a\nb").is_err());
    }
}
