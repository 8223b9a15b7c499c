//! Shared builders for test answers and dates.
//! Answers are generated from counts so boundaries read as numbers.

use std::collections::BTreeMap;

use pathways_risk::{DASH, InstrumentDefinition, InstrumentRegistry, YV_SCREENING};
use time::{Date, Month};

pub fn registry() -> InstrumentRegistry {
    InstrumentRegistry::builtin().expect("shipped definitions are valid")
}

pub fn dash() -> InstrumentDefinition {
    registry().latest(DASH).expect("dash shipped").clone()
}

pub fn screening() -> InstrumentDefinition {
    registry()
        .latest(YV_SCREENING)
        .expect("screening shipped")
        .clone()
}

/// Core answers: the first `yes` questions "yes", the next `not_known` "not known", rest "no".
pub fn core_answers(
    def: &InstrumentDefinition,
    yes: usize,
    not_known: usize,
) -> BTreeMap<String, String> {
    def.core_questions()
        .enumerate()
        .map(|(i, q)| {
            let a = if i < yes {
                "yes"
            } else if i < yes + not_known {
                "not known"
            } else {
                "no"
            };
            (q.id.clone(), a.to_owned())
        })
        .collect()
}

pub fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).expect("month"), d).expect("valid date")
}
