//! Persistence for Pathways: one query code path over embedded SQLite or PostgreSQL.
//! Every module of the product reads and writes through [`Store`]; nothing else holds SQL.
//!
//! Conventions shared by every table, so that one SQL text runs on both backends through
//! sqlx's `Any` driver: placeholders are `$1, $2, ...`; identifiers are UUID strings;
//! instants are `BIGINT` seconds since the Unix epoch (UTC); flags are `BIGINT` 0/1;
//! structured values are JSON text. Aggregates are cast to `BIGINT` or `DOUBLE PRECISION`.

pub mod audit;
pub mod backup;
pub mod cases;
pub mod changes;
mod connect;
pub mod directory;
mod error;
pub mod idempotency;
pub mod identity;
pub mod instruments;
pub mod keys;
mod migrate;
pub mod outbox;
pub mod panels;
pub mod people;
pub mod referrals;
pub mod restriction;
pub mod sessions;
pub mod testing;

pub use audit::{AccessLogQuery, VerifyError, VerifyReport};
pub use backup::{BackupError, Restored};
pub use connect::{Backend, Store, StoreOptions, WriteTx, default_pool_size};
pub use error::StoreError;
pub use identity::{Agency, NewUser, User};
pub use instruments::{NewInstrumentVersion, PublishedVersion};
pub use keys::{AuditKeys, KeyError, ServerSecret};
pub use migrate::{MIGRATIONS_LATEST, Migration, migrations};
pub use outbox::{Notification, OutboxMessage};
pub use sessions::{ApiToken, LinkPurpose, Message, SessionRow, SessionUser};

/// The database driver's error, for callers that tell transient failures from others.
pub use sqlx::Error as SqlError;

/// The sqlx row type every query returns.
pub type Row = sqlx::any::AnyRow;
/// A transaction on either backend.
pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Seconds since the Unix epoch, the one representation of instants in the store.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh random identifier (UUID v4, lower-case hyphenated).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
