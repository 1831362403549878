//! Time is plain unix milliseconds, passed in (the `Clock` port reads it), so the rules
//! stay pure and testable. This module only writes it for people and for Twilio filters.

/// `2026-11-21 10:02:11 UTC` for notes (ServiceNow shows UTC date-times in this style).
pub fn format_utc(ms: u64) -> String {
    instant(ms).strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2026-11-21T10:02:11Z`: ISO 8601 in UTC, as Twilio's `DateCreatedFrom` filter takes it.
pub fn format_iso8601(ms: u64) -> String {
    instant(ms).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Unix milliseconds of an RFC 2822 date-time as Twilio's callbacks send it
/// (`Tue, 02 Dec 2026 12:00:00 +0000`); `None` if it is not one.
pub fn parse_rfc2822_ms(text: &str) -> Option<u64> {
    let zoned = jiff::fmt::rfc2822::parse(text.trim()).ok()?;
    u64::try_from(zoned.timestamp().as_millisecond()).ok()
}

/// The instant `ms` milliseconds after the Unix epoch (the latest representable one for
/// values beyond jiff's range, which no clock produces).
fn instant(ms: u64) -> jiff::Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .unwrap_or(jiff::Timestamp::MAX)
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
