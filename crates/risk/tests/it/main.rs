//! Integration tests for the risk rules, linked as one binary.
//! Each module covers one rule at every boundary the rules name.

mod api;
mod common;
mod dash;
mod definitions;
mod judgement;
mod marac;
mod props;
mod screening;
mod versions;
