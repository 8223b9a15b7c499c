//! Working time: Monday to Friday within working hours in Europe/London, skipping bank
//! holidays. The triage service levels count it: an urgent referral is due four working hours
//! after it arrives, a standard one a working day after.

use ::time::Date;

use crate::referrals::Urgency;
use crate::time::{format_iso_day, is_weekend, london_date, london_midnight, parse_date};

/// The bank holidays of England and Wales shipped with Pathways.
pub const ENGLAND_AND_WALES: &str = include_str!("../data/bank-holidays-england-and-wales.txt");

/// A bank-holiday list that could not be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct HolidayListError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Reads a holiday list: one `YYYY-MM-DD` per line, optionally followed by a name; blank
/// lines and lines starting with `#` are skipped.
pub fn parse_holidays(text: &str) -> Result<Vec<Date>, HolidayListError> {
    let mut days = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        let day = parse_date(first).ok_or_else(|| HolidayListError {
            line: i + 1,
            problem: format!("{first:?} is not a date written as YYYY-MM-DD"),
        })?;
        days.push(day);
    }
    days.sort();
    days.dedup();
    Ok(days)
}

/// The working week and the service levels measured in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    /// Working seconds allowed to triage an urgent referral.
    pub urgent_secs: i64,
    /// Working seconds allowed to triage a standard referral.
    pub standard_secs: i64,
    /// Start of the working day, London hour.
    pub day_start_hour: i64,
    /// End of the working day, London hour.
    pub day_end_hour: i64,
    /// Weekdays that are not worked (bank holidays), sorted.
    pub holidays: Vec<Date>,
}

impl Default for WorkingCalendar {
    /// Four working hours for urgent referrals, one working day (09:00–17:00) for standard
    /// ones, and the bank holidays of England and Wales.
    fn default() -> Self {
        WorkingCalendar {
            urgent_secs: 4 * 3600,
            standard_secs: 8 * 3600,
            day_start_hour: 9,
            day_end_hour: 17,
            holidays: parse_holidays(ENGLAND_AND_WALES)
                .expect("the shipped bank-holiday list is valid"),
        }
    }
}

/// Where a referral stands against its service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// When triage is due, UTC seconds.
    pub due_at: i64,
    /// Working seconds left (negative once breached).
    pub remaining: i64,
    /// True when `now` is past the due time.
    pub breached: bool,
}

impl WorkingCalendar {
    /// Working seconds allowed for an urgency.
    pub fn allowance(&self, urgency: Urgency) -> i64 {
        match urgency {
            Urgency::Urgent => self.urgent_secs,
            Urgency::Standard => self.standard_secs,
        }
    }

    /// True on a weekday that is not a holiday.
    pub fn is_working_day(&self, d: Date) -> bool {
        !is_weekend(d) && self.holidays.binary_search(&d).is_err()
    }

    /// The working window of London day `d`, as UTC seconds.
    fn window(&self, d: Date) -> (i64, i64) {
        let midnight = london_midnight(d);
        // Clocks change on Sundays at 01:00, never inside a working day, so the day's
        // offset at midnight holds all day.
        (
            midnight + self.day_start_hour * 3600,
            midnight + self.day_end_hour * 3600,
        )
    }

    /// The instant `secs` working seconds after `start`; work starts at the next opening when
    /// `start` falls outside working hours.
    pub fn add_working(&self, start: i64, secs: i64) -> i64 {
        if secs <= 0 {
            return start;
        }
        let mut remaining = secs;
        let mut day = london_date(start);
        // Ten years of days bounds the search even with a long holiday list.
        for _ in 0..3660 {
            if self.is_working_day(day) {
                let (open, close) = self.window(day);
                let from = open.max(start);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                }
            }
            match day.next_day() {
                Some(d) => day = d,
                None => break,
            }
        }
        i64::MAX
    }

    /// Working seconds between two instants; negative when `to` is before `from`.
    pub fn working_between(&self, from: i64, to: i64) -> i64 {
        if to < from {
            return -self.working_between(to, from);
        }
        let mut total = 0;
        let mut day = london_date(from);
        let last = london_date(to);
        while day <= last {
            if self.is_working_day(day) {
                let (open, close) = self.window(day);
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += b - a;
                }
            }
            match day.next_day() {
                Some(d) => day = d,
                None => break,
            }
        }
        total
    }

    /// The service-level clock of a referral received at `received`, seen at `now`.
    pub fn clock(&self, received: i64, urgency: Urgency, now: i64) -> Clock {
        let due_at = self.add_working(received, self.allowance(urgency));
        Clock {
            due_at,
            remaining: self.working_between(now, due_at),
            breached: now > due_at,
        }
    }

    /// The holidays as `YYYY-MM-DD`, for settings pages.
    pub fn holiday_keys(&self) -> Vec<String> {
        self.holidays
            .iter()
            .map(|d| format_iso_day(london_midnight(*d) + 12 * 3600))
            .collect()
    }
}

/// A working duration in words: "3 h 05 min".
pub fn describe(secs: i64) -> String {
    let s = secs.abs();
    let (h, m) = (s / 3600, (s % 3600) / 60);
    if h == 0 {
        format!("{m} min")
    } else {
        format!("{h} h {m:02} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::PrimitiveDateTime;
    use ::time::macros::{date, datetime};

    fn at(t: PrimitiveDateTime) -> i64 {
        t.assume_utc().unix_timestamp()
    }

    fn plain() -> WorkingCalendar {
        WorkingCalendar {
            holidays: Vec::new(),
            ..WorkingCalendar::default()
        }
    }

    #[test]
    fn the_shipped_list_knows_substitute_days() {
        let cal = WorkingCalendar::default();
        // Boxing Day 2026 is a Saturday: Monday 28 December is the holiday.
        assert!(!cal.is_working_day(date!(2026 - 12 - 28)));
        assert!(!cal.is_working_day(date!(2026 - 04 - 03)), "Good Friday");
        assert!(cal.is_working_day(date!(2026 - 12 - 29)));
    }

    #[test]
    fn holiday_lists_name_the_bad_line() {
        let err = parse_holidays("# list\n2026-01-01 New Year\n01/05/2026 May Day\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.problem.contains("01/05/2026"), "{err}");
    }

    #[test]
    fn an_urgent_referral_late_on_friday_is_due_on_monday_in_summer_time() {
        let cal = plain();
        // Friday 10 July 2026, 16:00 London (15:00 UTC): one hour left that day, three on
        // Monday from 09:00 London (08:00 UTC) → due 12:00 London (11:00 UTC).
        let received = at(datetime!(2026-07-10 15:00:00));
        let due = cal.add_working(received, 4 * 3600);
        assert_eq!(due, at(datetime!(2026-07-13 11:00:00)));
        let c = cal.clock(
            received,
            Urgency::Urgent,
            at(datetime!(2026-07-13 09:00:00)),
        );
        assert_eq!((c.remaining, c.breached), (2 * 3600, false));
        assert_eq!(describe(c.remaining), "2 h 00 min");
    }

    #[test]
    fn bank_holidays_stop_the_clock() {
        let cal = WorkingCalendar::default();
        // Thursday 24 December 2026 at 16:00: Christmas and the substitute Boxing Day are
        // skipped, so a standard referral is due on Tuesday 29 December at 16:00.
        let received = at(datetime!(2026-12-24 16:00:00));
        assert_eq!(
            cal.add_working(received, 8 * 3600),
            at(datetime!(2026-12-29 16:00:00))
        );
    }

    #[test]
    fn london_switches_to_summer_time_on_the_last_sundays() {
        use crate::time::london_offset;
        assert_eq!(london_offset(at(datetime!(2026-03-29 00:59))), 0);
        assert_eq!(london_offset(at(datetime!(2026-03-29 01:00))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 00:59))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 01:00))), 0);
        assert_eq!(london_offset(at(datetime!(2026-01-15 12:00))), 0);
    }

    #[test]
    fn weekend_receipt_starts_the_clock_on_monday() {
        let cal = plain();
        // Saturday 10 January 2026 (GMT): Monday 09:00 + 4 h = 13:00.
        let due = cal.add_working(at(datetime!(2026-01-10 10:00)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-01-12 13:00)));
        // Received after hours on a weekday: the next morning.
        let due = cal.add_working(at(datetime!(2026-01-13 19:30)), 3600);
        assert_eq!(due, at(datetime!(2026-01-14 10:00)));
    }

    #[test]
    fn a_standard_referral_gets_one_working_day() {
        let cal = plain();
        // Tuesday 10:00 GMT -> Wednesday 10:00 GMT.
        let due = cal.add_working(
            at(datetime!(2026-02-10 10:00)),
            cal.allowance(Urgency::Standard),
        );
        assert_eq!(due, at(datetime!(2026-02-11 10:00)));
        // Ending exactly at closing time stays on the same day.
        let due = cal.add_working(at(datetime!(2026-02-10 09:00)), 8 * 3600);
        assert_eq!(due, at(datetime!(2026-02-10 17:00)));
    }

    #[test]
    fn the_clock_crosses_the_change_to_winter_time() {
        let cal = plain();
        // Friday 23 October 2026 15:00 BST (14:00 UTC) + 4 h: 2 h Friday, 2 h on Monday 26th,
        // which is GMT again: 11:00 GMT = 11:00 UTC.
        let due = cal.add_working(at(datetime!(2026-10-23 14:00)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-10-26 11:00)));
    }

    #[test]
    fn working_time_between_instants_ignores_nights_and_weekends() {
        let cal = plain();
        let fri = at(datetime!(2026-01-09 16:00));
        let mon = at(datetime!(2026-01-12 10:30));
        assert_eq!(cal.working_between(fri, mon), 3600 + 5400);
        assert_eq!(cal.working_between(mon, fri), -(3600 + 5400));
        let sat = at(datetime!(2026-01-10 09:00));
        let sun = at(datetime!(2026-01-11 18:00));
        assert_eq!(cal.working_between(sat, sun), 0);
    }

    #[test]
    fn the_clock_reports_breaches() {
        let cal = plain();
        let received = at(datetime!(2026-01-12 09:00));
        let c = cal.clock(received, Urgency::Urgent, at(datetime!(2026-01-12 12:00)));
        assert_eq!((c.remaining, c.breached), (3600, false));
        let c = cal.clock(received, Urgency::Urgent, at(datetime!(2026-01-13 10:00)));
        assert!(c.breached);
        assert_eq!(c.remaining, -(4 * 3600 + 3600));
        assert_eq!(describe(c.remaining), "5 h 00 min");
        assert_eq!(describe(59 * 60), "59 min");
    }
}
