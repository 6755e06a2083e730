//! `[[auth]]`: HTTP Basic authentication (RFC 7617) against argon2 hashes from the file,
//! with a per-address limit on failures ([`super::limiter`]).

use super::file::AuthRule;
use super::limiter::Limiter;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Highest argon2 memory cost accepted in a hash, in KiB (64 MiB, the top of OWASP's
/// table). Each check allocates it, so a hash with a huge cost would let any request
/// make the server allocate that much.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 64 * 1024;

/// Highest argon2 time cost (passes) accepted: each pass is paid on every check.
pub const MAX_ARGON2_PASSES: u32 = 10;

/// Highest argon2 parallelism accepted (the check runs on one thread anyway).
pub const MAX_ARGON2_LANES: u32 = 8;

/// Credentials remembered as verified, so a browser sending them with every request
/// pays argon2 once, not per file. Only a keyed 128-bit hash of each is kept, never the
/// password; the set is emptied when full.
pub const MAX_VERIFIED: usize = 1024;

/// A checked auth rule.
#[derive(Debug)]
pub struct Auth {
    challenge: String,
    users: Vec<(String, String)>,
    verified: Mutex<HashSet<u128>>,
    keys: (RandomState, RandomState),
}

/// What a request to a protected path gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The credentials are right.
    Allowed,
    /// 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// 429: this address failed too often; retry after so many seconds.
    Limited(u64),
}

impl Auth {
    /// Checks and compiles one rule.
    pub fn new(rule: &AuthRule) -> Result<Auth, String> {
        let realm = &rule.realm;
        if realm.is_empty()
            || realm
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\' || !c.is_ascii())
        {
            return Err(format!(
                "realm {realm:?}: give visible ASCII text without quotes or backslashes"
            ));
        }
        if rule.users.is_empty() {
            return Err("users is empty; add name = \"<hash from server hash-password>\"".into());
        }
        let mut users = Vec::new();
        for (name, phc) in &rule.users.0 {
            if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
                return Err(format!(
                    "user {name:?}: a Basic user name cannot be empty or contain : or control characters"
                ));
            }
            check_hash(phc).map_err(|e| format!("user {name:?}: {e}"))?;
            users.push((name.clone(), phc.clone()));
        }
        Ok(Auth {
            challenge: format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
            users,
            verified: Mutex::new(HashSet::new()),
            keys: (RandomState::new(), RandomState::new()),
        })
    }

    /// Decides a request with this `Authorization` value from `peer`. Passwords are
    /// checked by argon2 (constant-time compare of the outputs); an unknown user costs
    /// the same check, so timing does not reveal which names exist.
    pub fn check(
        &self,
        authorization: Option<&[u8]>,
        peer: IpAddr,
        now: Instant,
        limiter: &Limiter,
    ) -> Outcome {
        if let Some(wait) = limiter.blocked(peer, now) {
            return Outcome::Limited(wait.as_secs_f64().ceil() as u64);
        }
        let Some(value) = authorization else {
            return self.challenge();
        };
        let Some((user, password)) = parse_basic(value) else {
            limiter.failed(peer, now);
            return self.challenge();
        };
        let fingerprint = self.fingerprint(value);
        if self.lock().contains(&fingerprint) {
            return Outcome::Allowed;
        }
        if self.verify(&user, &password) {
            let mut verified = self.lock();
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            verified.insert(fingerprint);
            return Outcome::Allowed;
        }
        limiter.failed(peer, now);
        self.challenge()
    }

    fn challenge(&self) -> Outcome {
        Outcome::Challenge(self.challenge.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<u128>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A keyed hash of the raw credentials (keys random per start and per reload).
    fn fingerprint(&self, value: &[u8]) -> u128 {
        let a = self.keys.0.hash_one(value);
        let b = self.keys.1.hash_one(value);
        (u128::from(a) << 64) | u128::from(b)
    }

    /// Whether `password` is `user`'s. Every user name is compared (without stopping
    /// early), and an unknown user is checked against another user's hash and refused.
    fn verify(&self, user: &[u8], password: &[u8]) -> bool {
        let mut found = None;
        for (i, (name, _)) in self.users.iter().enumerate() {
            if constant_time_eq(name.as_bytes(), user) {
                found = Some(i);
            }
        }
        let phc = &self.users[found.unwrap_or(0)].1;
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        let right = Argon2::default().verify_password(password, &hash).is_ok();
        right && found.is_some()
    }
}

/// Checks a PHC string: argon2, parameters within the limits above.
fn check_hash(phc: &str) -> Result<(), String> {
    if phc.starts_with("$2") {
        return Err(
            "bcrypt hashes are not supported; make an argon2id hash with `server hash-password`"
                .into(),
        );
    }
    if !phc.starts_with('$') {
        return Err(
            "users holds argon2 hashes, never passwords; make one with `server hash-password`"
                .into(),
        );
    }
    let hash = PasswordHash::new(phc).map_err(|e| format!("not a PHC hash string: {e}"))?;
    if !["argon2id", "argon2i", "argon2d"].contains(&hash.algorithm.as_str()) {
        return Err(format!(
            "hash algorithm {} is not argon2; make one with `server hash-password`",
            hash.algorithm
        ));
    }
    let params =
        argon2::Params::try_from(&hash).map_err(|e| format!("bad argon2 parameters: {e}"))?;
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB
        || params.t_cost() > MAX_ARGON2_PASSES
        || params.p_cost() > MAX_ARGON2_LANES
    {
        return Err(format!(
            "argon2 cost m={},t={},p={} is above the limit m={MAX_ARGON2_MEMORY_KIB},t={MAX_ARGON2_PASSES},p={MAX_ARGON2_LANES} (each check pays it)",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    if hash.hash.is_none() {
        return Err("the hash string has no hash part".into());
    }
    Ok(())
}

/// `Basic <base64(user:password)>` → (user, password); the scheme ignores case.
fn parse_basic(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = value.trim_ascii();
    let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = decode_base64(rest.trim_ascii())?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Standard base64 (RFC 4648 section 4), padding optional.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut bits: u32 = 0;
    let mut count = 0;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    (count < 6).then_some(out)
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

#[cfg(test)]
#[path = "auth_tests.rs"]
pub(crate) mod tests;
