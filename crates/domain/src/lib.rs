//! Pure types and rules of Pathways: who people are (agencies, users, roles), what they may
//! do (the access policy), and how the audit chain is hashed. No I/O, no async, no SQL.

pub mod access;
pub mod agency;
pub mod audit;
pub mod password;
pub mod roles;

pub use access::{Action, Actor, Decision, RecordFacts, decide};
pub use agency::AgencyKind;
pub use roles::{Permission, Role, RoleSet};
