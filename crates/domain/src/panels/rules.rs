//! Pure panel rules: when meetings fall, what counts as a repeat, how the agenda is
//! ordered, and which instants a quarter covers.

use time::{Date, Duration, Month, PrimitiveDateTime, Time, Weekday};

use crate::risk::RiskLevel;
use crate::time::{from_london, london_date, london_midnight};

/// A new referral within this many seconds (365 days) of the person's last referral to the
/// same kind of panel is a repeat.
pub const REPEAT_WINDOW_SECS: i64 = 365 * 86_400;

/// An emergency meeting is held within this many seconds (24 hours) of being called.
pub const EMERGENCY_WITHIN_SECS: i64 = 24 * 3600;

/// True when a referral made at `now` follows a previous one made at `previous` closely
/// enough to be a repeat (within 12 months, counted as 365 days).
pub fn is_repeat(previous: i64, now: i64) -> bool {
    previous <= now && now - previous <= REPEAT_WINDOW_SECS
}

/// A panel's schedule: every `every_weeks` weeks on `weekday` at `at` London time, counted
/// from the week of `anchor` (a London date), for example every other Tuesday at 10:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Weeks between meetings (1 weekly, 2 every other week, 4 monthly-ish).
    pub every_weeks: u8,
    /// The day of the week.
    pub weekday: Weekday,
    /// The time of day, London time.
    pub at: Time,
    /// A date in the first week of the cycle.
    pub anchor: Date,
}

impl Schedule {
    /// The first meeting of the schedule at or after `after` (an instant), or `None` for a
    /// schedule of zero weeks.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        if self.every_weeks == 0 {
            return None;
        }
        let mut day = self.anchor;
        while day.weekday() != self.weekday {
            day = day.next_day()?;
        }
        let step = Duration::weeks(i64::from(self.every_weeks));
        let from = london_date(after);
        if day < from {
            let gap_days = (from - day).whole_days();
            let periods = gap_days / step.whole_days();
            day = day.checked_add(step * periods as i32)?;
        }
        loop {
            let at = from_london(PrimitiveDateTime::new(day, self.at));
            if at >= after {
                return Some(at);
            }
            day = day.checked_add(step)?;
        }
    }

    /// How people read it: "Every other Tuesday at 10:00".
    pub fn describe(&self) -> String {
        let every = match self.every_weeks {
            0 => return "No regular schedule".into(),
            1 => "Every".to_string(),
            2 => "Every other".to_string(),
            n => format!("Every {n} weeks on a"),
        };
        format!(
            "{every} {} at {:02}:{:02}",
            self.weekday,
            self.at.hour(),
            self.at.minute()
        )
    }
}

/// An accepted referral that may go on an agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaCandidate {
    /// The panel referral.
    pub referral_id: String,
    /// Current risk level, if assessed.
    pub risk: Option<RiskLevel>,
    /// A repeat referral.
    pub repeat: bool,
    /// When the referral was made (the waiting time runs from here).
    pub referred_at: i64,
    /// True when it returns with actions still open from an earlier meeting.
    pub returning: bool,
}

/// Orders agenda candidates: highest risk first, then repeats, then those waiting longest;
/// cases returning with open actions follow the new cases of the same risk and repeat
/// standing. Ties keep the referral id order, so the order is stable.
pub fn order_agenda(mut items: Vec<AgendaCandidate>) -> Vec<AgendaCandidate> {
    items.sort_by(|a, b| {
        b.risk
            .cmp(&a.risk)
            .then(b.repeat.cmp(&a.repeat))
            .then(a.returning.cmp(&b.returning))
            .then(a.referred_at.cmp(&b.referred_at))
            .then(a.referral_id.cmp(&b.referral_id))
    });
    items
}

/// A calendar quarter (`2026Q3` is July to September 2026), in London time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    /// The year.
    pub year: i32,
    /// 1 to 4.
    pub q: u8,
}

impl Quarter {
    /// Reads `2026Q3` (also `2026-Q3`, case-insensitive).
    pub fn parse(raw: &str) -> Option<Quarter> {
        let raw = raw.trim().to_ascii_uppercase().replace('-', "");
        let (year, q) = raw.split_once('Q')?;
        let year: i32 = year.parse().ok()?;
        let q: u8 = q.parse().ok()?;
        ((1..=4).contains(&q) && (2000..=2100).contains(&year)).then_some(Quarter { year, q })
    }

    /// The quarter an instant falls in (London time).
    pub fn of(ts: i64) -> Quarter {
        let d = london_date(ts);
        Quarter {
            year: d.year(),
            q: (u8::from(d.month()) - 1) / 3 + 1,
        }
    }

    /// The quarter before this one.
    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    fn first_day(self) -> Date {
        let month = Month::try_from((self.q - 1) * 3 + 1).unwrap_or(Month::January);
        Date::from_calendar_date(self.year, month, 1).unwrap_or(Date::MIN)
    }

    /// The first instant of the quarter.
    pub fn start(self) -> i64 {
        london_midnight(self.first_day())
    }

    /// The first instant after the quarter.
    pub fn end(self) -> i64 {
        let next = if self.q == 4 {
            Quarter {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        };
        next.start()
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_london;

    #[test]
    fn repeats_are_within_twelve_months_inclusive() {
        let t = 1_800_000_000;
        assert!(is_repeat(t, t + REPEAT_WINDOW_SECS));
        assert!(!is_repeat(t, t + REPEAT_WINDOW_SECS + 1));
        assert!(!is_repeat(t + 10, t));
    }

    #[test]
    fn every_other_tuesday_at_ten_london_time() {
        let s = Schedule {
            every_weeks: 2,
            weekday: Weekday::Tuesday,
            at: Time::from_hms(10, 0, 0).expect("time"),
            anchor: Date::from_calendar_date(2026, Month::January, 6).expect("date"),
        };
        // 6 Jan 2026 is a Tuesday; the fortnights run 6 Jan, 20 Jan, 3 Feb ...
        let after = parse_london("2026-01-21T09:00").expect("instant");
        assert_eq!(s.next_after(after), parse_london("2026-02-03T10:00"));
        // In summer time the meeting is still at 10:00 on the London clock.
        let july = parse_london("2026-07-01T00:00").expect("instant");
        assert_eq!(s.next_after(july), parse_london("2026-07-07T10:00"));
        assert_eq!(s.describe(), "Every other Tuesday at 10:00");
        let on_time = parse_london("2026-02-03T10:00").expect("instant");
        assert_eq!(s.next_after(on_time), Some(on_time));
    }

    #[test]
    fn agenda_orders_by_risk_then_repeat_then_waiting() {
        let c = |id: &str, risk, repeat, at, returning| AgendaCandidate {
            referral_id: id.into(),
            risk,
            repeat,
            referred_at: at,
            returning,
        };
        let ordered = order_agenda(vec![
            c("a", Some(RiskLevel::Medium), true, 10, false),
            c("b", Some(RiskLevel::High), false, 30, false),
            c("c", Some(RiskLevel::High), true, 50, false),
            c("d", Some(RiskLevel::High), false, 20, false),
            c("e", None, false, 1, false),
            c("f", Some(RiskLevel::High), false, 5, true),
        ]);
        let ids: Vec<&str> = ordered.iter().map(|c| c.referral_id.as_str()).collect();
        assert_eq!(ids, ["c", "d", "b", "f", "a", "e"]);
    }

    #[test]
    fn quarters_parse_and_cover_their_months() {
        let q = Quarter::parse("2026Q3").expect("quarter");
        assert_eq!(q, Quarter { year: 2026, q: 3 });
        assert_eq!(Some(q.start()), parse_london("2026-07-01T00:00"));
        assert_eq!(Some(q.end()), parse_london("2026-10-01T00:00"));
        assert_eq!(Quarter::of(q.start()), q);
        assert_eq!(Quarter::of(q.end() - 1), q);
        assert_eq!(q.to_string(), "2026Q3");
        assert_eq!(Quarter::parse("2026q4").map(|q| q.q), Some(4));
        assert_eq!(Quarter::parse("2026Q5"), None);
        assert_eq!(Quarter::parse("soon"), None);
        assert_eq!(q.previous().to_string(), "2026Q2");
        assert_eq!(
            Quarter { year: 2026, q: 1 }.previous().to_string(),
            "2025Q4"
        );
    }
}
