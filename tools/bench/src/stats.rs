//! Small, pure helpers for the numbers: percentiles, windows, overlaps, time parsing.

use std::time::Duration;

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples; zero when empty.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut v = samples.to_vec();
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The largest number of instants (ms) that fall in any half-open window `[t, t + width)`.
pub fn max_in_window(times_ms: &[u64], width_ms: u64) -> usize {
    let mut v = times_ms.to_vec();
    v.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..v.len() {
        while v[end] - v[start] >= width_ms {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// The largest number of intervals `[start, end)` open at the same instant. An interval that
/// ends exactly when another starts does not overlap it.
pub fn max_overlap(intervals: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(s, e) in intervals {
        edges.push((s, 1));
        edges.push((e.max(s), -1));
    }
    // At equal times, ends (-1) sort before starts (+1).
    edges.sort_unstable();
    let (mut open, mut best) = (0i64, 0i64);
    for (_, d) in edges {
        open += i64::from(d);
        best = best.max(open);
    }
    best as usize
}

/// `2026-11-21T10:00:00.123Z` (the fakes' `iso_millis`) to unix milliseconds.
pub fn parse_iso_millis(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = if b.get(19) == Some(&b'.') {
        num(20..23)?
    } else {
        0
    };
    // Days from civil (proleptic Gregorian), the inverse of the usual civil_from_days.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + millis;
    u64::try_from(ms).ok()
}

/// `1.23 s`, `45.6 ms`, `789 µs`: three significant figures.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{} s", sig3(s))
    } else if s >= 1e-3 {
        format!("{} ms", sig3(s * 1e3))
    } else {
        format!("{} µs", sig3(s * 1e6))
    }
}

/// A number with three significant figures (no exponent).
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = x.abs().log10().floor() as i32;
    let decimals = (2 - digits).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Bytes as MB (10^6) with two decimals.
pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn window_counts_half_open_seconds() {
        assert_eq!(max_in_window(&[], 1000), 0);
        assert_eq!(max_in_window(&[0, 999, 1000, 1999], 1000), 2);
        assert_eq!(max_in_window(&[5, 0, 10, 3000], 1000), 3);
        let burst: Vec<u64> = (0..20).chain(1000..1020).collect();
        assert_eq!(max_in_window(&burst, 1000), 20);
    }

    #[test]
    fn overlap_of_back_to_back_calls_is_one() {
        assert_eq!(max_overlap(&[]), 0);
        assert_eq!(max_overlap(&[(0, 10), (10, 20), (20, 30)]), 1);
        assert_eq!(max_overlap(&[(0, 10), (5, 20), (8, 9)]), 3);
        assert_eq!(max_overlap(&[(0, 10), (15, 20)]), 1);
    }

    #[test]
    fn iso_millis_round_trip() {
        assert_eq!(parse_iso_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_iso_millis("2026-11-21T10:00:00.123Z"),
            Some(1_795_255_200_123)
        );
        assert_eq!(
            parse_iso_millis("2000-02-29T23:59:59Z"),
            Some(951_868_799_000)
        );
        assert_eq!(parse_iso_millis("yesterday"), None);
    }

    #[test]
    fn human_units() {
        assert_eq!(human(Duration::from_millis(1234)), "1.23 s");
        assert_eq!(human(Duration::from_micros(45_600)), "45.6 ms");
        assert_eq!(human(Duration::from_nanos(789_000)), "789 µs");
        assert_eq!(sig3(0.5), "0.500");
        assert_eq!(sig3(123.4), "123");
    }
}
