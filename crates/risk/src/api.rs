//! JSON request and response for scoring an instrument, with field errors for a 422 body.
//! The HTTP layer only deserialises, calls `score_request`, and serialises the result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;
use time::macros::format_description;

use crate::answers::Answers;
use crate::instrument::{InstrumentDefinition, RiskLevel};
use crate::judgement::{FinalLevel, JudgementError, MIN_REASON_CHARS, apply_judgement};
use crate::marac::{Eligibility, MaracInputs, marac_eligibility};
use crate::registry::InstrumentRegistry;
use crate::score::{AddOnFlag, score};

/// Body of `POST /api/v1/instruments/{instrument}/score`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    /// Instrument version to score with; the latest when absent (new assessments).
    #[serde(default)]
    pub version: Option<u32>,
    /// Answers by question id; values are strings such as `"yes"`, `"no"`, `"not known"`.
    #[serde(default)]
    pub answers: BTreeMap<String, serde_json::Value>,
    /// A professional judgement raising the level, with its reason.
    #[serde(default)]
    pub professional_judgement: Option<JudgementRequest>,
    /// Dates of known incidents (`YYYY-MM-DD`), for potential escalation.
    #[serde(default)]
    pub incidents: Vec<String>,
    /// Date of the assessment (`YYYY-MM-DD`); required.
    #[serde(default)]
    pub assessment_date: Option<String>,
    /// Date of the last MARAC referral (`YYYY-MM-DD`), for the repeat criterion.
    #[serde(default)]
    pub last_marac_referral: Option<String>,
    /// Date of a new incident (`YYYY-MM-DD`), for the repeat criterion.
    #[serde(default)]
    pub new_incident: Option<String>,
}

/// A requested level and the practitioner's reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgementRequest {
    /// Requested level (`"high"`).
    #[serde(default)]
    pub level: String,
    /// Why the practitioner judges the risk higher.
    #[serde(default)]
    pub reason: String,
}

/// Successful scoring result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreResponse {
    /// Instrument key.
    pub instrument: String,
    /// Instrument version used; store it with the assessment.
    pub version: u32,
    /// Instrument title.
    pub title: String,
    /// The score.
    pub score: u32,
    /// Highest possible score of this version.
    pub max_score: u32,
    /// Core questions answered "yes".
    pub yes_count: u32,
    /// Core questions answered "not known".
    pub not_known_count: u32,
    /// Level from the bands.
    pub computed_level: RiskLevel,
    /// Level in force after any professional judgement.
    pub level: RiskLevel,
    /// The recorded professional judgement reason, if any.
    pub professional_judgement: Option<String>,
    /// Optional add-ons answered, and whether they are flagged.
    pub add_on_flags: Vec<AddOnFlag>,
    /// Canonical answers to store with the assessment.
    pub answers: BTreeMap<String, String>,
    /// MARAC eligibility, for instruments with MARAC rules (DASH); otherwise null.
    pub eligibility: Option<Eligibility>,
}

/// One problem with one request field; `field` is a dotted path (`answers.q7`, `incidents[2]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Path of the field in the request.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// JSON error body: `{"errors":[{"field":"answers.q7","message":"..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Every problem found.
    pub errors: Vec<FieldError>,
}

/// Why a request could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScoreError {
    /// No instrument with that key (HTTP 404).
    #[error("there is no instrument {key}; known instruments: {known}")]
    UnknownInstrument {
        /// Requested key.
        key: String,
        /// Comma-separated known keys.
        known: String,
    },
    /// The request has invalid fields (HTTP 422); all are listed.
    #[error("{} invalid field(s): {}", .0.len(), .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
}

impl ScoreError {
    /// HTTP status for this error: 404 for an unknown instrument, otherwise 422.
    pub fn status(&self) -> u16 {
        match self {
            ScoreError::UnknownInstrument { .. } => 404,
            ScoreError::Invalid(_) => 422,
        }
    }

    /// The JSON body to send.
    pub fn body(&self) -> ErrorBody {
        let errors = match self {
            ScoreError::UnknownInstrument { .. } => vec![FieldError {
                field: "instrument".to_owned(),
                message: self.to_string(),
            }],
            ScoreError::Invalid(errors) => errors.clone(),
        };
        ErrorBody { errors }
    }
}

impl ScoreRequest {
    /// Reads a request body, turning malformed JSON into a field error with line and column.
    pub fn from_json(body: &[u8]) -> Result<ScoreRequest, ScoreError> {
        serde_json::from_slice(body).map_err(|e| {
            ScoreError::Invalid(vec![FieldError {
                field: "body".to_owned(),
                message: format!(
                    "the request body is not a valid score request (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            }])
        })
    }
}

fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Scores a request against the registry: checks every field, scores with the requested (or
/// latest) version, applies professional judgement and, for DASH, decides MARAC eligibility.
pub fn score_request(
    registry: &InstrumentRegistry,
    key: &str,
    req: ScoreRequest,
) -> Result<ScoreResponse, ScoreError> {
    let def = find_definition(registry, key, req.version)?;
    let mut errors = Vec::new();
    let answers = parse_answers(def, &req.answers, &mut errors);
    let judgement = parse_judgement(def, req.professional_judgement.as_ref(), &mut errors);
    let assessment_date = match req.assessment_date.as_deref() {
        Some(raw) => parse_date("assessment_date", raw, &mut errors),
        None => {
            errors.push(field(
                "assessment_date",
                "enter the date of the assessment as YYYY-MM-DD",
            ));
            None
        }
    };
    let incidents: Vec<Option<Date>> = req
        .incidents
        .iter()
        .enumerate()
        .map(|(i, raw)| parse_date(&format!("incidents[{i}]"), raw, &mut errors))
        .collect();
    let last_referral = req
        .last_marac_referral
        .as_deref()
        .and_then(|raw| parse_date("last_marac_referral", raw, &mut errors));
    let new_incident = req
        .new_incident
        .as_deref()
        .and_then(|raw| parse_date("new_incident", raw, &mut errors));
    check_marac_fields(def, &req, &incidents, assessment_date, &mut errors);

    let (Some(answers), Some(assessment_date), true) =
        (answers, assessment_date, errors.is_empty())
    else {
        return Err(ScoreError::Invalid(errors));
    };
    let scored = score(def, &answers)
        .map_err(|e| ScoreError::Invalid(vec![field("version", e.to_string())]))?;
    let final_level = match judgement {
        Some((level, reason)) => apply_judgement(scored.level, level, &reason)
            .map_err(|e| ScoreError::Invalid(vec![judgement_error(e)]))?,
        None => FinalLevel::computed(scored.level),
    };
    let eligibility = def.marac.map(|rules| {
        marac_eligibility(
            &MaracInputs {
                dash_score: scored.score,
                professional_judgement: final_level.reason.clone(),
                incident_dates: incidents.into_iter().flatten().collect(),
                assessment_date,
                last_marac_referral: last_referral,
                new_incident_date: new_incident,
            },
            &rules,
        )
    });
    Ok(ScoreResponse {
        instrument: def.key.clone(),
        version: def.version,
        title: def.title.clone(),
        score: scored.score,
        max_score: scored.max_score,
        yes_count: scored.yes_count,
        not_known_count: scored.not_known_count,
        computed_level: scored.level,
        level: final_level.level,
        professional_judgement: final_level.reason,
        add_on_flags: scored.add_on_flags,
        answers: answers.to_raw(),
        eligibility,
    })
}

fn find_definition<'r>(
    registry: &'r InstrumentRegistry,
    key: &str,
    version: Option<u32>,
) -> Result<&'r InstrumentDefinition, ScoreError> {
    let latest = registry
        .latest(key)
        .ok_or_else(|| ScoreError::UnknownInstrument {
            key: key.to_owned(),
            known: registry.keys().join(", "),
        })?;
    match version {
        None => Ok(latest),
        Some(v) => registry.get(key, v).ok_or_else(|| {
            ScoreError::Invalid(vec![field(
                "version",
                format!(
                    "{key} has no version {v}; versions 1 to {} exist (leave version out for the latest)",
                    latest.version
                ),
            )])
        }),
    }
}

fn parse_answers(
    def: &InstrumentDefinition,
    raw: &BTreeMap<String, serde_json::Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Answers> {
    let mut strings = BTreeMap::new();
    let mut not_strings = Vec::new();
    for (id, value) in raw {
        match value {
            serde_json::Value::String(s) => {
                strings.insert(id.clone(), s.clone());
            }
            // A JSON null reads as "not given", so it is reported as missing.
            serde_json::Value::Null => {}
            other => {
                errors.push(field(
                    format!("answers.{id}"),
                    format!("{id}: answer must be a string such as \"yes\", not {other}"),
                ));
                not_strings.push(id.as_str());
            }
        }
    }
    match Answers::parse(def, &strings) {
        Ok(a) => not_strings.is_empty().then_some(a),
        Err(problems) => {
            // A value already reported as not a string is not reported again as missing.
            errors.extend(
                problems
                    .0
                    .into_iter()
                    .filter(|p| !not_strings.contains(&p.question_id.as_str()))
                    .map(|p| field(format!("answers.{}", p.question_id), p.to_string())),
            );
            None
        }
    }
}

fn parse_judgement(
    def: &InstrumentDefinition,
    req: Option<&JudgementRequest>,
    errors: &mut Vec<FieldError>,
) -> Option<(RiskLevel, String)> {
    let req = req?;
    let levels = def.levels();
    let names: Vec<&str> = levels.iter().map(|l| l.key()).collect();
    let level = RiskLevel::parse(&req.level.trim().to_ascii_lowercase())
        .ok()
        .filter(|l| levels.contains(l));
    if level.is_none() {
        errors.push(field(
            "professional_judgement.level",
            format!(
                "level must be one of {} for {}",
                names.join(", "),
                def.title
            ),
        ));
    }
    let given = req.reason.trim().chars().count();
    if given < MIN_REASON_CHARS {
        errors.push(judgement_error(JudgementError::ReasonTooShort {
            min: MIN_REASON_CHARS,
            given,
        }));
    }
    level.map(|l| (l, req.reason.clone()))
}

fn judgement_error(e: JudgementError) -> FieldError {
    let name = match e {
        JudgementError::WouldLower { .. } => "professional_judgement.level",
        JudgementError::ReasonTooShort { .. } => "professional_judgement.reason",
    };
    field(name, e.to_string())
}

fn check_marac_fields(
    def: &InstrumentDefinition,
    req: &ScoreRequest,
    incidents: &[Option<Date>],
    assessment_date: Option<Date>,
    errors: &mut Vec<FieldError>,
) {
    if def.marac.is_none() {
        for (name, given) in [
            ("incidents", !req.incidents.is_empty()),
            ("last_marac_referral", req.last_marac_referral.is_some()),
            ("new_incident", req.new_incident.is_some()),
        ] {
            if given {
                errors.push(field(
                    name,
                    format!(
                        "{} does not decide MARAC eligibility; leave {name} out",
                        def.title
                    ),
                ));
            }
        }
        return;
    }
    let Some(assessed) = assessment_date else {
        return;
    };
    for (i, date) in incidents.iter().enumerate() {
        if let Some(d) = date.filter(|d| *d > assessed) {
            errors.push(field(
                format!("incidents[{i}]"),
                format!(
                    "{d} is after the assessment date {assessed}; only incidents up to the assessment can be counted"
                ),
            ));
        }
    }
}

fn parse_date(name: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Date> {
    let format = format_description!("[year]-[month]-[day]");
    match Date::parse(raw.trim(), &format) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(field(
                name,
                format!("{raw:?} is not a real date; use YYYY-MM-DD, for example 2026-03-14"),
            ));
            None
        }
    }
}
