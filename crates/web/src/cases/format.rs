//! Dates and labels for case pages: instants shown in UK style, form dates parsed once at
//! the edge, and risk levels as GOV.UK tags.

use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// `29 Nov 2026`.
pub(crate) fn day(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[day padding:none] [month repr:short] [year]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// `29 Nov 2026 14:05`.
pub(crate) fn when(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[day padding:none] [month repr:short] [year] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// `2026-11-29`, for API dates.
pub(crate) fn iso_day(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(format_description!("[year]-[month]-[day]")).ok())
        .unwrap_or_default()
}

/// Parses a `YYYY-MM-DD` form date to midnight UTC.
pub(crate) fn parse_day(raw: &str) -> Option<i64> {
    let d = Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).ok()?;
    Some(
        PrimitiveDateTime::new(d, Time::MIDNIGHT)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Parses a `YYYY-MM-DDTHH:MM` (datetime-local) or a plain date.
pub(crate) fn parse_when(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    PrimitiveDateTime::parse(
        raw,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    )
    .map(|t| t.assume_utc().unix_timestamp())
    .ok()
    .or_else(|| parse_day(raw))
}

/// The GOV.UK tag colour class for a risk level key.
pub(crate) fn risk_class(level: &str) -> &'static str {
    match level {
        "high" => "govuk-tag--red",
        "medium" => "govuk-tag--orange",
        "standard" | "low" => "govuk-tag--green",
        _ => "govuk-tag--grey",
    }
}

/// The label of a risk level key (`Not assessed` when empty).
pub(crate) fn risk_label(level: &str) -> &'static str {
    match level {
        "high" => "High",
        "medium" => "Medium",
        "standard" => "Standard",
        "low" => "Low",
        _ => "Not assessed",
    }
}

/// The label of a service category key.
pub(crate) fn category_label(key: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("Other")
}

/// Service categories a case can refer to.
pub(crate) const CATEGORIES: &[(&str, &str)] = &[
    ("substance_misuse", "Substance misuse"),
    ("mental_health", "Mental health"),
    ("talking_therapies", "Talking therapies"),
    ("employability", "Employability"),
    ("family_support", "Family support"),
    ("sport", "Sport"),
    ("vawg_support", "VAWG support"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let ts = parse_day("2026-11-29").expect("date");
        assert_eq!(day(ts), "29 Nov 2026");
        assert_eq!(iso_day(ts), "2026-11-29");
        assert_eq!(
            when(parse_when("2026-11-29T14:05").expect("when")),
            "29 Nov 2026 14:05"
        );
        assert_eq!(parse_day("29/11/2026"), None);
        assert_eq!(parse_when("2026-02-30"), None);
    }
}
