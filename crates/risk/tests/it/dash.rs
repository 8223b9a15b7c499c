//! DASH scoring at every band edge, with not-known, missing and out-of-range answers.
//! Also the stalking and honour-based abuse add-ons, which never change the score.

use std::collections::BTreeMap;

use pathways_risk::{Answers, RiskLevel, score};

use crate::common::{core_answers, dash};

fn level_for_yes(yes: usize) -> (u32, RiskLevel) {
    let def = dash();
    let answers = Answers::parse(&def, &core_answers(&def, yes, 0)).expect("valid");
    let s = score(&def, &answers).expect("same version");
    (s.score, s.level)
}

#[test]
fn dash_has_24_core_questions_in_order_and_two_add_ons() {
    let def = dash();
    let ids: Vec<&str> = def.core_questions().map(|q| q.id.as_str()).collect();
    let expected: Vec<String> = (1..=24).map(|i| format!("q{i}")).collect();
    assert_eq!(ids, expected);
    assert!(def.question("q15").expect("q15").text.contains("strangled"));
    assert!(def.question("q24").expect("q24").text.contains("police"));
    let add_ons: Vec<&str> = def.add_ons.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(add_ons, ["stalking", "hba"]);
    assert_eq!(def.max_score(), 24);
}

#[test]
fn bands_at_every_edge() {
    assert_eq!(level_for_yes(0), (0, RiskLevel::Standard));
    assert_eq!(level_for_yes(9), (9, RiskLevel::Standard));
    assert_eq!(level_for_yes(10), (10, RiskLevel::Medium));
    assert_eq!(level_for_yes(13), (13, RiskLevel::Medium));
    assert_eq!(level_for_yes(14), (14, RiskLevel::High));
    assert_eq!(level_for_yes(15), (15, RiskLevel::High));
    assert_eq!(level_for_yes(24), (24, RiskLevel::High));
}

#[test]
fn all_not_known_scores_zero_standard() {
    let def = dash();
    let answers = Answers::parse(&def, &core_answers(&def, 0, 24)).expect("valid");
    let s = score(&def, &answers).expect("same version");
    assert_eq!(
        (s.score, s.yes_count, s.no_count, s.not_known_count),
        (0, 0, 0, 24)
    );
    assert_eq!(s.level, RiskLevel::Standard);
}

#[test]
fn not_known_is_never_counted_as_yes() {
    let def = dash();
    let answers = Answers::parse(&def, &core_answers(&def, 13, 11)).expect("valid");
    let s = score(&def, &answers).expect("same version");
    assert_eq!(
        (s.score, s.not_known_count, s.level),
        (13, 11, RiskLevel::Medium)
    );
}

#[test]
fn missing_and_bad_answers_are_all_reported_in_page_order() {
    let def = dash();
    let mut raw = core_answers(&def, 5, 0);
    raw.remove("q3");
    raw.insert("q7".into(), "maybe".into());
    raw.insert("q20".into(), "   ".into());
    raw.insert("q99".into(), "yes".into());
    let errs = Answers::parse(&def, &raw).expect_err("invalid");
    let lines: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "q3: answer is missing; choose yes, no or not known",
            "q7: answer must be yes, no or not known",
            "q20: answer is missing; choose yes, no or not known",
            "q99: there is no question q99 in Domestic abuse risk identification checklist (DASH) version 1; remove it",
        ]
    );
}

#[test]
fn empty_answers_report_all_24_questions() {
    let def = dash();
    let errs = Answers::parse(&def, &BTreeMap::new()).expect_err("invalid");
    assert_eq!(errs.0.len(), 24);
    assert_eq!(errs.0[0].question_id, "q1");
    assert_eq!(errs.0[23].question_id, "q24");
}

#[test]
fn accepted_spellings_of_answers() {
    let def = dash();
    for spelling in [
        "not known",
        "Not Known",
        "not_known",
        "NOT-KNOWN",
        " not  known ",
    ] {
        let mut raw = core_answers(&def, 0, 0);
        raw.insert("q1".into(), spelling.into());
        let a = Answers::parse(&def, &raw).expect(spelling);
        assert_eq!(
            a.get("q1"),
            Some(pathways_risk::Answer::NotKnown),
            "{spelling}"
        );
    }
    for bad in ["y", "true", "1", "unknown", "yes please"] {
        let mut raw = core_answers(&def, 0, 0);
        raw.insert("q1".into(), bad.into());
        assert!(
            Answers::parse(&def, &raw).is_err(),
            "{bad} should be refused"
        );
    }
}

#[test]
fn add_ons_are_recorded_and_flagged_without_changing_the_score() {
    let def = dash();
    let mut raw = core_answers(&def, 9, 0);
    for i in 1..=3 {
        raw.insert(format!("stalking-{i}"), "yes".into());
    }
    raw.insert("stalking-4".into(), "no".into());
    raw.insert("hba-2".into(), "yes".into());
    let answers = Answers::parse(&def, &raw).expect("valid");
    let s = score(&def, &answers).expect("same version");
    assert_eq!((s.score, s.level), (9, RiskLevel::Standard));
    assert_eq!(s.add_on_flags.len(), 2);
    let stalking = &s.add_on_flags[0];
    assert_eq!(
        (
            stalking.add_on.as_str(),
            stalking.answered,
            stalking.yes_count
        ),
        ("stalking", 4, 3)
    );
    assert!(stalking.flagged);
    assert!(
        stalking
            .message
            .as_deref()
            .is_some_and(|m| m.contains("stalking service"))
    );
    let hba = &s.add_on_flags[1];
    assert_eq!(
        (
            hba.add_on.as_str(),
            hba.answered,
            hba.yes_count,
            hba.flagged
        ),
        ("hba", 1, 1, true)
    );
}

#[test]
fn add_on_below_its_threshold_is_recorded_but_not_flagged() {
    let def = dash();
    let mut raw = core_answers(&def, 0, 0);
    raw.insert("stalking-1".into(), "yes".into());
    raw.insert("stalking-2".into(), "yes".into());
    raw.insert("stalking-3".into(), "not known".into());
    let s = score(&def, &Answers::parse(&def, &raw).expect("valid")).expect("same version");
    assert_eq!(s.add_on_flags.len(), 1);
    assert_eq!(
        (s.add_on_flags[0].yes_count, s.add_on_flags[0].flagged),
        (2, false)
    );
    assert_eq!(s.add_on_flags[0].message, None);
}

#[test]
fn unanswered_add_ons_are_optional_but_bad_add_on_values_are_refused() {
    let def = dash();
    let s = score(
        &def,
        &Answers::parse(&def, &core_answers(&def, 0, 0)).expect("valid"),
    )
    .expect("same version");
    assert!(s.add_on_flags.is_empty());
    let mut raw = core_answers(&def, 0, 0);
    raw.insert("hba-1".into(), "often".into());
    let errs = Answers::parse(&def, &raw).expect_err("invalid");
    assert_eq!(
        errs.0[0].to_string(),
        "hba-1: answer must be yes, no or not known"
    );
}

#[test]
fn stored_answers_round_trip() {
    let def = dash();
    let mut raw = core_answers(&def, 12, 3);
    raw.insert("hba-1".into(), "Not known".into());
    let a = Answers::parse(&def, &raw).expect("valid");
    let stored = a.to_raw();
    assert_eq!(stored.get("q13").map(String::as_str), Some("not_known"));
    assert_eq!(stored.get("hba-1").map(String::as_str), Some("not_known"));
    assert_eq!(Answers::parse(&def, &stored).expect("valid"), a);
}
