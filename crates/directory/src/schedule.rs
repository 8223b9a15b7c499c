//! Opening times: schedules compiled from ORUK records and evaluated at a Europe/London local time.
//! Also the UK clock rule (GMT/BST) to turn a UTC instant into London local time without a tz database.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Weekday};

use crate::model::{Freq, Schedule};
use crate::validate::{ByDay, parse_byday, parse_bymonthday, parse_clock, parse_date};

/// A schedule ready for evaluation. Built only from validated records.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSchedule {
    /// Weekly or monthly.
    pub freq: Freq,
    /// Every how many weeks or months (1 when absent).
    pub interval: u32,
    /// Days listed in `byday`.
    pub byday: Vec<ByDay>,
    /// Days listed in `bymonthday`.
    pub bymonthday: Vec<i8>,
    /// Opening time in minutes after midnight.
    pub opens: u16,
    /// Closing time in minutes after midnight (1440 = midnight at the end of the day).
    pub closes: u16,
    /// First valid date.
    pub valid_from: Option<Date>,
    /// Last valid date.
    pub valid_to: Option<Date>,
    /// Recurrence anchor.
    pub dtstart: Option<Date>,
}

/// Monday = 0 ... Sunday = 6.
pub fn weekday_index(w: Weekday) -> u8 {
    w.number_days_from_monday()
}

impl CompiledSchedule {
    /// Compiles a schedule; `None` when it has no opening and closing time (descriptive only).
    pub fn compile(s: &Schedule) -> Option<CompiledSchedule> {
        let opens = parse_clock(s.opens_at.as_deref()?)?;
        let closes = parse_clock(s.closes_at.as_deref()?)?;
        Some(CompiledSchedule {
            freq: s.freq.unwrap_or(Freq::Weekly),
            interval: s
                .interval
                .as_ref()
                .and_then(serde_json::Number::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(1)
                .max(1),
            byday: s
                .byday
                .as_deref()
                .and_then(|b| parse_byday(b).ok())
                .unwrap_or_default(),
            bymonthday: s
                .bymonthday
                .as_deref()
                .and_then(|b| parse_bymonthday(b).ok())
                .unwrap_or_default(),
            opens,
            closes,
            valid_from: s.valid_from.as_deref().and_then(parse_date),
            valid_to: s.valid_to.as_deref().and_then(parse_date),
            dtstart: s.dtstart.as_deref().and_then(parse_date),
        })
    }

    /// Whether the schedule has a session starting on `date`.
    pub fn occurs_on(&self, date: Date) -> bool {
        if self.valid_from.is_some_and(|f| date < f) || self.valid_to.is_some_and(|t| date > t) {
            return false;
        }
        if let Some(start) = self.dtstart
            && date < start
        {
            return false;
        }
        let wd = weekday_index(date.weekday());
        match self.freq {
            Freq::Weekly => {
                let day_ok = if self.byday.is_empty() {
                    // RFC 5545: without BYDAY a weekly rule repeats on the weekday of DTSTART.
                    self.dtstart
                        .is_none_or(|s| weekday_index(s.weekday()) == wd)
                } else {
                    self.byday.iter().any(|b| b.weekday == wd)
                };
                if !day_ok {
                    return false;
                }
                match (self.interval, self.dtstart) {
                    (1, _) | (_, None) => true,
                    (n, Some(start)) => {
                        let monday =
                            |d: Date| d - Duration::days(i64::from(weekday_index(d.weekday())));
                        let weeks = (monday(date) - monday(start)).whole_weeks();
                        weeks.rem_euclid(i64::from(n)) == 0
                    }
                }
            }
            Freq::Monthly => {
                if self.interval > 1
                    && let Some(start) = self.dtstart
                {
                    let months = (date.year() - start.year()) * 12
                        + i32::from(u8::from(date.month()))
                        - i32::from(u8::from(start.month()));
                    if months.rem_euclid(i32::try_from(self.interval).unwrap_or(1)) != 0 {
                        return false;
                    }
                }
                let dim = i32::from(date.month().length(date.year()));
                let day = i32::from(date.day());
                let by_month_day = self.bymonthday.iter().any(|&m| {
                    let m = i32::from(m);
                    if m > 0 { m == day } else { dim + m + 1 == day }
                });
                let by_day = self.byday.iter().any(|b| {
                    b.weekday == wd
                        && match b.ordinal {
                            None => true,
                            Some(n) if n > 0 => (day - 1) / 7 + 1 == i32::from(n),
                            Some(n) => (dim - day) / 7 + 1 == -i32::from(n),
                        }
                });
                if self.bymonthday.is_empty() && self.byday.is_empty() {
                    // Without BYMONTHDAY or BYDAY a monthly rule repeats on DTSTART's day.
                    self.dtstart.is_some_and(|s| s.day() == date.day())
                } else {
                    by_month_day || by_day
                }
            }
        }
    }

    /// Whether the service is open at the given local time. A closing time at or before the
    /// opening time means the session runs past midnight into the next day.
    pub fn open_at(&self, at: PrimitiveDateTime) -> bool {
        let minute = u16::from(at.hour()) * 60 + u16::from(at.minute());
        let date = at.date();
        if self.opens < self.closes {
            self.occurs_on(date) && self.opens <= minute && minute < self.closes
        } else {
            (self.occurs_on(date) && minute >= self.opens)
                || (minute < self.closes && date.previous_day().is_some_and(|d| self.occurs_on(d)))
        }
    }

    /// Whether the schedule has sessions on a weekday (0 = Monday). Monthly rules by date
    /// of the month are not tied to a weekday and do not match.
    pub fn on_weekday(&self, weekday: u8) -> bool {
        if self.byday.is_empty() {
            return self.freq == Freq::Weekly
                && self
                    .dtstart
                    .is_none_or(|s| weekday_index(s.weekday()) == weekday);
        }
        self.byday.iter().any(|b| b.weekday == weekday)
    }
}

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn ordinal_word(n: i8) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        -1 => "last".into(),
        -2 => "second to last".into(),
        other => format!("{other}th"),
    }
}

fn clock_text(minutes: u16) -> String {
    if minutes == 0 || minutes == 1440 {
        return "midnight".into();
    }
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Plain-English opening times for a public page, e.g. "Monday to Friday, 09:00 to 17:00",
/// "First Tuesday of the month, 10:00 to 12:00" or "Every day, open 24 hours".
/// Falls back to the schedule's own description when it has no times.
pub fn describe(s: &Schedule) -> Option<String> {
    let Some(c) = CompiledSchedule::compile(s) else {
        return s.description.clone();
    };
    let days = match c.freq {
        Freq::Weekly => {
            let mut wd: Vec<u8> = c.byday.iter().map(|b| b.weekday).collect();
            wd.sort_unstable();
            wd.dedup();
            let contiguous = wd.len() > 2 && wd.windows(2).all(|w| w[1] == w[0] + 1);
            let every = if c.interval > 1 {
                format!(" (every {} weeks)", c.interval)
            } else {
                String::new()
            };
            let names = if wd.len() == 7 || wd.is_empty() {
                "Every day".to_string()
            } else if contiguous {
                format!(
                    "{} to {}",
                    DAY_NAMES[usize::from(wd[0])],
                    DAY_NAMES[usize::from(wd[wd.len() - 1])]
                )
            } else {
                let n: Vec<&str> = wd.iter().map(|&d| DAY_NAMES[usize::from(d)]).collect();
                match n.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(", "))
                    }
                    _ => n.join(""),
                }
            };
            format!("{names}{every}")
        }
        Freq::Monthly => {
            let mut parts: Vec<String> = c
                .byday
                .iter()
                .map(|b| match b.ordinal {
                    Some(n) => format!("{} {}", ordinal_word(n), DAY_NAMES[usize::from(b.weekday)]),
                    None => format!("every {}", DAY_NAMES[usize::from(b.weekday)]),
                })
                .collect();
            parts.extend(c.bymonthday.iter().map(|&d| {
                if d == -1 {
                    "last day".to_string()
                } else if d < 0 {
                    format!("{} days before the end", -d - 1)
                } else {
                    format!("day {d}")
                }
            }));
            let mut text = format!("{} of the month", parts.join(" and "));
            if let Some(first) = text.get(..1) {
                text = first.to_uppercase() + &text[1..];
            }
            text
        }
    };
    let hours = if c.opens == 0 && c.closes == 1440 {
        "open 24 hours".to_string()
    } else {
        format!("{} to {}", clock_text(c.opens), clock_text(c.closes))
    };
    Some(format!("{days}, {hours}"))
}

fn last_sunday(year: i32, month: Month) -> Date {
    let last = Date::from_calendar_date(year, month, month.length(year))
        .expect("the last day of a month is a valid date");
    last - Duration::days(i64::from(last.weekday().number_days_from_sunday()))
}

/// Converts an instant to Europe/London local time: GMT, or BST (UTC+1) from 01:00 UTC on the
/// last Sunday of March to 01:00 UTC on the last Sunday of October.
pub fn london_local(now: OffsetDateTime) -> PrimitiveDateTime {
    let utc = now.to_offset(time::UtcOffset::UTC);
    let year = utc.year();
    let one_am = time::Time::from_hms(1, 0, 0).expect("01:00 is a valid time");
    let start = PrimitiveDateTime::new(last_sunday(year, Month::March), one_am).assume_utc();
    let end = PrimitiveDateTime::new(last_sunday(year, Month::October), one_am).assume_utc();
    let local = if utc >= start && utc < end {
        utc + Duration::hours(1)
    } else {
        utc
    };
    PrimitiveDateTime::new(local.date(), local.time())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sched(
        freq: &str,
        byday: Option<&str>,
        bymonthday: Option<&str>,
        opens: &str,
        closes: &str,
    ) -> CompiledSchedule {
        let s: Schedule = serde_json::from_value(serde_json::json!({
            "id": "48102e86-bb50-41c4-8f1e-e269368c41d1",
            "freq": freq,
            "byday": byday,
            "bymonthday": bymonthday,
            "opens_at": opens,
            "closes_at": closes,
        }))
        .expect("test schedule");
        CompiledSchedule::compile(&s).expect("has times")
    }

    #[test]
    fn weekly_hours() {
        let s = sched("WEEKLY", Some("MO,WE"), None, "09:00", "17:00");
        // 2026-11-30 is a Monday.
        assert!(s.open_at(datetime!(2026-11-30 09:00)));
        assert!(s.open_at(datetime!(2026-11-30 16:59)));
        assert!(!s.open_at(datetime!(2026-11-30 17:00)));
        assert!(!s.open_at(datetime!(2026-12-01 10:00)));
        assert!(s.open_at(datetime!(2026-12-02 10:00)));
    }

    #[test]
    fn overnight_session_runs_into_next_day() {
        let s = sched("WEEKLY", Some("FR"), None, "22:00", "02:00");
        // 2026-12-04 is a Friday.
        assert!(s.open_at(datetime!(2026-12-04 23:30)));
        assert!(s.open_at(datetime!(2026-12-05 01:59)));
        assert!(!s.open_at(datetime!(2026-12-05 02:00)));
        assert!(!s.open_at(datetime!(2026-12-04 01:00)));
    }

    #[test]
    fn monthly_ordinal_and_month_day() {
        let first_tue = sched("MONTHLY", Some("1TU"), None, "10:00", "12:00");
        assert!(first_tue.open_at(datetime!(2026-12-01 11:00)));
        assert!(!first_tue.open_at(datetime!(2026-12-08 11:00)));
        let last_fri = sched("MONTHLY", Some("-1FR"), None, "10:00", "12:00");
        assert!(last_fri.open_at(datetime!(2026-12-25 11:00)));
        assert!(!last_fri.open_at(datetime!(2026-12-18 11:00)));
        let fifteenth = sched("MONTHLY", None, Some("15,-1"), "10:00", "12:00");
        assert!(fifteenth.open_at(datetime!(2026-12-15 10:30)));
        assert!(fifteenth.open_at(datetime!(2026-12-31 10:30)));
        assert!(!fifteenth.open_at(datetime!(2026-12-16 10:30)));
    }

    #[test]
    fn describes_schedules_in_plain_english() {
        let mk = |freq: &str,
                  byday: Option<&str>,
                  bymonthday: Option<&str>,
                  o: &str,
                  c: &str|
         -> Schedule {
            serde_json::from_value(serde_json::json!({
                "id": "48102e86-bb50-41c4-8f1e-e269368c41d1", "freq": freq, "byday": byday,
                "bymonthday": bymonthday, "opens_at": o, "closes_at": c,
            }))
            .expect("test schedule")
        };
        assert_eq!(
            describe(&mk(
                "WEEKLY",
                Some("MO,TU,WE,TH,FR"),
                None,
                "09:00",
                "17:00"
            ))
            .as_deref(),
            Some("Monday to Friday, 09:00 to 17:00")
        );
        assert_eq!(
            describe(&mk("WEEKLY", Some("MO,WE,FR"), None, "18:00", "21:00")).as_deref(),
            Some("Monday, Wednesday and Friday, 18:00 to 21:00")
        );
        assert_eq!(
            describe(&mk(
                "WEEKLY",
                Some("MO,TU,WE,TH,FR,SA,SU"),
                None,
                "00:00",
                "24:00"
            ))
            .as_deref(),
            Some("Every day, open 24 hours")
        );
        assert_eq!(
            describe(&mk("MONTHLY", Some("1TU,-1FR"), None, "10:00", "13:00")).as_deref(),
            Some("First Tuesday and last Friday of the month, 10:00 to 13:00")
        );
        assert_eq!(
            describe(&mk("WEEKLY", Some("SA"), None, "22:00", "02:00")).as_deref(),
            Some("Saturday, 22:00 to 02:00")
        );
    }

    #[test]
    fn london_clock_changes() {
        assert_eq!(
            london_local(datetime!(2026-07-01 12:00 UTC)),
            datetime!(2026-07-01 13:00)
        );
        assert_eq!(
            london_local(datetime!(2026-12-01 12:00 UTC)),
            datetime!(2026-12-01 12:00)
        );
        // 2026-03-29 is the last Sunday of March: BST from 01:00 UTC.
        assert_eq!(
            london_local(datetime!(2026-03-29 00:59 UTC)),
            datetime!(2026-03-29 00:59)
        );
        assert_eq!(
            london_local(datetime!(2026-03-29 01:00 UTC)),
            datetime!(2026-03-29 02:00)
        );
        // 2026-10-25 is the last Sunday of October: back to GMT at 01:00 UTC.
        assert_eq!(
            london_local(datetime!(2026-10-25 00:30 UTC)),
            datetime!(2026-10-25 01:30)
        );
        assert_eq!(
            london_local(datetime!(2026-10-25 01:00 UTC)),
            datetime!(2026-10-25 01:00)
        );
    }
}
