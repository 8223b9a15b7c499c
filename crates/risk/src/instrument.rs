//! Risk instruments as versioned data: questions, weights, add-ons and level bands.
//! Definitions are loaded from JSON, validated once, and revised into new versions.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::marac::MaracRules;

pub use pathways_domain::risk::RiskLevel;

/// Which answers a question accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// Yes, no or not known (DASH and most screening indicators).
    YesNoNotKnown,
    /// Yes or no only, for facts the practitioner must establish.
    YesNo,
}

/// How the core (non add-on) answers become a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Score is the number of "yes" answers; weights are ignored (DASH).
    CountYes,
    /// Score is the sum of the weights of questions answered "yes".
    Weighted,
}

/// A titled group of questions on the assessment page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Stable identifier referenced by questions.
    pub id: String,
    /// Heading shown above the questions.
    pub title: String,
}

/// One question or indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Stable identifier (`q7`), the form field name and the key in stored answers.
    pub id: String,
    /// Section the question belongs to.
    pub section: String,
    /// The question as asked.
    pub text: String,
    /// Guidance shown under the question.
    #[serde(default)]
    pub help: String,
    /// Accepted answers.
    pub answer_kind: AnswerKind,
    /// Weight of a "yes" under [`Scoring::Weighted`].
    #[serde(default = "one")]
    pub weight: u32,
    /// The optional add-on this question belongs to; add-on questions never change the score.
    #[serde(default)]
    pub add_on: Option<String>,
}

fn one() -> u32 {
    1
}

/// The largest weight a question may have under [`Scoring::Weighted`].
pub const MAX_WEIGHT: u32 = 100;

/// An optional block of questions (stalking, honour-based abuse) recorded and flagged apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOn {
    /// Identifier referenced by questions' `add_on`.
    pub key: String,
    /// Name shown to practitioners.
    pub title: String,
    /// Number of "yes" answers at which the add-on is flagged.
    pub flag_at_yes: u32,
    /// What to do when flagged.
    pub flag_message: String,
}

/// A level and the lowest score that reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// The level given from `min_score` up to the next band.
    pub level: RiskLevel,
    /// Lowest score in this band, inclusive.
    pub min_score: u32,
}

/// Whether a council may publish its own versions of an instrument. Absent from a
/// definition, local changes are not allowed: an instrument is locked unless it says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalChanges {
    /// True when a council may change questions, weights and bands in a new version.
    #[serde(default)]
    pub allowed: bool,
    /// Why changes are allowed or not, shown to administrators.
    #[serde(default)]
    pub reason: String,
}

/// A complete, versioned risk instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentDefinition {
    /// Stable key used in URLs (`dash`, `yv-screening`).
    pub key: String,
    /// Version number; every revision gets the next one and old assessments keep theirs.
    pub version: u32,
    /// Title shown to practitioners.
    pub title: String,
    /// Short description of purpose and use.
    #[serde(default)]
    pub description: String,
    /// Whether a council may publish its own versions; copied unchanged into each revision.
    #[serde(default)]
    pub local_changes: LocalChanges,
    /// Sections in page order.
    pub sections: Vec<Section>,
    /// Questions in page order.
    pub questions: Vec<Question>,
    /// Optional add-ons.
    #[serde(default)]
    pub add_ons: Vec<AddOn>,
    /// How answers become a score.
    pub scoring: Scoring,
    /// Bands in ascending order; the first starts at 0.
    pub bands: Vec<Band>,
    /// MARAC referral rules, for instruments that feed MARAC (DASH).
    #[serde(default)]
    pub marac: Option<MaracRules>,
}

/// The part of a definition a rule problem is about, so that an editor can show the problem
/// beside the field that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The definition as a whole (key, version, title, no questions, no bands).
    Definition,
    /// A section, by id.
    Section(String),
    /// An add-on, by key.
    AddOn(String),
    /// One field of a question, by question id.
    Question {
        /// The question's id.
        id: String,
        /// Which of its fields.
        field: QuestionField,
    },
    /// A band, by level.
    Band(RiskLevel),
    /// The MARAC rules.
    Marac,
}

/// A field of a question that a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionField {
    /// The id (format or duplicate).
    Id,
    /// The wording.
    Text,
    /// The section it is placed in.
    Section,
    /// The add-on it belongs to.
    AddOn,
    /// Its weight.
    Weight,
}

/// One broken rule: what it is about and the message (the same text `validate` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The part at fault.
    pub subject: Subject,
    /// What is wrong, naming the part (`question q5: text must not be empty`).
    pub message: String,
}

impl Problem {
    fn new(subject: Subject, message: String) -> Problem {
        Problem { subject, message }
    }

    fn question(id: &str, field: QuestionField, message: String) -> Problem {
        Problem::new(
            Subject::Question {
                id: id.to_owned(),
                field,
            },
            message,
        )
    }
}

/// Why a definition is unusable; each names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DefinitionError {
    /// The JSON could not be read as a definition.
    #[error("{source_name}: line {line}, column {column}: {message}")]
    Json {
        /// File or label the JSON came from.
        source_name: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde found wrong.
        message: String,
    },
    /// One or more rules are broken; all are listed.
    #[error("instrument {key} v{version} is invalid: {}", .problems.join("; "))]
    Invalid {
        /// Instrument key.
        key: String,
        /// Instrument version.
        version: u32,
        /// Each problem, naming the question, band or field.
        problems: Vec<String>,
    },
}

impl InstrumentDefinition {
    /// Parses and validates a definition from JSON; `source_name` labels errors.
    pub fn from_json(source_name: &str, json: &str) -> Result<Self, DefinitionError> {
        let def: InstrumentDefinition =
            serde_json::from_str(json).map_err(|e| DefinitionError::Json {
                source_name: source_name.to_owned(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        def.validate()?;
        Ok(def)
    }

    /// Serialises the definition as pretty JSON, the same shape `from_json` reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("definition holds only strings, numbers and enums")
    }

    /// Checks every rule and reports all problems together.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DefinitionError::Invalid {
                key: self.key.clone(),
                version: self.version,
                problems: problems.into_iter().map(|p| p.message).collect(),
            })
        }
    }

    /// Every broken rule with the part it is about, in the order `validate` lists them;
    /// empty when the definition is usable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let whole = |m: &str| Problem::new(Subject::Definition, m.to_owned());
        if self.key.trim().is_empty() {
            problems.push(whole("key must not be empty"));
        }
        if self.version == 0 {
            problems.push(whole("version must be 1 or more"));
        }
        if self.title.trim().is_empty() {
            problems.push(whole("title must not be empty"));
        }
        let sections = unique_ids(
            self.sections.iter().map(|s| s.id.as_str()),
            "section",
            |id| Subject::Section(id.to_owned()),
            &mut problems,
        );
        let add_ons = unique_ids(
            self.add_ons.iter().map(|a| a.key.as_str()),
            "add-on",
            |key| Subject::AddOn(key.to_owned()),
            &mut problems,
        );
        unique_ids(
            self.questions.iter().map(|q| q.id.as_str()),
            "question",
            |id| Subject::Question {
                id: id.to_owned(),
                field: QuestionField::Id,
            },
            &mut problems,
        );
        for q in &self.questions {
            self.check_question(q, &sections, &add_ons, &mut problems);
        }
        for a in &self.add_ons {
            let subject = || Subject::AddOn(a.key.clone());
            if a.flag_at_yes == 0 {
                problems.push(Problem::new(
                    subject(),
                    format!("add-on {}: flag_at_yes must be 1 or more", a.key),
                ));
            }
            if !self
                .questions
                .iter()
                .any(|q| q.add_on.as_deref() == Some(&a.key))
            {
                problems.push(Problem::new(
                    subject(),
                    format!("add-on {}: has no questions", a.key),
                ));
            }
        }
        if self.core_questions().next().is_none() {
            problems.push(whole("at least one question outside add-ons is needed"));
        }
        self.check_bands(&mut problems);
        if let Some(rules) = &self.marac {
            problems.extend(
                rules
                    .problems(self.max_score())
                    .into_iter()
                    .map(|m| Problem::new(Subject::Marac, m)),
            );
        }
        problems
    }

    fn check_question(
        &self,
        q: &Question,
        sections: &BTreeSet<&str>,
        add_ons: &BTreeSet<&str>,
        problems: &mut Vec<Problem>,
    ) {
        if !is_identifier(&q.id) {
            problems.push(Problem::question(
                &q.id,
                QuestionField::Id,
                format!(
                    "question {:?}: id must be letters, digits, '-' or '_'",
                    q.id
                ),
            ));
        }
        if q.text.trim().is_empty() {
            problems.push(Problem::question(
                &q.id,
                QuestionField::Text,
                format!("question {}: text must not be empty", q.id),
            ));
        }
        if !sections.contains(q.section.as_str()) {
            problems.push(Problem::question(
                &q.id,
                QuestionField::Section,
                format!("question {}: section {:?} is not defined", q.id, q.section),
            ));
        }
        if let Some(a) = &q.add_on {
            if !add_ons.contains(a.as_str()) {
                problems.push(Problem::question(
                    &q.id,
                    QuestionField::AddOn,
                    format!("question {}: add-on {:?} is not defined", q.id, a),
                ));
            }
        }
        if self.scoring == Scoring::Weighted && q.weight > MAX_WEIGHT {
            problems.push(Problem::question(
                &q.id,
                QuestionField::Weight,
                format!(
                    "question {}: weight {} is over {MAX_WEIGHT}",
                    q.id, q.weight
                ),
            ));
        }
    }

    fn check_bands(&self, problems: &mut Vec<Problem>) {
        let Some(first) = self.bands.first() else {
            problems.push(Problem::new(
                Subject::Definition,
                "at least one band is needed".to_owned(),
            ));
            return;
        };
        if first.min_score != 0 {
            problems.push(Problem::new(
                Subject::Band(first.level),
                format!(
                    "band {}: the first band must start at 0, not {}",
                    first.level.key(),
                    first.min_score
                ),
            ));
        }
        for pair in self.bands.windows(2) {
            if pair[1].min_score <= pair[0].min_score || pair[1].level <= pair[0].level {
                problems.push(Problem::new(
                    Subject::Band(pair[1].level),
                    format!(
                        "band {}: bands must rise in both score and level after {}",
                        pair[1].level.key(),
                        pair[0].level.key()
                    ),
                ));
            }
        }
        let max = self.max_score();
        for b in &self.bands {
            if b.min_score > max {
                problems.push(Problem::new(
                    Subject::Band(b.level),
                    format!(
                        "band {}: starts at {} but the highest possible score is {}",
                        b.level.key(),
                        b.min_score,
                        max
                    ),
                ));
            }
        }
    }

    /// Questions that count towards the score, in page order.
    pub fn core_questions(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().filter(|q| q.add_on.is_none())
    }

    /// Questions of one section, in page order, for rendering the assessment form.
    pub fn questions_in<'a>(&'a self, section_id: &'a str) -> impl Iterator<Item = &'a Question> {
        self.questions
            .iter()
            .filter(move |q| q.section == section_id)
    }

    /// Picks the answer fields out of a submitted form (which also carries a CSRF token and
    /// other fields), ready for `Answers::parse`.
    pub fn answer_fields(
        &self,
        form: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        form.iter()
            .filter(|(k, _)| self.question(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Looks a question up by id.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// Weight a "yes" to this question adds to the score.
    pub fn points(&self, q: &Question) -> u32 {
        match self.scoring {
            Scoring::CountYes => 1,
            Scoring::Weighted => q.weight,
        }
    }

    /// The highest score the core questions can give.
    pub fn max_score(&self) -> u32 {
        self.core_questions().map(|q| self.points(q)).sum()
    }

    /// The level a score falls in (the highest band whose minimum it reaches).
    pub fn level_for(&self, score: u32) -> RiskLevel {
        self.bands
            .iter()
            .rev()
            .find(|b| score >= b.min_score)
            .or(self.bands.first())
            // Only an unvalidated definition has no bands; the registry never holds one.
            .map_or(RiskLevel::Low, |b| b.level)
    }

    /// The levels this instrument can give, lowest first.
    pub fn levels(&self) -> Vec<RiskLevel> {
        self.bands.iter().map(|b| b.level).collect()
    }

    /// Makes the next version: copies this one, applies `edit`, bumps the version, validates.
    /// The key cannot change; this definition is left untouched.
    pub fn revise(
        &self,
        edit: impl FnOnce(&mut InstrumentDefinition),
    ) -> Result<InstrumentDefinition, DefinitionError> {
        let mut next = self.clone();
        edit(&mut next);
        next.version = self.version + 1;
        if next.key != self.key {
            return Err(DefinitionError::Invalid {
                key: self.key.clone(),
                version: next.version,
                problems: vec![format!(
                    "key cannot change in a revision (was {}, now {})",
                    self.key, next.key
                )],
            });
        }
        next.validate()?;
        Ok(next)
    }
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    what: &str,
    subject: impl Fn(&str) -> Subject,
    problems: &mut Vec<Problem>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            problems.push(Problem::new(
                subject(id),
                format!("{what} {id:?} is defined twice"),
            ));
        }
    }
    seen
}
