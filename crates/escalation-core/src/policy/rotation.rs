//! Who a rotation puts on call at an instant.
//!
//! Shifts are counted on the rotation's wall clock: shift k starts on the hand-off's date
//! plus k periods, at the hand-off's time of day, in the rotation's time zone. A wall time
//! that a daylight saving change skips is taken as the same offset later (02:30 on the
//! spring-forward day is 03:30); one that happens twice is the first of the two. An
//! override covers its interval whatever the shift.

use super::Rotation;
use jiff::civil::DateTime;
use jiff::{Span, Timestamp};

/// Who is on call in a rotation, and until when this holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnCall {
    /// A person id; `None` when the rotation has no members and no override covers `at`.
    pub person: Option<String>,
    pub is_override: bool,
    /// The next change (hand-off, or the override's start or end), if any.
    pub until: Option<Timestamp>,
}

impl Rotation {
    /// The instant shift `k` starts (0 = the hand-off).
    fn shift_start(&self, k: i64) -> Option<Timestamp> {
        let days = i64::from(self.period?.days);
        let date = self
            .handoff
            .date()
            .checked_add(Span::new().try_days(k.checked_mul(days)?).ok()?)
            .ok()?;
        instant(&self.time_zone, date.to_datetime(self.handoff.time()))
    }

    /// The instant of the hand-off.
    pub fn handoff_instant(&self) -> Option<Timestamp> {
        instant(&self.time_zone, self.handoff)
    }

    /// The shift `at` falls in, and when the next one starts.
    fn shift_at(&self, at: Timestamp) -> Option<(i64, Option<Timestamp>)> {
        let first = self.handoff_instant()?;
        let Some(period) = self.period else {
            return Some(if at < first {
                (0, Some(first))
            } else {
                (1, None)
            });
        };
        let local = at.to_zoned(self.time_zone.clone()).date();
        let days = i64::from(self.handoff.date().until(local).ok()?.get_days());
        let mut k = days.div_euclid(i64::from(period.days));
        // The wall-clock guess can be one shift off around the hand-off's time of day.
        while self.shift_start(k)? > at {
            k -= 1;
        }
        while self.shift_start(k + 1)? <= at {
            k += 1;
        }
        Some((k, self.shift_start(k + 1)))
    }

    /// Who is on call at `at`.
    pub fn on_call(&self, at: Timestamp) -> OnCall {
        if let Some(o) = self.overrides.iter().find(|o| o.from <= at && at < o.until) {
            return OnCall {
                person: Some(o.person.clone()),
                is_override: true,
                until: Some(o.until),
            };
        }
        let next_override = self
            .overrides
            .iter()
            .map(|o| o.from)
            .filter(|from| *from > at)
            .min();
        let (person, next) = match self.shift_at(at) {
            _ if self.members.is_empty() => (None, None),
            Some((k, next)) => {
                let len = self.members.len() as i64;
                let index = if self.period.is_some() {
                    k.rem_euclid(len)
                } else {
                    k.min(len - 1)
                };
                (Some(self.members[index as usize].clone()), next)
            }
            None => (Some(self.members[0].clone()), None),
        };
        let until = match (next, next_override) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        OnCall {
            person,
            is_override: false,
            until,
        }
    }
}

/// A wall-clock time in a zone as an instant (gaps move forward, folds take the first).
pub(super) fn instant(tz: &jiff::tz::TimeZone, dt: DateTime) -> Option<Timestamp> {
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .ok()
        .map(|z| z.timestamp())
}
