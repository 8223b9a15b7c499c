//! How pages show values: instants in London time, UK style, and risk levels as GOV.UK tags.
//! Parsing of what people type happens in the use cases, never here.

use pathways_domain::risk::RiskLevel;
use pathways_domain::time::{format_day, format_iso_day, format_when};

/// `29 Nov 2026`, the London date.
pub(crate) fn day(ts: i64) -> String {
    format_day(ts)
}

/// `29 Nov 2026 14:05`, London time.
pub(crate) fn when(ts: i64) -> String {
    format_when(ts)
}

/// `2026-11-29`, for date inputs.
pub(crate) fn iso_day(ts: i64) -> String {
    format_iso_day(ts)
}

/// The GOV.UK tag colour class for a stored risk level.
pub(crate) fn risk_class(level: &str) -> &'static str {
    match RiskLevel::parse(level) {
        Ok(RiskLevel::High) => "govuk-tag--red",
        Ok(RiskLevel::Medium) => "govuk-tag--orange",
        Ok(RiskLevel::Standard | RiskLevel::Low) => "govuk-tag--green",
        Err(_) => "govuk-tag--grey",
    }
}

/// The label of a stored risk level (`Not assessed` when there is none).
pub(crate) fn risk_label(level: &str) -> &'static str {
    RiskLevel::parse(level).map_or("Not assessed", RiskLevel::label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_show_in_london_time() {
        // 13:05 UTC on a July day is 14:05 in London.
        assert_eq!(when(1_783_861_500), "12 Jul 2026 14:05");
        assert_eq!(day(1_783_861_500), "12 Jul 2026");
        assert_eq!(iso_day(1_783_861_500), "2026-07-12");
        assert_eq!(risk_label(""), "Not assessed");
        assert_eq!(risk_class("high"), "govuk-tag--red");
    }
}
