//! Triage service levels measured in working time: Monday to Friday, 09:00 to 17:00 in
//! Europe/London (GMT in winter, BST in summer), skipping configured public holidays.
//!
//! UK summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
//! Sunday of October (Summer Time Order 2002); both changes fall on a Sunday, outside working
//! hours, so each working day has one fixed offset.

use time::{Date, Month, OffsetDateTime, Weekday};

/// Service levels and the working calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaConfig {
    /// Working seconds allowed to triage an urgent referral (default 4 hours).
    pub urgent_secs: i64,
    /// Working seconds allowed to triage a standard referral (default one working day).
    pub standard_secs: i64,
    /// Start of the working day, local hour.
    pub day_start_hour: i64,
    /// End of the working day, local hour.
    pub day_end_hour: i64,
    /// Days that are not worked although they fall Monday to Friday.
    pub holidays: Vec<Date>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            urgent_secs: 4 * 3600,
            standard_secs: 8 * 3600,
            day_start_hour: 9,
            day_end_hour: 17,
            holidays: Vec::new(),
        }
    }
}

impl SlaConfig {
    /// Defaults overridden by `PATHWAYS_SLA_URGENT_HOURS`, `PATHWAYS_SLA_STANDARD_HOURS`
    /// (working hours) and `PATHWAYS_SLA_HOLIDAYS` (comma-separated `YYYY-MM-DD`). Values
    /// that do not parse are ignored with a warning, keeping the default.
    pub fn from_env() -> SlaConfig {
        let mut cfg = SlaConfig::default();
        let hours = |name: &str| -> Option<i64> {
            let v = std::env::var(name).ok()?;
            match v.trim().parse::<f64>() {
                Ok(h) if h > 0.0 && h < 10_000.0 => Some((h * 3600.0).round() as i64),
                _ => {
                    tracing::warn!(
                        variable = name,
                        "ignored: expected a positive number of working hours"
                    );
                    None
                }
            }
        };
        if let Some(s) = hours("PATHWAYS_SLA_URGENT_HOURS") {
            cfg.urgent_secs = s;
        }
        if let Some(s) = hours("PATHWAYS_SLA_STANDARD_HOURS") {
            cfg.standard_secs = s;
        }
        if let Ok(list) = std::env::var("PATHWAYS_SLA_HOLIDAYS") {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            for d in list.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                match Date::parse(d, &fmt) {
                    Ok(date) => cfg.holidays.push(date),
                    Err(_) => tracing::warn!(
                        "ignored a PATHWAYS_SLA_HOLIDAYS entry that is not YYYY-MM-DD"
                    ),
                }
            }
        }
        cfg
    }

    /// Working seconds allowed for an urgency (`urgent`; anything else is standard).
    pub fn allowance(&self, urgency: &str) -> i64 {
        if urgency == "urgent" {
            self.urgent_secs
        } else {
            self.standard_secs
        }
    }

    fn is_working_day(&self, d: Date) -> bool {
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.holidays.contains(&d)
    }

    /// The working window of local day `d`, as UTC seconds.
    fn window(&self, d: Date) -> (i64, i64) {
        let midnight = d.midnight().assume_utc().unix_timestamp();
        let off = london_offset(midnight + 12 * 3600);
        (
            midnight + self.day_start_hour * 3600 - off,
            midnight + self.day_end_hour * 3600 - off,
        )
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    // March and October both have 31 days.
    let mut d = Date::from_calendar_date(year, month, 31).expect("March and October have a 31st");
    while d.weekday() != Weekday::Sunday {
        d = d
            .previous_day()
            .expect("late March and October have a previous day");
    }
    d
}

/// Offset of Europe/London from UTC at instant `utc`, in seconds (0 or 3600).
pub fn london_offset(utc: i64) -> i64 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(utc) else {
        return 0;
    };
    let year = t.year();
    let start = last_sunday(year, Month::March)
        .midnight()
        .assume_utc()
        .unix_timestamp()
        + 3600;
    let end = last_sunday(year, Month::October)
        .midnight()
        .assume_utc()
        .unix_timestamp()
        + 3600;
    if (start..end).contains(&utc) { 3600 } else { 0 }
}

fn local_date(utc: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(utc + london_offset(utc))
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// The instant `secs` working seconds after `start`. Work starts at the next opening when
/// `start` falls outside working hours.
pub fn add_working(cfg: &SlaConfig, start: i64, secs: i64) -> i64 {
    if secs <= 0 {
        return start;
    }
    let mut remaining = secs;
    let mut day = local_date(start);
    // Ten years of days bounds the search even with a calendar of holidays.
    for _ in 0..3660 {
        if cfg.is_working_day(day) {
            let (open, close) = cfg.window(day);
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
pub fn working_between(cfg: &SlaConfig, from: i64, to: i64) -> i64 {
    if to < from {
        return -working_between(cfg, to, from);
    }
    let mut total = 0;
    let mut day = local_date(from);
    let last = local_date(to);
    while day <= last {
        if cfg.is_working_day(day) {
            let (open, close) = cfg.window(day);
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

/// The service-level clock of a referral received at `received`, seen at `now`.
pub fn clock(cfg: &SlaConfig, received: i64, urgency: &str, now: i64) -> Clock {
    let due_at = add_working(cfg, received, cfg.allowance(urgency));
    Clock {
        due_at,
        remaining: working_between(cfg, now, due_at),
        breached: now > due_at,
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
    use time::macros::datetime;

    fn at(t: OffsetDateTime) -> i64 {
        t.unix_timestamp()
    }

    #[test]
    fn london_switches_to_summer_time_on_the_last_sundays() {
        assert_eq!(london_offset(at(datetime!(2026-03-29 00:59 UTC))), 0);
        assert_eq!(london_offset(at(datetime!(2026-03-29 01:00 UTC))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 00:59 UTC))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 01:00 UTC))), 0);
        assert_eq!(london_offset(at(datetime!(2026-01-15 12:00 UTC))), 0);
    }

    #[test]
    fn urgent_referral_late_on_friday_is_due_monday_morning() {
        let cfg = SlaConfig::default();
        // Friday 5 June 2026, 16:00 BST = 15:00 UTC: one hour on Friday, three on Monday.
        let due = add_working(&cfg, at(datetime!(2026-06-05 15:00 UTC)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-06-08 11:00 UTC))); // Monday 12:00 BST
    }

    #[test]
    fn weekend_receipt_starts_the_clock_on_monday() {
        let cfg = SlaConfig::default();
        // Saturday 10 January 2026 (GMT): Monday 09:00 + 4 h = 13:00.
        let due = add_working(&cfg, at(datetime!(2026-01-10 10:00 UTC)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-01-12 13:00 UTC)));
        // Received after hours on a weekday: the next morning.
        let due = add_working(&cfg, at(datetime!(2026-01-13 19:30 UTC)), 3600);
        assert_eq!(due, at(datetime!(2026-01-14 10:00 UTC)));
    }

    #[test]
    fn standard_referral_gets_one_working_day() {
        let cfg = SlaConfig::default();
        // Tuesday 10:00 GMT -> Wednesday 10:00 GMT.
        let due = add_working(
            &cfg,
            at(datetime!(2026-02-10 10:00 UTC)),
            cfg.allowance("standard"),
        );
        assert_eq!(due, at(datetime!(2026-02-11 10:00 UTC)));
        // Ending exactly at closing time stays on the same day.
        let due = add_working(&cfg, at(datetime!(2026-02-10 09:00 UTC)), 8 * 3600);
        assert_eq!(due, at(datetime!(2026-02-10 17:00 UTC)));
    }

    #[test]
    fn clock_crosses_the_change_to_winter_time() {
        let cfg = SlaConfig::default();
        // Friday 23 October 2026 15:00 BST (14:00 UTC) + 4 h: 2 h Friday, 2 h on Monday 26th,
        // which is GMT again: 11:00 GMT = 11:00 UTC.
        let due = add_working(&cfg, at(datetime!(2026-10-23 14:00 UTC)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-10-26 11:00 UTC)));
    }

    #[test]
    fn holidays_are_skipped() {
        let cfg = SlaConfig {
            holidays: vec![
                time::macros::date!(2026 - 12 - 25),
                time::macros::date!(2026 - 12 - 28),
            ],
            ..SlaConfig::default()
        };
        // Thursday 24 December 16:00 GMT + 4 h: 1 h Thursday, skip Friday (holiday), the
        // weekend and Monday (holiday), 3 h on Tuesday 29th.
        let due = add_working(&cfg, at(datetime!(2026-12-24 16:00 UTC)), 4 * 3600);
        assert_eq!(due, at(datetime!(2026-12-29 12:00 UTC)));
    }

    #[test]
    fn working_time_between_instants_ignores_nights_and_weekends() {
        let cfg = SlaConfig::default();
        let fri = at(datetime!(2026-01-09 16:00 UTC));
        let mon = at(datetime!(2026-01-12 10:30 UTC));
        assert_eq!(working_between(&cfg, fri, mon), 3600 + 5400);
        assert_eq!(working_between(&cfg, mon, fri), -(3600 + 5400));
        let sat = at(datetime!(2026-01-10 09:00 UTC));
        let sun = at(datetime!(2026-01-11 18:00 UTC));
        assert_eq!(working_between(&cfg, sat, sun), 0);
    }

    #[test]
    fn clock_reports_breaches() {
        let cfg = SlaConfig::default();
        let received = at(datetime!(2026-01-12 09:00 UTC));
        let c = clock(
            &cfg,
            received,
            "urgent",
            at(datetime!(2026-01-12 12:00 UTC)),
        );
        assert_eq!((c.remaining, c.breached), (3600, false));
        let c = clock(
            &cfg,
            received,
            "urgent",
            at(datetime!(2026-01-13 10:00 UTC)),
        );
        assert!(c.breached);
        assert_eq!(c.remaining, -(4 * 3600 + 3600));
        assert_eq!(describe(c.remaining), "5 h 00 min");
        assert_eq!(describe(59 * 60), "59 min");
    }
}
