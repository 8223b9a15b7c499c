//! Time as Pathways keeps and shows it: instants are UTC seconds since the epoch; people
//! read and type Europe/London wall-clock time (GMT in winter, BST in summer). One place
//! holds the UK clock-change rule, for forms, pages, schedules and the triage clock.
//!
//! UK summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
//! Sunday of October (Summer Time Order 2002).

use ::time::macros::format_description;
use ::time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

/// The last Sunday of a month.
fn last_sunday(year: i32, month: Month) -> Date {
    let last = Date::from_calendar_date(year, month, month.length(year))
        .expect("the last day of a month is a valid date");
    last - Duration::days(i64::from(last.weekday().number_days_from_sunday()))
}

/// The instants (UTC seconds) at which summer time starts and ends in `year`.
fn summer_time(year: i32) -> (i64, i64) {
    let one_am = Time::from_hms(1, 0, 0).expect("01:00 is a valid time");
    let at = |month| {
        PrimitiveDateTime::new(last_sunday(year, month), one_am)
            .assume_utc()
            .unix_timestamp()
    };
    (at(Month::March), at(Month::October))
}

/// Offset of Europe/London from UTC at the instant `utc`, in seconds (0 or 3600).
pub fn london_offset(utc: i64) -> i64 {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(utc) else {
        return 0;
    };
    let (start, end) = summer_time(t.year());
    if (start..end).contains(&utc) { 3600 } else { 0 }
}

/// The London wall-clock time of an instant.
pub fn to_london(utc: i64) -> PrimitiveDateTime {
    let t = OffsetDateTime::from_unix_timestamp(utc + london_offset(utc))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    PrimitiveDateTime::new(t.date(), t.time())
}

/// The London calendar date of an instant.
pub fn london_date(utc: i64) -> Date {
    to_london(utc).date()
}

/// The instant a London wall-clock time names. In the hour repeated when clocks go back the
/// earlier (summer time) instant is taken; a time in the hour skipped when clocks go forward
/// is read as GMT, an hour later on the clock.
pub fn from_london(local: PrimitiveDateTime) -> i64 {
    let as_utc = local.assume_utc().unix_timestamp();
    let summer = as_utc - 3600;
    if london_offset(summer) == 3600 {
        summer
    } else {
        as_utc
    }
}

/// Midnight at the start of a London calendar day.
pub fn london_midnight(d: Date) -> i64 {
    from_london(PrimitiveDateTime::new(d, Time::MIDNIGHT))
}

/// Reads `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// Reads a form's date and time as London time: `YYYY-MM-DDTHH:MM` (an HTML
/// `datetime-local` value) or a plain `YYYY-MM-DD` (midnight).
pub fn parse_london(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    PrimitiveDateTime::parse(
        raw,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    )
    .ok()
    .map(from_london)
    .or_else(|| parse_date(raw).map(london_midnight))
}

/// `4 Dec 2026 15:04`, London time.
pub fn format_when(utc: i64) -> String {
    to_london(utc)
        .format(format_description!(
            "[day padding:none] [month repr:short] [year] [hour]:[minute]"
        ))
        .unwrap_or_default()
}

/// `4 Dec 2026`, the London date.
pub fn format_day(utc: i64) -> String {
    london_date(utc)
        .format(format_description!(
            "[day padding:none] [month repr:short] [year]"
        ))
        .unwrap_or_default()
}

/// `2026-12-04`, the London date, for APIs, exports and date inputs.
pub fn format_iso_day(utc: i64) -> String {
    london_date(utc)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// `2026-12-04T15:04`, London time, for `datetime-local` inputs.
pub fn format_datetime_local(utc: i64) -> String {
    to_london(utc)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap_or_default()
}

/// True on Saturdays and Sundays.
pub fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::{date, datetime};

    fn at(t: PrimitiveDateTime) -> i64 {
        t.assume_utc().unix_timestamp()
    }

    #[test]
    fn london_switches_to_summer_time_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        assert_eq!(london_offset(at(datetime!(2026-03-29 00:59:59))), 0);
        assert_eq!(london_offset(at(datetime!(2026-03-29 01:00:00))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 00:59:59))), 3600);
        assert_eq!(london_offset(at(datetime!(2026-10-25 01:00:00))), 0);
    }

    #[test]
    fn form_times_are_london_time() {
        // A note recorded at 10:30 on a July day happened at 09:30 UTC.
        assert_eq!(
            parse_london("2026-07-15T10:30"),
            Some(at(datetime!(2026-07-15 09:30:00)))
        );
        // In winter London is UTC.
        assert_eq!(
            parse_london("2026-12-04T10:30"),
            Some(at(datetime!(2026-12-04 10:30:00)))
        );
        assert_eq!(
            parse_london("2026-07-15"),
            Some(at(datetime!(2026-07-14 23:00:00)))
        );
        assert_eq!(parse_london("15/07/2026"), None);
        // Shown back as typed.
        let t = at(datetime!(2026-07-15 09:30:00));
        assert_eq!(format_when(t), "15 Jul 2026 10:30");
        assert_eq!(format_datetime_local(t), "2026-07-15T10:30");
        assert_eq!(
            format_iso_day(at(datetime!(2026-07-14 23:30:00))),
            "2026-07-15"
        );
    }

    #[test]
    fn clock_change_hours_are_read_one_way() {
        // 01:30 on 25 October 2026 happens twice: the summer-time one is taken.
        assert_eq!(
            from_london(datetime!(2026-10-25 01:30)),
            at(datetime!(2026-10-25 00:30:00))
        );
        // 01:30 on 29 March 2026 never happens on the clock: read as GMT.
        assert_eq!(
            from_london(datetime!(2026-03-29 01:30)),
            at(datetime!(2026-03-29 01:30:00))
        );
        assert_eq!(
            london_date(at(datetime!(2026-06-30 23:30:00))),
            date!(2026 - 07 - 01)
        );
    }
}
