//! Answers parsed once at the edge from form or JSON strings into checked values.
//! Every problem is collected per question so a page can show a full error summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::instrument::{AnswerKind, InstrumentDefinition};

/// One answer to one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The risk factor is present.
    Yes,
    /// The risk factor is absent.
    No,
    /// The person did not know or did not say; never counted as "yes".
    NotKnown,
}

impl Answer {
    /// The canonical stored form (`"yes"`, `"no"`, `"not_known"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::NotKnown => "not_known",
        }
    }

    /// Reads the forms a form or API client may send: case and spaces, `_` and `-` are
    /// tolerated in "not known".
    pub fn parse(raw: &str) -> Option<Answer> {
        let norm: String = raw
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '_' || c == '-' { ' ' } else { c })
            .collect();
        match norm
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .as_str()
        {
            "yes" => Some(Answer::Yes),
            "no" => Some(Answer::No),
            "not known" | "notknown" => Some(Answer::NotKnown),
            _ => None,
        }
    }
}

/// What is wrong with one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Error)]
#[error("{question_id}: {message}")]
pub struct AnswerError {
    /// The question id (`q7`), which is also the form field name.
    pub question_id: String,
    /// Plain-English message saying what to do.
    pub message: String,
}

/// All problems with a set of answers, in page order (unknown ids last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Error)]
#[error("{} answer problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct AnswerErrors(pub Vec<AnswerError>);

/// A complete, valid set of answers for one version of one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    instrument: String,
    version: u32,
    values: BTreeMap<String, Answer>,
}

impl Answers {
    /// Checks raw answers against `def`: every core question answered with a value its kind
    /// allows; add-on questions optional; unknown ids refused. Reports every problem.
    pub fn parse(
        def: &InstrumentDefinition,
        raw: &BTreeMap<String, String>,
    ) -> Result<Answers, AnswerErrors> {
        let mut errors = Vec::new();
        let mut values = BTreeMap::new();
        for q in &def.questions {
            let given = raw.get(&q.id).map(|s| s.trim()).filter(|s| !s.is_empty());
            let allowed = match q.answer_kind {
                AnswerKind::YesNoNotKnown => "yes, no or not known",
                AnswerKind::YesNo => "yes or no",
            };
            let Some(text) = given else {
                if q.add_on.is_none() {
                    errors.push(AnswerError {
                        question_id: q.id.clone(),
                        message: format!("answer is missing; choose {allowed}"),
                    });
                }
                continue;
            };
            match Answer::parse(text) {
                Some(Answer::NotKnown) if q.answer_kind == AnswerKind::YesNo => {
                    errors.push(AnswerError {
                        question_id: q.id.clone(),
                        message: format!("answer must be {allowed}; \"not known\" is not allowed for this question"),
                    });
                }
                Some(a) => {
                    values.insert(q.id.clone(), a);
                }
                None => errors.push(AnswerError {
                    question_id: q.id.clone(),
                    message: format!("answer must be {allowed}"),
                }),
            }
        }
        for id in raw.keys() {
            if def.question(id).is_none() {
                errors.push(AnswerError {
                    question_id: id.clone(),
                    message: format!(
                        "there is no question {id} in {} version {}; remove it",
                        def.title, def.version
                    ),
                });
            }
        }
        if errors.is_empty() {
            Ok(Answers {
                instrument: def.key.clone(),
                version: def.version,
                values,
            })
        } else {
            Err(AnswerErrors(errors))
        }
    }

    /// Key of the instrument these answers were checked against.
    pub fn instrument(&self) -> &str {
        &self.instrument
    }

    /// Version of the instrument these answers were checked against.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The answer to a question, if given (add-on questions may be unanswered).
    pub fn get(&self, question_id: &str) -> Option<Answer> {
        self.values.get(question_id).copied()
    }

    /// Canonical strings for storage; `parse` with the same version reads them back.
    pub fn to_raw(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect()
    }
}
