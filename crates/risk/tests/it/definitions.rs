//! Loading definitions from JSON: the shipped files, malformed JSON and broken rules.
//! Every problem names the question, band or field at fault.

use pathways_risk::{DefinitionError, InstrumentDefinition, InstrumentRegistry, Scoring};

use crate::common::dash;

#[test]
fn shipped_definitions_load_and_round_trip() {
    let reg = InstrumentRegistry::builtin().expect("valid");
    assert_eq!(reg.keys(), ["dash", "yv-screening"]);
    for key in reg.keys() {
        let def = reg.latest(key).expect("present");
        let again = InstrumentDefinition::from_json("round trip", &def.to_json()).expect("valid");
        assert_eq!(&again, def);
    }
    assert_eq!(dash().scoring, Scoring::CountYes);
}

#[test]
fn malformed_json_gives_file_line_and_column() {
    let e = InstrumentDefinition::from_json(
        "council/dash-v3.json",
        "{\n  \"key\": \"dash\",\n  \"version\": \"three\"\n}",
    )
    .expect_err("bad version");
    let DefinitionError::Json {
        source_name, line, ..
    } = &e
    else {
        panic!("unexpected {e:?}");
    };
    assert_eq!((source_name.as_str(), *line), ("council/dash-v3.json", 3));
    assert!(
        e.to_string()
            .starts_with("council/dash-v3.json: line 3, column"),
        "{e}"
    );
}

#[test]
fn every_rule_problem_is_listed() {
    let mut def = dash();
    def.version = 0;
    def.questions[1].id = "q1".into();
    def.questions[2].section = "nowhere".into();
    def.questions[3].add_on = Some("forced-marriage".into());
    def.questions[4].text = " ".into();
    def.questions[5].id = "q 6".into();
    def.bands[0].min_score = 1;
    if let Some(m) = def.marac.as_mut() {
        m.high_threshold = 30;
        m.repeat_window_months = 0;
    }
    let DefinitionError::Invalid { problems, .. } = def.validate().expect_err("broken") else {
        panic!("expected rule problems");
    };
    assert_eq!(
        problems,
        [
            "version must be 1 or more",
            "question \"q1\" is defined twice",
            "question q3: section \"nowhere\" is not defined",
            "question q4: add-on \"forced-marriage\" is not defined",
            "question q5: text must not be empty",
            "question \"q 6\": id must be letters, digits, '-' or '_'",
            "band standard: the first band must start at 0, not 1",
            "marac.high_threshold must be between 1 and 23, not 30",
            "marac.repeat_window_months must be between 1 and 120, not 0",
        ]
    );
}

#[test]
fn add_on_without_questions_and_definition_without_core_questions() {
    let mut def = dash();
    def.questions.retain(|q| q.add_on.as_deref() != Some("hba"));
    let e = def.validate().expect_err("empty add-on").to_string();
    assert!(e.contains("add-on hba: has no questions"), "{e}");

    let mut def = dash();
    def.questions.retain(|q| q.add_on.is_some());
    def.marac = None;
    let e = def.validate().expect_err("no core questions").to_string();
    assert!(
        e.contains("at least one question outside add-ons is needed"),
        "{e}"
    );
}

#[test]
fn unknown_fields_in_a_definition_are_refused() {
    let mut v: serde_json::Value = serde_json::from_str(&dash().to_json()).expect("json");
    v["threshold"] = serde_json::json!(14);
    let e = InstrumentDefinition::from_json("edited.json", &v.to_string()).expect_err("typo");
    assert!(e.to_string().contains("unknown field `threshold`"), "{e}");
}

#[test]
fn form_helpers_pick_sections_and_answer_fields() {
    let def = dash();
    let ids: Vec<&str> = def.questions_in("hba").map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hba-1", "hba-2", "hba-3", "hba-4", "hba-5", "hba-6", "hba-7"
        ]
    );
    assert_eq!(def.questions_in("situation").count(), 9);
    let form: std::collections::BTreeMap<String, String> = [
        ("csrf_token", "abc"),
        ("q1", "yes"),
        ("stalking-2", "no"),
        ("assessment_date", "2026-03-14"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        def.answer_fields(&form).into_keys().collect::<Vec<_>>(),
        ["q1", "stalking-2"]
    );
}
