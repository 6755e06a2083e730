//! Tests of Basic authentication: parsing, verification, the verified cache, limits.

use super::*;
use crate::rules::file::Fields;
use crate::rules::limiter::{FAILED_ATTEMPT_WINDOW, MAX_FAILED_ATTEMPTS};
use argon2::password_hash::{PasswordHasher, SaltString};

/// A cheap argon2id hash, so the tests do not pay the real cost on every check.
pub(crate) fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(8, 1, 1, None).unwrap();
    let a = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    a.hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn rule(users: &[(&str, &str)]) -> AuthRule {
    AuthRule {
        source: "/private/**".into(),
        realm: "private".into(),
        users: Fields(
            users
                .iter()
                .map(|(u, p)| (u.to_string(), cheap_hash(p)))
                .collect(),
        ),
    }
}

fn basic(user_pass: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = user_pass.as_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.into_bytes()
}

fn peer() -> IpAddr {
    "192.0.2.7".parse().unwrap()
}

#[test]
fn right_credentials_pass_and_wrong_ones_are_challenged() {
    let a = Auth::new(&rule(&[("alice", "wonderland"), ("bob", "builder")])).unwrap();
    let l = Limiter::default();
    let now = Instant::now();
    let challenge = Outcome::Challenge("Basic realm=\"private\", charset=\"UTF-8\"".into());
    assert_eq!(
        a.check(Some(&basic("alice:wonderland")), peer(), now, &l),
        Outcome::Allowed
    );
    assert_eq!(
        a.check(Some(&basic("bob:builder")), peer(), now, &l),
        Outcome::Allowed
    );
    assert_eq!(
        a.check(Some(&basic("alice:builder")), peer(), now, &l),
        challenge
    );
    assert_eq!(
        a.check(Some(&basic("carol:wonderland")), peer(), now, &l),
        challenge,
        "unknown user with another user's password"
    );
    assert_eq!(a.check(Some(&basic("alice:")), peer(), now, &l), challenge);
    assert_eq!(a.check(None, peer(), now, &l), challenge);
    assert_eq!(a.check(Some(b"Bearer abc"), peer(), now, &l), challenge);
    assert_eq!(a.check(Some(b"Basic !!!"), peer(), now, &l), challenge);
    // Remembered credentials still must match exactly.
    assert_eq!(
        a.check(Some(&basic("alice:wonderland")), peer(), now, &l),
        Outcome::Allowed
    );
    assert_eq!(
        a.check(Some(&basic("alice:wonderlanD")), peer(), now, &l),
        challenge
    );
}

#[test]
fn passwords_may_contain_colons_and_utf8() {
    let a = Auth::new(&rule(&[("al", "p:w:é")])).unwrap();
    let l = Limiter::default();
    assert_eq!(
        a.check(Some(&basic("al:p:w:é")), peer(), Instant::now(), &l),
        Outcome::Allowed
    );
}

#[test]
fn too_many_failures_are_limited_with_a_retry_time_even_for_the_right_password() {
    let a = Auth::new(&rule(&[("alice", "wonderland")])).unwrap();
    let l = Limiter::default();
    let now = Instant::now();
    for _ in 0..MAX_FAILED_ATTEMPTS {
        assert!(matches!(
            a.check(Some(&basic("alice:guess")), peer(), now, &l),
            Outcome::Challenge(_)
        ));
    }
    let limited = Outcome::Limited(FAILED_ATTEMPT_WINDOW.as_secs());
    assert_eq!(
        a.check(Some(&basic("alice:guess")), peer(), now, &l),
        limited
    );
    assert_eq!(
        a.check(Some(&basic("alice:wonderland")), peer(), now, &l),
        limited
    );
    let other: IpAddr = "192.0.2.8".parse().unwrap();
    assert_eq!(
        a.check(Some(&basic("alice:wonderland")), other, now, &l),
        Outcome::Allowed
    );
    let later = now + FAILED_ATTEMPT_WINDOW;
    assert_eq!(
        a.check(Some(&basic("alice:wonderland")), peer(), later, &l),
        Outcome::Allowed
    );
}

#[test]
fn a_missing_authorization_is_not_a_failure() {
    let a = Auth::new(&rule(&[("alice", "wonderland")])).unwrap();
    let l = Limiter::default();
    let now = Instant::now();
    for _ in 0..MAX_FAILED_ATTEMPTS * 2 {
        assert!(matches!(
            a.check(None, peer(), now, &l),
            Outcome::Challenge(_)
        ));
    }
    assert_eq!(l.blocked(peer(), now), None);
}

#[test]
fn bad_rules_are_refused() {
    let mut r = rule(&[("alice", "x")]);
    r.users.0[0].1 = "plaintext".into();
    assert!(Auth::new(&r).unwrap_err().contains("never passwords"));
    r.users.0[0].1 = "$2b$12$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz012".into();
    assert!(Auth::new(&r).unwrap_err().contains("bcrypt"));
    r.users.0[0].1 = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into();
    assert!(Auth::new(&r).unwrap_err().contains("above the limit"));
    r.users.0[0].1 = "$argon2id$nonsense".into();
    assert!(Auth::new(&r).is_err());
    let r = rule(&[("al:ice", "x")]);
    assert!(Auth::new(&r)
        .unwrap_err()
        .contains("cannot be empty or contain :"));
    let mut r = rule(&[("alice", "x")]);
    r.realm = "a\"b".into();
    assert!(Auth::new(&r).unwrap_err().contains("without quotes"));
    assert!(Auth::new(&rule(&[]))
        .unwrap_err()
        .contains("users is empty"));
}

#[test]
fn base64_decodes_with_or_without_padding() {
    assert_eq!(decode_base64(b"YWxpY2U6cHc=").unwrap(), b"alice:pw");
    assert_eq!(decode_base64(b"YWxpY2U6cHc").unwrap(), b"alice:pw");
    assert_eq!(decode_base64(b"YQ==").unwrap(), b"a");
    assert_eq!(decode_base64(b"").unwrap(), b"");
    assert!(decode_base64(b"Y").is_none());
    assert!(decode_base64(b"YW*j").is_none());
    assert_eq!(
        parse_basic(b"bAsIc   YTpi ").unwrap(),
        (b"a".to_vec(), b"b".to_vec())
    );
}

#[test]
fn the_real_hash_from_hash_password_verifies() {
    let phc = crate::rules::hash_password::hash(b"pw").unwrap();
    let r = AuthRule {
        source: "/p/**".into(),
        realm: "r".into(),
        users: Fields(vec![("u".into(), phc)]),
    };
    let a = Auth::new(&r).unwrap();
    assert_eq!(
        a.check(
            Some(&basic("u:pw")),
            peer(),
            Instant::now(),
            &Limiter::default()
        ),
        Outcome::Allowed
    );
}
