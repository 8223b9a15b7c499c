//! Person matching (record linkage) for Pathways: makes the same young person referred by a
//! school and by the police one person, with the evidence staff need to decide.
//!
//! Records are normalised at the edge ([`normalize`]), compared field by field into graded
//! levels ([`compare`]), scored by a Fellegi–Sunter model ([`model`]) and found quickly through
//! blocking keys ([`PersonIndex`]). [`match_csv`] links two CSV lists with the same engine.

#![warn(missing_docs)]

pub mod blocking;
pub mod cli;
pub mod compare;
pub mod csv_match;
pub mod error;
pub mod frequency;
pub mod generate;
pub mod index;
mod link;
pub mod model;
pub mod nicknames;
pub mod normalize;
pub mod phonetic;
pub mod record;
pub mod similarity;

pub use compare::Field;
pub use csv_match::{
    FieldMap, MatchOptions, MatchReport, ReadReport, dedupe_csv, match_csv, match_csv_with,
};
pub use error::{MatchError, ModelError};
pub use index::{Candidate, PersonIndex};
pub use model::{FieldEvidence, Model, TrainOptions, TrainingReport};
pub use record::PersonRecord;
