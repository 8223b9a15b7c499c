//! Risk instruments as versioned data: questions, weights, add-ons and level bands.
//! Definitions are loaded from JSON, validated once, and revised into new versions.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::marac::MaracRules;

/// A risk level. Each instrument uses an ascending subset (DASH: standard, medium, high;
/// screening: low, medium, high); the derived order is the order of seriousness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Lowest band of a screening tool.
    Low,
    /// Lowest DASH band ("standard risk").
    Standard,
    /// Middle band.
    Medium,
    /// Highest band.
    High,
}

impl RiskLevel {
    /// The machine name used in JSON and forms (`"medium"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Standard => "standard",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// The label shown to people (`"Medium"`).
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "Low",
            RiskLevel::Standard => "Standard",
            RiskLevel::Medium => "Medium",
            RiskLevel::High => "High",
        }
    }

    /// Parses a machine name, ignoring case and surrounding spaces.
    pub fn parse(raw: &str) -> Option<RiskLevel> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "low" => Some(RiskLevel::Low),
            "standard" => Some(RiskLevel::Standard),
            "medium" => Some(RiskLevel::Medium),
            "high" => Some(RiskLevel::High),
            _ => None,
        }
    }
}

impl std::fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

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
        let mut problems = Vec::new();
        if self.key.trim().is_empty() {
            problems.push("key must not be empty".to_owned());
        }
        if self.version == 0 {
            problems.push("version must be 1 or more".to_owned());
        }
        if self.title.trim().is_empty() {
            problems.push("title must not be empty".to_owned());
        }
        let sections = unique_ids(
            self.sections.iter().map(|s| s.id.as_str()),
            "section",
            &mut problems,
        );
        let add_ons = unique_ids(
            self.add_ons.iter().map(|a| a.key.as_str()),
            "add-on",
            &mut problems,
        );
        unique_ids(
            self.questions.iter().map(|q| q.id.as_str()),
            "question",
            &mut problems,
        );
        for q in &self.questions {
            self.check_question(q, &sections, &add_ons, &mut problems);
        }
        for a in &self.add_ons {
            if a.flag_at_yes == 0 {
                problems.push(format!("add-on {}: flag_at_yes must be 1 or more", a.key));
            }
            if !self
                .questions
                .iter()
                .any(|q| q.add_on.as_deref() == Some(&a.key))
            {
                problems.push(format!("add-on {}: has no questions", a.key));
            }
        }
        if self.core_questions().next().is_none() {
            problems.push("at least one question outside add-ons is needed".to_owned());
        }
        self.check_bands(&mut problems);
        if let Some(rules) = &self.marac {
            problems.extend(rules.problems(self.max_score()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DefinitionError::Invalid {
                key: self.key.clone(),
                version: self.version,
                problems,
            })
        }
    }

    fn check_question(
        &self,
        q: &Question,
        sections: &BTreeSet<&str>,
        add_ons: &BTreeSet<&str>,
        problems: &mut Vec<String>,
    ) {
        if !is_identifier(&q.id) {
            problems.push(format!(
                "question {:?}: id must be letters, digits, '-' or '_'",
                q.id
            ));
        }
        if q.text.trim().is_empty() {
            problems.push(format!("question {}: text must not be empty", q.id));
        }
        if !sections.contains(q.section.as_str()) {
            problems.push(format!(
                "question {}: section {:?} is not defined",
                q.id, q.section
            ));
        }
        if let Some(a) = &q.add_on {
            if !add_ons.contains(a.as_str()) {
                problems.push(format!("question {}: add-on {:?} is not defined", q.id, a));
            }
        }
        if self.scoring == Scoring::Weighted && q.weight > 100 {
            problems.push(format!(
                "question {}: weight {} is over 100",
                q.id, q.weight
            ));
        }
    }

    fn check_bands(&self, problems: &mut Vec<String>) {
        let Some(first) = self.bands.first() else {
            problems.push("at least one band is needed".to_owned());
            return;
        };
        if first.min_score != 0 {
            problems.push(format!(
                "band {}: the first band must start at 0, not {}",
                first.level.as_str(),
                first.min_score
            ));
        }
        for pair in self.bands.windows(2) {
            if pair[1].min_score <= pair[0].min_score || pair[1].level <= pair[0].level {
                problems.push(format!(
                    "band {}: bands must rise in both score and level after {}",
                    pair[1].level.as_str(),
                    pair[0].level.as_str()
                ));
            }
        }
        let max = self.max_score();
        for b in &self.bands {
            if b.min_score > max {
                problems.push(format!(
                    "band {}: starts at {} but the highest possible score is {}",
                    b.level.as_str(),
                    b.min_score,
                    max
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
    problems: &mut Vec<String>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            problems.push(format!("{what} {id:?} is defined twice"));
        }
    }
    seen
}
