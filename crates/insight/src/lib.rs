//! Crime analytics for Pathways: police.uk and ONS ingestion, a columnar crime store, harm
//! weighting, trends, change flags, hotspots (Getis-Ord Gi*) and the problem profile.

pub mod analysis;
pub mod bng;
pub mod cli;
pub mod error;
pub mod generate;
pub mod geo;
pub mod harm;
pub mod import;
pub mod model;
pub mod profile;
pub mod stats;
pub mod store;
pub mod svg;

pub use error::InsightError;
