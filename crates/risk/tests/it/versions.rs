//! Council revisions: a new version is created and validated, old assessments keep theirs.
//! Rescoring stored answers uses the version they were given with.

use pathways_risk::{
    Answers, Band, DefinitionError, RegistryError, RiskLevel, ScoreRequest, score, score_request,
};
use serde_json::json;

use crate::common::{core_answers, registry};

#[test]
fn revising_thresholds_creates_a_new_version_and_old_assessments_keep_theirs() {
    let mut reg = registry();
    let v1 = reg.latest("yv-screening").expect("shipped").clone();
    let mut raw = core_answers(&v1, 0, 0);
    raw.insert("going-missing".into(), "yes".into());
    raw.insert("older-associates".into(), "yes".into());
    let old = Answers::parse(&v1, &raw).expect("valid");
    let stored = (old.instrument().to_owned(), old.version(), old.to_raw());
    assert_eq!(score(&v1, &old).expect("v1").level, RiskLevel::Low);

    let v2 = reg
        .revise("yv-screening", |d| {
            d.bands = vec![
                Band {
                    level: RiskLevel::Low,
                    min_score: 0,
                },
                Band {
                    level: RiskLevel::Medium,
                    min_score: 4,
                },
                Band {
                    level: RiskLevel::High,
                    min_score: 8,
                },
            ];
            if let Some(q) = d.questions.iter_mut().find(|q| q.id == "going-missing") {
                q.weight = 3;
            }
        })
        .expect("valid revision")
        .clone();
    assert_eq!(v2.version, 2);
    assert_eq!(reg.latest("yv-screening").expect("latest").version, 2);
    assert_eq!(reg.versions("yv-screening").len(), 2);

    // The stored assessment is rescored with v1: 2 + 2 = 4 is still low.
    let (key, version, answers) = stored;
    let def = reg.get(&key, version).expect("v1 kept");
    let again = Answers::parse(def, &answers).expect("still valid for v1");
    let s = score(def, &again).expect("v1");
    assert_eq!((s.score, s.level), (4, RiskLevel::Low));
    // v1 answers cannot be scored with v2 by mistake.
    assert!(score(&v2, &again).is_err());
    // The same answers given now use v2: 3 + 2 = 5 is medium.
    let now = Answers::parse(&v2, &answers).expect("valid for v2");
    let s = score(&v2, &now).expect("v2");
    assert_eq!((s.score, s.level), (5, RiskLevel::Medium));

    // Through the API: no version means the latest, an explicit version rescores the old one.
    let body = |v: Option<u32>| {
        let mut b = json!({"answers": answers, "assessment_date": "2026-03-14"});
        if let Some(v) = v {
            b["version"] = json!(v);
        }
        ScoreRequest::from_json(b.to_string().as_bytes()).expect("request")
    };
    let latest = score_request(&reg, "yv-screening", body(None)).expect("scored");
    assert_eq!((latest.version, latest.level), (2, RiskLevel::Medium));
    let old = score_request(&reg, "yv-screening", body(Some(1))).expect("scored");
    assert_eq!((old.version, old.level), (1, RiskLevel::Low));
}

#[test]
fn revising_dash_marac_rules() {
    let mut reg = registry();
    let v2 = reg
        .revise("dash", |d| {
            if let Some(m) = d.marac.as_mut() {
                m.escalation_incidents = 4;
            }
        })
        .expect("valid")
        .clone();
    assert_eq!(v2.marac.expect("kept").escalation_incidents, 4);
    assert_eq!(
        reg.get("dash", 1)
            .and_then(|d| d.marac)
            .expect("v1")
            .escalation_incidents,
        3
    );
}

#[test]
fn invalid_revisions_are_refused_and_nothing_is_stored() {
    let mut reg = registry();
    let e = reg
        .revise("yv-screening", |d| {
            d.bands = vec![
                Band {
                    level: RiskLevel::Low,
                    min_score: 0,
                },
                Band {
                    level: RiskLevel::High,
                    min_score: 5,
                },
                Band {
                    level: RiskLevel::Medium,
                    min_score: 50,
                },
            ];
        })
        .expect_err("bands out of order");
    let RegistryError::Definition(DefinitionError::Invalid {
        key,
        version,
        problems,
    }) = e
    else {
        panic!("unexpected error {e:?}");
    };
    assert_eq!((key.as_str(), version), ("yv-screening", 2));
    assert_eq!(
        problems,
        [
            "band medium: bands must rise in both score and level after high",
            "band medium: starts at 50 but the highest possible score is 38",
        ]
    );
    assert_eq!(reg.latest("yv-screening").expect("v1").version, 1);

    let e = reg
        .revise("dash", |d| d.key = "dash2".into())
        .expect_err("key change");
    assert!(e.to_string().contains("key cannot change"), "{e}");
    let e = reg.revise("nope", |_| {}).expect_err("unknown");
    assert_eq!(
        e.to_string(),
        "there is no instrument nope; known instruments: dash, yv-screening"
    );
    assert_eq!(reg.versions("dash").len(), 1);
}

#[test]
fn a_version_cannot_be_replaced() {
    let mut reg = registry();
    let v1 = reg.latest("dash").expect("shipped").clone();
    assert_eq!(
        reg.insert(v1),
        Err(RegistryError::VersionExists {
            key: "dash".into(),
            version: 1
        })
    );
}
