//! The scoring request and response: a full DASH, field errors for a 422 body, screening.
//! Bodies are built from JSON text, as a client would send them.

use pathways_risk::{Criterion, RiskLevel, ScoreError, ScoreRequest, score_request};
use serde_json::{Value, json};

use crate::common::{core_answers, dash, registry};

fn request(body: Value) -> ScoreRequest {
    ScoreRequest::from_json(body.to_string().as_bytes()).expect("well-formed request")
}

fn fields(e: &ScoreError) -> Vec<(String, String)> {
    e.body()
        .errors
        .into_iter()
        .map(|f| (f.field, f.message))
        .collect()
}

#[test]
fn fifteen_yes_is_high_and_marac_eligible() {
    let answers = core_answers(&dash(), 15, 2);
    let req = request(json!({ "answers": answers, "assessment_date": "2026-03-14" }));
    let resp = score_request(&registry(), "dash", req).expect("scored");
    assert_eq!(
        (resp.instrument.as_str(), resp.version, resp.score),
        ("dash", 1, 15)
    );
    assert_eq!(
        (resp.computed_level, resp.level),
        (RiskLevel::High, RiskLevel::High)
    );
    assert_eq!(resp.not_known_count, 2);
    let e = resp.eligibility.as_ref().expect("DASH has MARAC rules");
    assert!(e.eligible);
    assert!(e.criteria[0].met);
    let body = serde_json::to_value(&resp).expect("serialises");
    assert_eq!(body["computed_level"], "high");
    assert_eq!(
        body["eligibility"]["criteria"][0]["criterion"],
        "visible_high_risk"
    );
    assert_eq!(body["answers"]["q16"], "not_known");
}

#[test]
fn judgement_raises_level_and_makes_marac_eligible() {
    let req = request(json!({
        "answers": core_answers(&dash(), 11, 0),
        "professional_judgement": {"level": "high", "reason": "Threats to kill made in front of the children"},
        "incidents": ["2025-06-01"],
        "assessment_date": "2026-03-14",
    }));
    let resp = score_request(&registry(), "dash", req).expect("scored");
    assert_eq!(
        (resp.score, resp.computed_level, resp.level),
        (11, RiskLevel::Medium, RiskLevel::High)
    );
    assert_eq!(
        resp.professional_judgement.as_deref(),
        Some("Threats to kill made in front of the children")
    );
    let e = resp.eligibility.expect("DASH");
    let met: Vec<Criterion> = e
        .criteria
        .iter()
        .filter(|c| c.met)
        .map(|c| c.criterion)
        .collect();
    assert_eq!(met, [Criterion::ProfessionalJudgement]);
}

#[test]
fn lowering_judgement_is_a_field_error() {
    let req = request(json!({
        "answers": core_answers(&dash(), 14, 0),
        "professional_judgement": {"level": "medium", "reason": "The victim has moved to a refuge"},
        "assessment_date": "2026-03-14",
    }));
    let e = score_request(&registry(), "dash", req).expect_err("lowering refused");
    assert_eq!(e.status(), 422);
    let f = fields(&e);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, "professional_judgement.level");
    assert!(f[0].1.contains("not lower it"), "{}", f[0].1);
}

#[test]
fn repeat_and_escalation_through_the_api() {
    let req = request(json!({
        "answers": core_answers(&dash(), 3, 0),
        "incidents": ["2025-03-14", "2025-10-01", "2026-03-01"],
        "assessment_date": "2026-03-14",
        "last_marac_referral": "2025-03-14",
        "new_incident": "2026-03-14",
    }));
    let e = score_request(&registry(), "dash", req)
        .expect("scored")
        .eligibility
        .expect("DASH");
    let met: Vec<Criterion> = e
        .criteria
        .iter()
        .filter(|c| c.met)
        .map(|c| c.criterion)
        .collect();
    assert_eq!(met, [Criterion::PotentialEscalation, Criterion::Repeat]);
    assert!(
        e.criteria[2]
            .explanation
            .starts_with("3 incidents in the 12 months to 14 March 2026 (threshold 3)")
    );
}

#[test]
fn every_field_error_is_collected_with_its_path() {
    let mut answers = core_answers(&dash(), 0, 0);
    answers.remove("q3");
    answers.insert("q7".into(), "sometimes".into());
    let mut body = json!({
        "answers": answers,
        "professional_judgement": {"level": "extreme", "reason": "short"},
        "incidents": ["2026-01-02", "2026-02-30", "2026-04-01"],
        "assessment_date": "2026-03-14",
        "last_marac_referral": "14/03/2025",
    });
    body["answers"]["q9"] = json!(true);
    let e = score_request(&registry(), "dash", request(body)).expect_err("invalid");
    assert_eq!(e.status(), 422);
    let names: Vec<String> = fields(&e).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "answers.q9",
            "answers.q3",
            "answers.q7",
            "professional_judgement.level",
            "professional_judgement.reason",
            "incidents[1]",
            "last_marac_referral",
            "incidents[2]",
        ]
    );
    let f = fields(&e);
    assert_eq!(f[2].1, "q7: answer must be yes, no or not known");
    assert_eq!(
        f[3].1,
        "level must be one of standard, medium, high for Domestic abuse risk identification checklist (DASH)"
    );
    assert_eq!(
        f[5].1,
        "\"2026-02-30\" is not a real date; use YYYY-MM-DD, for example 2026-03-14"
    );
    assert!(
        f[7].1
            .starts_with("2026-04-01 is after the assessment date 2026-03-14")
    );
    let json_body = serde_json::to_value(e.body()).expect("serialises");
    assert_eq!(json_body["errors"][2]["field"], "answers.q7");
}

#[test]
fn missing_assessment_date_and_answers() {
    let e = score_request(&registry(), "dash", request(json!({}))).expect_err("invalid");
    let f = fields(&e);
    assert_eq!(f.len(), 25);
    assert_eq!(
        f[24],
        (
            "assessment_date".to_owned(),
            "enter the date of the assessment as YYYY-MM-DD".to_owned()
        )
    );
}

#[test]
fn leap_day_dates_parse() {
    let req = request(json!({
        "answers": core_answers(&dash(), 0, 0),
        "assessment_date": "2028-02-29",
        "last_marac_referral": "2027-02-28",
        "new_incident": "2028-02-29",
    }));
    let e = score_request(&registry(), "dash", req)
        .expect("2028 is a leap year")
        .eligibility
        .expect("DASH");
    assert!(
        !e.criteria[3].met,
        "29 February 2028 is a day after the window ends on 28 February 2028"
    );
    let bad =
        request(json!({"answers": core_answers(&dash(), 0, 0), "assessment_date": "2026-02-29"}));
    let f = fields(&score_request(&registry(), "dash", bad).expect_err("2026 is not a leap year"));
    assert_eq!(f[0].0, "assessment_date");
}

#[test]
fn unknown_instrument_is_404_and_unknown_version_is_422() {
    let e = score_request(&registry(), "oasys", ScoreRequest::default()).expect_err("unknown");
    assert_eq!(e.status(), 404);
    assert_eq!(
        fields(&e)[0],
        (
            "instrument".to_owned(),
            "there is no instrument oasys; known instruments: dash, yv-screening".to_owned()
        )
    );
    let req = request(
        json!({"version": 7, "answers": core_answers(&dash(), 0, 0), "assessment_date": "2026-03-14"}),
    );
    let e = score_request(&registry(), "dash", req).expect_err("unknown version");
    assert_eq!(e.status(), 422);
    assert_eq!(
        fields(&e)[0].1,
        "dash has no version 7; versions 1 to 1 exist (leave version out for the latest)"
    );
}

#[test]
fn malformed_bodies_are_field_errors() {
    let e =
        ScoreRequest::from_json(b"{\"answers\": [1,2]}").expect_err("answers must be an object");
    assert_eq!(e.status(), 422);
    assert_eq!(fields(&e)[0].0, "body");
    let e = ScoreRequest::from_json(b"{\"answer\": {}}").expect_err("unknown field");
    assert!(
        fields(&e)[0].1.contains("unknown field `answer`"),
        "{:?}",
        fields(&e)
    );
    let e = ScoreRequest::from_json(b"{\"answers\": {\"q1\": \"yes\"").expect_err("truncated");
    assert!(fields(&e)[0].1.contains("line 1"), "{:?}", fields(&e));
}

#[test]
fn screening_has_no_eligibility_and_refuses_marac_fields() {
    let reg = registry();
    let def = reg.latest("yv-screening").expect("shipped");
    let mut answers = core_answers(def, 0, 0);
    answers.insert("weapon-carrying".into(), "yes".into());
    answers.insert("county-lines".into(), "yes".into());
    let req = request(json!({"answers": answers, "assessment_date": "2026-03-14",
        "professional_judgement": {"level": "high", "reason": "Seen with a machete on a video"}}));
    let resp = score_request(&reg, "yv-screening", req).expect("scored");
    assert_eq!(
        (resp.score, resp.computed_level, resp.level),
        (6, RiskLevel::Medium, RiskLevel::High)
    );
    assert!(resp.eligibility.is_none());
    assert_eq!(
        serde_json::to_value(&resp).expect("serialises")["eligibility"],
        Value::Null
    );

    let req = request(
        json!({"answers": answers, "assessment_date": "2026-03-14", "incidents": ["2026-01-01"]}),
    );
    let f = fields(&score_request(&reg, "yv-screening", req).expect_err("no MARAC"));
    assert_eq!(f, [("incidents".to_owned(), "Youth violence and exploitation screening does not decide MARAC eligibility; leave incidents out".to_owned())]);
    let req = request(json!({"answers": answers, "assessment_date": "2026-03-14",
        "professional_judgement": {"level": "standard", "reason": "Seen with a machete on a video"}}));
    let f = fields(
        &score_request(&reg, "yv-screening", req).expect_err("standard is not a screening level"),
    );
    assert_eq!(f[0].0, "professional_judgement.level");
}
