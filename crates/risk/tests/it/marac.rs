//! MARAC eligibility: each criterion on both sides of its boundary, and leap-year windows.
//! Windows are calendar months with both ends included.

use pathways_risk::{
    Criterion, Eligibility, MaracInputs, MaracRules, add_months, long_date, marac_eligibility,
};
use time::Date;

use crate::common::date;

fn inputs(assessed: Date) -> MaracInputs {
    MaracInputs {
        dash_score: 0,
        professional_judgement: None,
        incident_dates: Vec::new(),
        assessment_date: assessed,
        last_marac_referral: None,
        new_incident_date: None,
    }
}

fn criterion(e: &Eligibility, c: Criterion) -> (bool, &str) {
    let r = e
        .criteria
        .iter()
        .find(|r| r.criterion == c)
        .expect("every criterion reported");
    (r.met, r.explanation.as_str())
}

fn check(i: &MaracInputs) -> Eligibility {
    marac_eligibility(i, &MaracRules::default())
}

#[test]
fn criteria_always_listed_in_order() {
    let e = check(&inputs(date(2026, 3, 14)));
    let order: Vec<Criterion> = e.criteria.iter().map(|c| c.criterion).collect();
    assert_eq!(
        order,
        [
            Criterion::VisibleHighRisk,
            Criterion::ProfessionalJudgement,
            Criterion::PotentialEscalation,
            Criterion::Repeat
        ]
    );
    assert!(!e.eligible);
    assert_eq!(
        e.summary,
        "Not eligible for MARAC: no referral criterion is met."
    );
}

#[test]
fn visible_high_risk_at_13_and_14() {
    let mut i = inputs(date(2026, 3, 14));
    i.dash_score = 13;
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::VisibleHighRisk),
        (
            false,
            "DASH score 13 is below the high-risk threshold of 14."
        )
    );
    assert!(!e.eligible);
    i.dash_score = 14;
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::VisibleHighRisk),
        (
            true,
            "DASH score 14 is at or above the high-risk threshold of 14."
        )
    );
    assert!(e.eligible);
    assert_eq!(e.summary, "Eligible for MARAC: visible high risk.");
}

#[test]
fn professional_judgement_needs_a_reason() {
    let mut i = inputs(date(2026, 3, 14));
    i.professional_judgement = Some("  ".into());
    assert!(!check(&i).criteria[1].met);
    i.professional_judgement = Some("Threats to abduct the children".into());
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::ProfessionalJudgement),
        (
            true,
            "Professional judgement recorded: \"Threats to abduct the children\"."
        )
    );
    assert!(e.eligible);
}

#[test]
fn escalation_with_two_and_three_incidents() {
    let mut i = inputs(date(2026, 3, 14));
    i.incident_dates = vec![date(2025, 6, 1), date(2026, 1, 2)];
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::PotentialEscalation),
        (
            false,
            "2 incidents in the 12 months to 14 March 2026 (threshold 3); the window runs from 14 March 2025 to 14 March 2026, both days included."
        )
    );
    i.incident_dates.push(date(2026, 3, 14));
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::PotentialEscalation),
        (
            true,
            "3 incidents in the 12 months to 14 March 2026 (threshold 3); the window runs from 14 March 2025 to 14 March 2026, both days included."
        )
    );
    assert!(e.eligible);
}

#[test]
fn escalation_window_includes_exactly_12_months_before_and_not_a_day_more() {
    let mut i = inputs(date(2026, 3, 14));
    i.incident_dates = vec![date(2025, 3, 14), date(2025, 9, 1), date(2026, 2, 1)];
    assert!(criterion(&check(&i), Criterion::PotentialEscalation).0);
    i.incident_dates[0] = date(2025, 3, 13);
    let e = check(&i);
    let (met, text) = criterion(&e, Criterion::PotentialEscalation);
    assert!(!met);
    assert!(text.starts_with("2 incidents in the 12 months"), "{text}");
}

#[test]
fn incidents_after_the_assessment_are_not_counted_and_are_mentioned() {
    let mut i = inputs(date(2026, 3, 14));
    i.incident_dates = vec![date(2025, 9, 1), date(2026, 2, 1), date(2026, 3, 15)];
    let e = check(&i);
    let (met, text) = criterion(&e, Criterion::PotentialEscalation);
    assert!(!met);
    assert!(
        text.ends_with(" 1 incident after the assessment date not counted."),
        "{text}"
    );
}

#[test]
fn same_day_incidents_count_separately() {
    let mut i = inputs(date(2026, 3, 14));
    i.incident_dates = vec![date(2026, 3, 1); 3];
    assert!(criterion(&check(&i), Criterion::PotentialEscalation).0);
}

#[test]
fn escalation_threshold_and_window_are_configurable() {
    let rules = MaracRules {
        escalation_incidents: 2,
        escalation_window_months: 6,
        ..MaracRules::default()
    };
    let mut i = inputs(date(2026, 3, 14));
    i.incident_dates = vec![date(2025, 9, 14), date(2026, 1, 1)];
    let e = marac_eligibility(&i, &rules);
    assert_eq!(
        criterion(&e, Criterion::PotentialEscalation),
        (
            true,
            "2 incidents in the 6 months to 14 March 2026 (threshold 2); the window runs from 14 September 2025 to 14 March 2026, both days included."
        )
    );
    i.incident_dates[0] = date(2025, 9, 13);
    assert!(
        !criterion(
            &marac_eligibility(&i, &rules),
            Criterion::PotentialEscalation
        )
        .0
    );
}

#[test]
fn repeat_exactly_12_months_after_is_a_repeat_and_one_day_later_is_not() {
    let mut i = inputs(date(2026, 4, 1));
    i.last_marac_referral = Some(date(2025, 4, 1));
    i.new_incident_date = Some(date(2026, 4, 1));
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::Repeat),
        (
            true,
            "The new incident on 1 April 2026 is within 12 months of the last MARAC referral on 1 April 2025 (the window ends on 1 April 2026, included), so it is a repeat and goes back to MARAC whatever the score."
        )
    );
    assert!(e.eligible);
    assert_eq!(e.summary, "Eligible for MARAC: repeat.");
    i.new_incident_date = Some(date(2026, 4, 2));
    i.assessment_date = date(2026, 4, 2);
    let e = check(&i);
    assert_eq!(
        criterion(&e, Criterion::Repeat),
        (
            false,
            "The new incident on 2 April 2026 is more than 12 months after the last MARAC referral on 1 April 2025 (the window ended on 1 April 2026)."
        )
    );
    assert!(!e.eligible);
}

#[test]
fn repeat_needs_both_dates_and_an_incident_after_the_referral() {
    let mut i = inputs(date(2026, 4, 1));
    assert_eq!(
        criterion(&check(&i), Criterion::Repeat),
        (false, "No new incident given.")
    );
    i.new_incident_date = Some(date(2026, 3, 1));
    assert_eq!(
        criterion(&check(&i), Criterion::Repeat),
        (
            false,
            "No previous MARAC referral is recorded, so a new incident cannot be a repeat."
        )
    );
    i.last_marac_referral = Some(date(2026, 3, 2));
    assert!(!criterion(&check(&i), Criterion::Repeat).0);
    i.last_marac_referral = Some(date(2026, 3, 1));
    assert!(
        criterion(&check(&i), Criterion::Repeat).0,
        "same day as the referral is within"
    );
    i.new_incident_date = None;
    assert!(!criterion(&check(&i), Criterion::Repeat).0);
}

#[test]
fn repeat_counts_regardless_of_score() {
    let mut i = inputs(date(2026, 6, 1));
    i.dash_score = 2;
    i.last_marac_referral = Some(date(2025, 12, 1));
    i.new_incident_date = Some(date(2026, 5, 30));
    let e = check(&i);
    assert!(e.eligible);
    assert!(!criterion(&e, Criterion::VisibleHighRisk).0);
}

#[test]
fn leap_day_windows() {
    // Referral on 29 February 2024: the window ends on 28 February 2025.
    let mut i = inputs(date(2025, 3, 1));
    i.last_marac_referral = Some(date(2024, 2, 29));
    i.new_incident_date = Some(date(2025, 2, 28));
    assert!(criterion(&check(&i), Criterion::Repeat).0);
    i.new_incident_date = Some(date(2025, 3, 1));
    let e = check(&i);
    let (met, text) = criterion(&e, Criterion::Repeat);
    assert!(!met);
    assert!(
        text.contains("the window ended on 28 February 2025"),
        "{text}"
    );

    // Assessment on 29 February 2028: the escalation window starts on 28 February 2027.
    let mut i = inputs(date(2028, 2, 29));
    i.incident_dates = vec![date(2027, 2, 28), date(2027, 6, 1), date(2028, 2, 29)];
    let e = check(&i);
    let (met, text) = criterion(&e, Criterion::PotentialEscalation);
    assert!(met, "{text}");
    assert!(
        text.contains("from 28 February 2027 to 29 February 2028"),
        "{text}"
    );
    i.incident_dates[0] = date(2027, 2, 27);
    assert!(!criterion(&check(&i), Criterion::PotentialEscalation).0);

    // An incident on a leap day inside an ordinary window.
    let mut i = inputs(date(2024, 3, 1));
    i.last_marac_referral = Some(date(2023, 3, 1));
    i.new_incident_date = Some(date(2024, 2, 29));
    assert!(criterion(&check(&i), Criterion::Repeat).0);
}

#[test]
fn add_months_clamps_to_month_end() {
    assert_eq!(add_months(date(2024, 2, 29), 12), Some(date(2025, 2, 28)));
    assert_eq!(add_months(date(2024, 2, 29), -12), Some(date(2023, 2, 28)));
    assert_eq!(add_months(date(2024, 2, 29), 48), Some(date(2028, 2, 29)));
    assert_eq!(add_months(date(2025, 1, 31), 1), Some(date(2025, 2, 28)));
    assert_eq!(add_months(date(2025, 3, 31), -1), Some(date(2025, 2, 28)));
    assert_eq!(add_months(date(2025, 12, 15), 1), Some(date(2026, 1, 15)));
    assert_eq!(add_months(date(2026, 1, 15), -1), Some(date(2025, 12, 15)));
    assert_eq!(add_months(date(2025, 5, 31), -12), Some(date(2024, 5, 31)));
    assert_eq!(add_months(Date::MAX, 12), None);
}

#[test]
fn long_dates_read_naturally() {
    assert_eq!(long_date(date(2026, 3, 4)), "4 March 2026");
    assert_eq!(long_date(date(2024, 2, 29)), "29 February 2024");
}

#[test]
fn every_criterion_met_at_once() {
    let mut i = inputs(date(2026, 3, 14));
    i.dash_score = 20;
    i.professional_judgement = Some("Escalating threats".into());
    i.incident_dates = vec![date(2026, 1, 1); 4];
    i.last_marac_referral = Some(date(2025, 6, 1));
    i.new_incident_date = Some(date(2026, 3, 1));
    let e = check(&i);
    assert!(e.criteria.iter().all(|c| c.met));
    assert_eq!(
        e.summary,
        "Eligible for MARAC: visible high risk, professional judgement, potential escalation, repeat."
    );
}
