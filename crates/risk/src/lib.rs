//! Risk instruments for Pathways as pure rules: versioned definitions, answer parsing,
//! scoring, professional judgement, MARAC eligibility and the scoring API types.
//!
//! No I/O beyond parsing definitions from strings, no async, no database: callers load and
//! store; this crate decides.

#![warn(missing_docs)]

pub mod answers;
pub mod api;
pub mod instrument;
pub mod judgement;
pub mod marac;
pub mod registry;
pub mod score;

pub use answers::{Answer, AnswerError, AnswerErrors, Answers};
pub use api::{
    ErrorBody, FieldError, JudgementRequest, ScoreError, ScoreRequest, ScoreResponse, score_request,
};
pub use instrument::{
    AddOn, AnswerKind, Band, DefinitionError, InstrumentDefinition, LocalChanges, MAX_WEIGHT,
    Problem, Question, QuestionField, RiskLevel, Scoring, Section, Subject,
};
pub use judgement::{FinalLevel, JudgementError, MIN_REASON_CHARS, apply_judgement};
pub use marac::{
    Criterion, CriterionResult, Eligibility, MaracInputs, MaracRules, add_months, long_date,
    marac_eligibility,
};
pub use registry::{DASH, InstrumentRegistry, RegistryError, YV_SCREENING};
pub use score::{AddOnFlag, Score, WrongInstrument, score};
