//! The two facts the server reads from its own certificate: the serial number (for log
//! lines) and the validity period (to warn about an expired certificate at start-up).
//!
//! rustls checks the certificate's structure when it matches the key; this walks only the
//! first fields of `TBSCertificate` (RFC 5280 section 4.1), so a full X.509 parser is not
//! worth a dependency. Anything unexpected gives `None`, never a panic.

use shared::wire::date::Civil;

/// DER tags met on the way to the validity.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const EXPLICIT_VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// What the start-up and reload lines say about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// The serial number's bytes, big-endian, as encoded.
    pub serial: Vec<u8>,
    /// Start of validity (UTC).
    pub not_before: Civil,
    /// End of validity (UTC).
    pub not_after: Civil,
}

impl CertSummary {
    /// The serial as colon-separated hex, the way `openssl x509 -serial` and browsers show it.
    pub fn serial_hex(&self) -> String {
        let start = self.serial.iter().position(|b| *b != 0).unwrap_or(0);
        let digits: Vec<String> = self.serial[start..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        digits.join(":")
    }
}

/// Reads the serial number and validity of a DER certificate; `None` if it is not one.
pub fn summary(der: &[u8]) -> Option<CertSummary> {
    let (tag, cert, _) = tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (mut tag, mut value, mut rest) = tlv(tbs)?;
    if tag == EXPLICIT_VERSION {
        (tag, value, rest) = tlv(rest)?;
    }
    if tag != INTEGER {
        return None;
    }
    let serial = value.to_vec();
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (tag, value, rest) = tlv(validity)?;
    let not_before = time(tag, value)?;
    let (tag, value, _) = tlv(rest)?;
    let not_after = time(tag, value)?;
    Some(CertSummary {
        serial,
        not_before,
        not_after,
    })
}

/// Whether `a` is strictly earlier than `b`.
pub fn earlier(a: &Civil, b: &Civil) -> bool {
    let key = |c: &Civil| (c.year, c.month, c.day, c.hour, c.minute, c.second);
    key(a) < key(b)
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn show(c: &Civil) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// One DER tag-length-value: (tag, value, rest). Definite lengths of up to 4 bytes.
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, der) = der.split_first()?;
    let (&first, mut der) = der.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || der.len() < count {
            return None;
        }
        let (bytes, rest) = der.split_at(count);
        der = rest;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if der.len() < len {
        return None;
    }
    let (value, rest) = der.split_at(len);
    Some((tag, value, rest))
}

fn expect(der: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(der)?;
    (tag == want).then_some((value, rest))
}

/// RFC 5280 section 4.1.2.5: `YYMMDDHHMMSSZ` (years 1950-2049) or `YYYYMMDDHHMMSSZ`.
fn time(tag: u8, value: &[u8]) -> Option<Civil> {
    let (year, rest) = match (tag, value.len()) {
        (UTC_TIME, 13) => {
            let yy = i64::from(digits(&value[..2])?);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &value[2..])
        }
        (GENERALIZED_TIME, 15) => (i64::from(digits(&value[..4])?), &value[4..]),
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let civil = Civil {
        year,
        month: digits(&rest[0..2])?,
        day: digits(&rest[2..4])?,
        hour: digits(&rest[4..6])?,
        minute: digits(&rest[6..8])?,
        second: digits(&rest[8..10])?,
    };
    let in_range = (1..=12).contains(&civil.month)
        && (1..=31).contains(&civil.day)
        && civil.hour < 24
        && civil.minute < 60
        && civil.second < 60;
    in_range.then_some(civil)
}

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{date_time_ymd, CertificateParams, KeyPair, SerialNumber};

    fn cert(serial: u64, not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.serial_number = Some(SerialNumber::from(serial));
        params.not_before = date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_serial_and_both_time_forms() {
        // rcgen, as RFC 5280 asks, writes 2001 as UTCTime and 4096 as GeneralizedTime.
        let s = summary(&cert(0x1001, (2000, 1, 2), (2001, 3, 4))).unwrap();
        assert_eq!(s.serial_hex(), "10:01");
        assert_eq!(show(&s.not_before), "2000-01-02 00:00:00 UTC");
        assert_eq!(show(&s.not_after), "2001-03-04 00:00:00 UTC");
        let s = summary(&cert(0xabcdef, (1975, 1, 1), (4096, 1, 1))).unwrap();
        assert_eq!(s.serial_hex(), "ab:cd:ef");
        assert_eq!((s.not_before.year, s.not_after.year), (1975, 4096));
        assert!(earlier(&s.not_before, &s.not_after));
        assert!(!earlier(&s.not_after, &s.not_before));
    }

    #[test]
    fn times_follow_rfc_5280() {
        let t = |tag, s: &str| time(tag, s.as_bytes()).map(|c| show(&c));
        assert_eq!(
            t(UTC_TIME, "491231235959Z").unwrap(),
            "2049-12-31 23:59:59 UTC"
        );
        assert_eq!(
            t(UTC_TIME, "500101000000Z").unwrap(),
            "1950-01-01 00:00:00 UTC"
        );
        assert_eq!(
            t(GENERALIZED_TIME, "20500101000000Z").unwrap(),
            "2050-01-01 00:00:00 UTC"
        );
        for (tag, bad) in [
            (UTC_TIME, "4912312359Z"),
            (UTC_TIME, "491231235959+"),
            (UTC_TIME, "491331235959Z"),
            (UTC_TIME, "49123123595aZ"),
            (GENERALIZED_TIME, "491231235959Z"),
            (INTEGER, "491231235959Z"),
        ] {
            assert_eq!(t(tag, bad), None, "{bad}");
        }
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        let good = cert(7, (2000, 1, 1), (2001, 1, 1));
        for len in 0..good.len() {
            // Every truncation fails cleanly (lengths then overrun the input).
            assert_eq!(summary(&good[..len]), None, "truncated at {len}");
        }
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\xff\xff\xff\xff\xff",
            b"\x04\x00",
        ] {
            assert_eq!(summary(bad), None);
        }
    }
}
