//! Just enough X.509 (RFC 5280) to tell a person about a server's certificate: subject,
//! issuer, names and expiry, read from its DER by a bounded walk that returns `None` on
//! anything unexpected. Verification is rustls' job; this is only for messages and `-v`.

use shared::wire::date::{civil, Civil};
use std::net::IpAddr;
use std::time::SystemTime;

/// Most names listed from one certificate; a CDN certificate can carry hundreds.
const MAX_NAMES: usize = 32;

/// What the client shows about a certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CertSummary {
    /// The subject, as `CN=..., O=...`.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName, in order (at most [`MAX_NAMES`]).
    pub names: Vec<String>,
    /// How many names were left out past [`MAX_NAMES`].
    pub more_names: usize,
    /// The end of the validity period, as `2030-01-01 00:00:00 UTC`.
    pub not_after: String,
}

impl CertSummary {
    /// The names as one list for a message: `a, b, c (and 4 more)`.
    pub fn names_list(&self) -> String {
        let mut list = self.names.join(", ");
        if list.is_empty() {
            list.push_str("no names");
        }
        if self.more_names > 0 {
            list.push_str(&format!(" (and {} more)", self.more_names));
        }
        list
    }
}

/// Reads the summary from a DER certificate; `None` if it does not parse.
pub(crate) fn summarize(der: &[u8]) -> Option<CertSummary> {
    let (issuer, validity, rest) = to_validity(der)?;
    let (0x30, subject, mut rest) = tlv(rest)? else {
        return None;
    };
    let (_, _, after) = tlv(validity)?;
    let (time_tag, not_after, _) = tlv(after)?;
    let mut summary = CertSummary {
        subject: name(subject)?,
        issuer: name(issuer)?,
        not_after: time(time_tag, not_after)?,
        ..CertSummary::default()
    };
    while !rest.is_empty() {
        let (tag, value, next) = tlv(rest)?;
        rest = next;
        if tag == 0xa3 {
            let (0x30, extensions, _) = tlv(value)? else {
                return None;
            };
            alt_names(extensions, &mut summary)?;
        }
    }
    Some(summary)
}

/// Walks a certificate to its validity: (issuer, validity, what follows in the TBS).
fn to_validity(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let (mut tag, mut value, mut rest) = tlv(tbs)?;
    if tag == 0xa0 {
        (tag, value, rest) = tlv(rest)?; // explicit [0] version
    }
    let _serial = (tag == 0x02).then_some(value)?;
    let (_, _signature, rest) = tlv(rest)?;
    let (0x30, issuer, rest) = tlv(rest)? else {
        return None;
    };
    let (0x30, validity, rest) = tlv(rest)? else {
        return None;
    };
    Some((issuer, validity, rest))
}

/// One DER element: (tag, contents, what follows). Only the short tag form is read;
/// lengths up to four bytes.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A distinguished name as `CN=x, O=y`, attributes in order; unknown types by OID.
fn name(mut input: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !input.is_empty() {
        let (0x31, mut set, next) = tlv(input)? else {
            return None;
        };
        input = next;
        while !set.is_empty() {
            let (0x30, attr, more) = tlv(set)? else {
                return None;
            };
            set = more;
            let (0x06, oid, value) = tlv(attr)? else {
                return None;
            };
            let (_, text, _) = tlv(value)?;
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN".to_string(),
                [0x55, 0x04, 0x06] => "C".to_string(),
                [0x55, 0x04, 0x07] => "L".to_string(),
                [0x55, 0x04, 0x08] => "ST".to_string(),
                [0x55, 0x04, 0x0a] => "O".to_string(),
                [0x55, 0x04, 0x0b] => "OU".to_string(),
                other => format!("OID {}", hex(other)),
            };
            parts.push(format!("{label}={}", String::from_utf8_lossy(text)));
        }
    }
    Some(parts.join(", "))
}

/// Collects subjectAltName (OID 2.5.29.17) DNS names and IP addresses.
fn alt_names(mut extensions: &[u8], summary: &mut CertSummary) -> Option<()> {
    while !extensions.is_empty() {
        let (0x30, ext, next) = tlv(extensions)? else {
            return None;
        };
        extensions = next;
        let (0x06, oid, rest) = tlv(ext)? else {
            return None;
        };
        if oid != [0x55, 0x1d, 0x11] {
            continue;
        }
        let (mut tag, mut value, after) = tlv(rest)?;
        if tag == 0x01 {
            (tag, value, _) = tlv(after)?; // past the critical flag
        }
        if tag != 0x04 {
            return None;
        }
        let (0x30, mut names, _) = tlv(value)? else {
            return None;
        };
        while !names.is_empty() {
            let (tag, value, more) = tlv(names)?;
            names = more;
            let shown = match (tag, value.len()) {
                (0x82, _) => String::from_utf8_lossy(value).into_owned(),
                (0x87, 4) => IpAddr::from(<[u8; 4]>::try_from(value).ok()?).to_string(),
                (0x87, 16) => IpAddr::from(<[u8; 16]>::try_from(value).ok()?).to_string(),
                _ => continue,
            };
            if summary.names.len() < MAX_NAMES {
                summary.names.push(shown);
            } else {
                summary.more_names += 1;
            }
        }
    }
    Some(())
}

/// UTCTime (`YYMMDDHHMMSSZ`, RFC 5280 4.1.2.5.1: 50-99 are 19xx) or GeneralizedTime.
fn time(tag: u8, value: &[u8]) -> Option<String> {
    civil_time(tag, value).map(|c| show(&c))
}

/// The same times as calendar fields, checked for range.
fn civil_time(tag: u8, value: &[u8]) -> Option<Civil> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = match (tag, text.len()) {
        (0x17, 12) => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        (0x18, 14) => text.to_string(),
        _ => return None,
    };
    let f = |r: std::ops::Range<usize>| full[r].parse::<u32>().ok();
    let civil = Civil {
        year: i64::from(f(0..4)?),
        month: f(4..6)?,
        day: f(6..8)?,
        hour: f(8..10)?,
        minute: f(10..12)?,
        second: f(12..14)?,
    };
    let in_range = (1..=12).contains(&civil.month)
        && (1..=31).contains(&civil.day)
        && civil.hour < 24
        && civil.minute < 60
        && civil.second < 60;
    in_range.then_some(civil)
}

/// `2001-01-01 00:00:00 UTC`.
pub(crate) fn show(c: &Civil) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Orders calendar times (all UTC).
fn key(c: &Civil) -> (i64, u32, u32, u32, u32, u32) {
    (c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// Where `now` stands against a certificate's validity period (RFC 5280 4.1.2.5: both
/// ends inclusive); `None` if the certificate does not parse.
pub(crate) fn validity_at(der: &[u8], now: SystemTime) -> Option<Validity> {
    let (_, validity, _) = to_validity(der)?;
    let (before_tag, not_before, after) = tlv(validity)?;
    let (after_tag, not_after, _) = tlv(after)?;
    let (from, until) = (
        civil_time(before_tag, not_before)?,
        civil_time(after_tag, not_after)?,
    );
    let now = key(&civil(now));
    Some(if now < key(&from) {
        Validity::NotYet(show(&from))
    } else if now > key(&until) {
        Validity::Expired(show(&until))
    } else {
        Validity::Current
    })
}

/// The answer of [`validity_at`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// Within its dates.
    Current,
    /// Starts later, on this date.
    NotYet(String),
    /// Ended on this date.
    Expired(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lengths_and_refuses_overruns() {
        assert_eq!(
            tlv(&[0x04, 0x02, 1, 2, 9]),
            Some((0x04, &[1u8, 2][..], &[9u8][..]))
        );
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 7]),
            Some((0x04, &[7u8][..], &[][..]))
        );
        assert_eq!(tlv(&[0x04, 0x05, 1]), None);
        assert_eq!(tlv(&[0x04, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(tlv(&[0x1f, 0x01, 0]), None);
        assert_eq!(tlv(&[]), None);
    }

    #[test]
    fn times() {
        assert_eq!(
            time(0x17, b"010101000000Z").as_deref(),
            Some("2001-01-01 00:00:00 UTC")
        );
        assert_eq!(
            time(0x17, b"991231235959Z").as_deref(),
            Some("1999-12-31 23:59:59 UTC")
        );
        assert_eq!(
            time(0x18, b"20990101000000Z").as_deref(),
            Some("2099-01-01 00:00:00 UTC")
        );
        assert_eq!(time(0x17, b"0101010000Z"), None);
    }

    #[test]
    fn garbage_is_none_never_a_panic() {
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 0x30) as u8).collect();
            let _ = summarize(&junk);
        }
        assert_eq!(summarize(b"\x30\x03\x30\x01\x00"), None);
    }
}
