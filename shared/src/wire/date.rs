//! HTTP dates (RFC 9110 section 5.6.7): formatting, parsing and a once-a-second cache.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

/// The last instant an IMF-fixdate can show (9999-12-31 23:59:59 UTC).
pub const LATEST_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// Formats `t` as an IMF-fixdate. Times outside what the format can show (before 1970
/// or after 9999: file times can be anything) are clamped to its range, never a panic.
pub fn format_http_date(t: SystemTime) -> String {
    let latest = UNIX_EPOCH + Duration::from_secs(LATEST_HTTP_DATE_SECS);
    httpdate::fmt_http_date(t.clamp(UNIX_EPOCH, latest))
}

/// Parses any of the three date formats a recipient must accept; `None` if invalid.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

/// Truncates `t` to whole seconds, the resolution of HTTP dates.
pub fn to_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The `Date` header value, formatted at most once per second.
#[derive(Debug, Clone)]
pub struct DateCache {
    second: u64,
    text: [u8; HTTP_DATE_LEN],
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DateCache {
    /// An empty cache; the first call to [`DateCache::get`] fills it.
    pub fn new() -> Self {
        Self {
            second: u64::MAX,
            text: [b' '; HTTP_DATE_LEN],
        }
    }

    /// The formatted date for `now`, reformatted only when the second changes.
    pub fn get(&mut self, now: SystemTime) -> &[u8; HTTP_DATE_LEN] {
        let second = to_seconds(now);
        if second != self.second {
            let s = format_http_date(UNIX_EPOCH + Duration::from_secs(second));
            if s.len() == HTTP_DATE_LEN {
                self.text.copy_from_slice(s.as_bytes());
                self.second = second;
            }
        }
        &self.text
    }
}

/// A UTC calendar time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day of the month, 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
    /// Minute, 0-59.
    pub minute: u32,
    /// Second, 0-59.
    pub second: u32,
}

/// Splits `t` into a proleptic Gregorian UTC date and time, truncating to the second
/// (towards the past for times before 1970).
pub fn civil(t: SystemTime) -> Civil {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            (-whole).saturating_sub(i64::from(d.subsec_nanos() > 0))
        }
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        // All below are in small ranges by construction.
        month: month as u32,
        day: day as u32,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(784111777);
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn dates_outside_the_format_are_clamped_not_a_panic() {
        let before = UNIX_EPOCH - Duration::from_secs(60);
        assert_eq!(format_http_date(before), "Thu, 01 Jan 1970 00:00:00 GMT");
        let after = UNIX_EPOCH + Duration::from_secs(LATEST_HTTP_DATE_SECS + 1000);
        assert_eq!(format_http_date(after), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn cache_changes_with_the_second() {
        let mut c = DateCache::new();
        let t = UNIX_EPOCH + Duration::from_secs(784111777);
        assert_eq!(c.get(t), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            c.get(t + Duration::from_millis(999)),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            c.get(t + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }
}
