//! Pure types and rules of Pathways: who people are (agencies, users, roles), what they may
//! do (the access policy), and how the audit chain is hashed. No I/O, no async, no SQL.

pub mod access;
pub mod agency;
pub mod audit;
pub mod audit_action;
pub mod cases;
pub mod documents;
pub mod ids;
pub mod panels;
pub mod password;
pub mod referrals;
pub mod risk;
pub mod roles;
pub mod time;
pub mod vocabulary;
pub mod working_time;

pub use access::{Action, Actor, Decision, RecordFacts, decide};
pub use agency::AgencyKind;
pub use audit_action::AuditAction;
pub use roles::{Permission, Role, RoleSet};
