//! Property tests: DASH score is the yes count, the level never falls as yes answers rise,
//! weighted scores are monotonic, and judgement never lowers a level.

use std::collections::BTreeMap;

use pathways_risk::{Answers, RiskLevel, apply_judgement, score};
use proptest::prelude::*;

use crate::common::{dash, screening};

fn answer() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["yes", "no", "not known"])
}

fn level() -> impl Strategy<Value = RiskLevel> {
    prop::sample::select(vec![
        RiskLevel::Low,
        RiskLevel::Standard,
        RiskLevel::Medium,
        RiskLevel::High,
    ])
}

proptest! {
    #[test]
    fn dash_score_is_the_number_of_yes(choices in prop::collection::vec(answer(), 24)) {
        let def = dash();
        let raw: BTreeMap<String, String> = def
            .core_questions()
            .zip(&choices)
            .map(|(q, a)| (q.id.clone(), (*a).to_owned()))
            .collect();
        let s = score(&def, &Answers::parse(&def, &raw).expect("valid")).expect("same version");
        let yes = u32::try_from(choices.iter().filter(|a| **a == "yes").count()).expect("small");
        let nk = u32::try_from(choices.iter().filter(|a| **a == "not known").count()).expect("small");
        prop_assert_eq!(s.score, yes);
        prop_assert_eq!(s.yes_count, yes);
        prop_assert_eq!(s.not_known_count, nk);
        prop_assert_eq!(s.yes_count + s.no_count + s.not_known_count, 24);
        let expected = if yes >= 14 { RiskLevel::High } else if yes >= 10 { RiskLevel::Medium } else { RiskLevel::Standard };
        prop_assert_eq!(s.level, expected);
    }

    #[test]
    fn turning_an_answer_into_yes_never_lowers_the_level(
        choices in prop::collection::vec(answer(), 24),
        flip in 0usize..24,
        weighted in any::<bool>(),
    ) {
        let def = if weighted { screening() } else { dash() };
        let n = def.core_questions().count();
        let mut raw: BTreeMap<String, String> = def
            .core_questions()
            .zip(choices.iter().cycle())
            .map(|(q, a)| (q.id.clone(), (*a).to_owned()))
            .collect();
        let before = score(&def, &Answers::parse(&def, &raw).expect("valid")).expect("same version");
        let id = def.core_questions().nth(flip % n).expect("in range").id.clone();
        raw.insert(id, "yes".to_owned());
        let after = score(&def, &Answers::parse(&def, &raw).expect("valid")).expect("same version");
        prop_assert!(after.score >= before.score);
        prop_assert!(after.level >= before.level);
    }

    #[test]
    fn judgement_never_lowers(computed in level(), requested in level(), reason in "[a-z ]{0,40}") {
        match apply_judgement(computed, requested, &reason) {
            Ok(f) => {
                prop_assert!(f.level >= computed);
                prop_assert_eq!(f.level, requested);
                prop_assert!(f.reason.is_some_and(|r| r.chars().count() >= pathways_risk::MIN_REASON_CHARS));
            }
            Err(_) => prop_assert!(requested < computed || reason.trim().chars().count() < pathways_risk::MIN_REASON_CHARS),
        }
    }
}
