//! Time is plain unix milliseconds, passed in (the `Clock` port reads it), so the rules
//! stay pure and testable. This module only writes it for people and for Twilio filters.

/// `2026-11-21 10:02:11 UTC` for notes (ServiceNow shows UTC date-times in this style).
pub fn format_utc(ms: u64) -> String {
    let (date, time) = date_time(ms);
    format!("{date} {time} UTC")
}

/// `2026-11-21T10:02:11Z`: ISO 8601 in UTC, as Twilio's `DateCreatedFrom` filter takes it.
pub fn format_iso8601(ms: u64) -> String {
    let (date, time) = date_time(ms);
    format!("{date}T{time}Z")
}

/// Unix milliseconds of an RFC 2822 date-time as Twilio's callbacks send it
/// (`Tue, 02 Dec 2026 12:00:00 +0000`); `None` if it is not one.
pub fn parse_rfc2822_ms(text: &str) -> Option<u64> {
    let zoned = jiff::fmt::rfc2822::parse(text.trim()).ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

/// (`YYYY-MM-DD`, `hh:mm:ss`) in UTC.
fn date_time(ms: u64) -> (String, String) {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration in a form people read: `45 s`, `3 min 05 s`.
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_for_twilio_filters() {
        assert_eq!(format_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso8601(1_795_255_200_999), "2026-11-21T10:00:00Z");
        assert_eq!(format_iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29T23:59:59Z = 1709251199
        assert_eq!(format_utc(1_709_251_199_000), "2024-02-29 23:59:59 UTC");
        // 2026-11-21T10:02:11Z = 1795255331
        assert_eq!(format_utc(1_795_255_331_000), "2026-11-21 10:02:11 UTC");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(45_400), "45 s");
        assert_eq!(human_duration(185_000), "3 min 05 s");
    }
}
