//! Youth violence and exploitation screening: weighted scores at each threshold edge.
//! Weights come from the definition, so tests pick indicators by weight.

use std::collections::BTreeMap;

use pathways_risk::{Answers, InstrumentDefinition, RiskLevel, Scoring, score};

use crate::common::screening;

/// Answers "yes" to exactly the named indicators, "no" to the rest.
fn yes_to(def: &InstrumentDefinition, ids: &[&str]) -> BTreeMap<String, String> {
    def.core_questions()
        .map(|q| {
            let a = if ids.contains(&q.id.as_str()) {
                "yes"
            } else {
                "no"
            };
            (q.id.clone(), a.to_owned())
        })
        .collect()
}

fn scored(ids: &[&str]) -> (u32, RiskLevel) {
    let def = screening();
    let s = score(
        &def,
        &Answers::parse(&def, &yes_to(&def, ids)).expect("valid"),
    )
    .expect("same version");
    (s.score, s.level)
}

#[test]
fn screening_has_twenty_weighted_indicators_and_three_bands() {
    let def = screening();
    assert_eq!(def.scoring, Scoring::Weighted);
    assert_eq!(def.core_questions().count(), 20);
    assert_eq!(def.max_score(), 38);
    assert_eq!(
        def.levels(),
        [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High]
    );
    assert_eq!(
        def.question("weapon-carrying").expect("indicator").weight,
        3
    );
    assert_eq!(
        def.question("substance-misuse").expect("indicator").weight,
        1
    );
    assert!(def.marac.is_none());
}

#[test]
fn thresholds_at_each_edge() {
    // Weights: criminal-exploitation 3, going-missing 2, substance-misuse 1, behaviour-change 1,
    // weapon-carrying 3, county-lines 3.
    assert_eq!(scored(&[]), (0, RiskLevel::Low));
    assert_eq!(
        scored(&["substance-misuse", "criminal-exploitation"]),
        (4, RiskLevel::Low)
    );
    assert_eq!(
        scored(&["going-missing", "criminal-exploitation"]),
        (5, RiskLevel::Medium)
    );
    assert_eq!(
        scored(&[
            "criminal-exploitation",
            "weapon-carrying",
            "going-missing",
            "substance-misuse"
        ]),
        (9, RiskLevel::Medium)
    );
    assert_eq!(
        scored(&[
            "criminal-exploitation",
            "weapon-carrying",
            "county-lines",
            "substance-misuse"
        ]),
        (10, RiskLevel::High)
    );
    let all: Vec<String> = screening().core_questions().map(|q| q.id.clone()).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_eq!(scored(&all), (38, RiskLevel::High));
}

#[test]
fn not_known_indicators_add_nothing() {
    let def = screening();
    let mut raw = yes_to(&def, &["going-missing"]);
    raw.insert("weapon-carrying".into(), "not known".into());
    let s = score(&def, &Answers::parse(&def, &raw).expect("valid")).expect("same version");
    assert_eq!(
        (s.score, s.yes_count, s.not_known_count, s.level),
        (2, 1, 1, RiskLevel::Low)
    );
}

#[test]
fn missing_indicator_is_named() {
    let def = screening();
    let mut raw = yes_to(&def, &[]);
    raw.remove("county-lines");
    let errs = Answers::parse(&def, &raw).expect_err("invalid");
    assert_eq!(errs.0.len(), 1);
    assert_eq!(
        errs.0[0].to_string(),
        "county-lines: answer is missing; choose yes, no or not known"
    );
}

#[test]
fn yes_no_indicators_refuse_not_known() {
    let mut reg = crate::common::registry();
    let def = reg
        .revise("yv-screening", |d| {
            if let Some(q) = d.questions.iter_mut().find(|q| q.id == "school-exclusion") {
                q.answer_kind = pathways_risk::AnswerKind::YesNo;
            }
        })
        .expect("valid revision")
        .clone();
    let mut raw = yes_to(&def, &[]);
    raw.insert("school-exclusion".into(), "not known".into());
    let errs = Answers::parse(&def, &raw).expect_err("not known refused");
    assert_eq!(
        errs.0[0].to_string(),
        "school-exclusion: answer must be yes or no; \"not known\" is not allowed for this question"
    );
    raw.remove("school-exclusion");
    let errs = Answers::parse(&def, &raw).expect_err("missing");
    assert_eq!(
        errs.0[0].to_string(),
        "school-exclusion: answer is missing; choose yes or no"
    );
}
