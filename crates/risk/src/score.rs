//! Scoring: turns checked answers into a score, a level and add-on flags.
//! Add-on questions are recorded and flagged but never change the score.

use serde::Serialize;
use thiserror::Error;

use crate::answers::{Answer, Answers};
use crate::instrument::{InstrumentDefinition, RiskLevel};

/// Result of scoring one set of answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Number of "yes" answers (DASH) or sum of their weights (screening).
    pub score: u32,
    /// Highest possible score for this version.
    pub max_score: u32,
    /// Level from the instrument's bands.
    pub level: RiskLevel,
    /// Core questions answered "yes".
    pub yes_count: u32,
    /// Core questions answered "no".
    pub no_count: u32,
    /// Core questions answered "not known".
    pub not_known_count: u32,
    /// One entry per add-on that has at least one answer.
    pub add_on_flags: Vec<AddOnFlag>,
}

/// What an optional add-on recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddOnFlag {
    /// Add-on key (`stalking`).
    pub add_on: String,
    /// Add-on title.
    pub title: String,
    /// Add-on questions answered.
    pub answered: u32,
    /// Add-on questions answered "yes".
    pub yes_count: u32,
    /// Whether `yes_count` reached the add-on's flag threshold.
    pub flagged: bool,
    /// What to do, present only when flagged.
    pub message: Option<String>,
}

/// Answers were checked against a different instrument or version than the one given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "answers were checked against {answers_key} v{answers_version} but scored with {def_key} v{def_version}; score with the version they were given for"
)]
pub struct WrongInstrument {
    /// Instrument of the answers.
    pub answers_key: String,
    /// Version of the answers.
    pub answers_version: u32,
    /// Instrument passed to `score`.
    pub def_key: String,
    /// Version passed to `score`.
    pub def_version: u32,
}

/// Scores answers with the exact version they were checked against.
pub fn score(def: &InstrumentDefinition, answers: &Answers) -> Result<Score, WrongInstrument> {
    if answers.instrument() != def.key || answers.version() != def.version {
        return Err(WrongInstrument {
            answers_key: answers.instrument().to_owned(),
            answers_version: answers.version(),
            def_key: def.key.clone(),
            def_version: def.version,
        });
    }
    let (mut score, mut yes, mut no, mut not_known) = (0, 0, 0, 0);
    for q in def.core_questions() {
        match answers.get(&q.id) {
            Some(Answer::Yes) => {
                yes += 1;
                score += def.points(q);
            }
            Some(Answer::No) => no += 1,
            Some(Answer::NotKnown) => not_known += 1,
            // Parsing guarantees every core question is answered.
            None => {}
        }
    }
    let add_on_flags = def
        .add_ons
        .iter()
        .filter_map(|a| {
            let given: Vec<Answer> = def
                .questions
                .iter()
                .filter(|q| q.add_on.as_deref() == Some(&a.key))
                .filter_map(|q| answers.get(&q.id))
                .collect();
            if given.is_empty() {
                return None;
            }
            let yes_count = count(&given, Answer::Yes);
            let flagged = yes_count >= a.flag_at_yes;
            Some(AddOnFlag {
                add_on: a.key.clone(),
                title: a.title.clone(),
                answered: to_u32(given.len()),
                yes_count,
                flagged,
                message: flagged.then(|| a.flag_message.clone()),
            })
        })
        .collect();
    Ok(Score {
        score,
        max_score: def.max_score(),
        level: def.level_for(score),
        yes_count: yes,
        no_count: no,
        not_known_count: not_known,
        add_on_flags,
    })
}

fn count(given: &[Answer], which: Answer) -> u32 {
    to_u32(given.iter().filter(|a| **a == which).count())
}

// Instruments have tens of questions, so the count always fits.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
