//! Errors the store reports. Each message names the problem and what to do about it,
//! and never includes personal data from the rows involved.

/// A failure to open, migrate or query the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither a PostgreSQL URL nor a usable SQLite path.
    #[error(
        "database URL {url:?} is not understood: use a file path, sqlite://PATH or postgres://USER@HOST/DB"
    )]
    BadUrl { url: String },
    /// The SQLite file's folder cannot be created or written.
    #[error("cannot use database file {path}: {reason}")]
    SqlitePath { path: String, reason: String },
    /// The database server could not be reached or refused the connection.
    #[error("cannot connect to the database at {target}: {reason}")]
    Connect { target: String, reason: String },
    /// The database was migrated by a newer Pathways than this binary.
    #[error(
        "the database schema is at version {found}, newer than this binary understands ({latest}); \
         run a Pathways release at least as new as the one that last opened it"
    )]
    SchemaTooNew { found: i64, latest: i64 },
    /// The database predates a schema step that the operation needs.
    #[error(
        "the database schema is at version {found}, before step {needed} that this needs; \
         upgrade it with `pathways migrate` (on a copy, if it must stay untouched)"
    )]
    SchemaTooOld { found: i64, needed: i64 },
    /// The database is not one Pathways made.
    #[error("{0} is not a Pathways database (it has no schema_migrations table)")]
    NotPathways(String),
    /// The store was opened for reading only.
    #[error("the database was opened for reading only; nothing can be written through it")]
    ReadOnly,
    /// The audit signing key does not fit the log, or the log cannot be adopted by it.
    #[error("{0}")]
    AuditKey(String),
    /// A migration failed to apply; nothing of it was kept.
    #[error("migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: String,
        reason: String,
    },
    /// A row that must exist does not.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A uniqueness or reference rule of the data would be broken.
    #[error("{0}")]
    Conflict(String),
    /// No connection could be had in time: the pool is exhausted or the server is
    /// unreachable. Retrying shortly may succeed.
    #[error("the database is busy: no connection could be had in time ({0})")]
    Unavailable(String),
    /// A write was given the access policy's proof for another action than the one it makes.
    #[error("the access policy's permission was for another action (needed: {0:?})")]
    NotAuthorized(pathways_domain::Action),
    /// A write was given proof of another permission than the one it needs.
    #[error("the permission given was not the one needed ({0:?})")]
    NotPermitted(pathways_domain::Permission),
    /// A service referral cannot move that way along its workflow.
    #[error(transparent)]
    Transition(#[from] pathways_domain::cases::TransitionError),
    /// A stored value is not one the code knows (a damaged row or a newer writer's value).
    #[error("a stored value could not be read: {0}")]
    Damaged(String),
    /// A write was about to commit with no audit entry recording it.
    #[error("a change was about to be saved without an audit entry; nothing was saved")]
    Unaudited,
    /// Any other database error.
    #[error("database error: {0}")]
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => {
                StoreError::Unavailable("every pooled connection was in use".into())
            }
            sqlx::Error::PoolClosed => StoreError::Unavailable("the pool is closed".into()),
            other => StoreError::Sql(other),
        }
    }
}

/// The database server's own words for a failure: its message and error code when it sent
/// one (for example `sorry, too many clients already (53300)`), else sqlx's description.
pub(crate) fn server_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    }
}

impl StoreError {
    /// True when the error is a violated unique constraint on either backend.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sql(sqlx::Error::Database(db)) => db.is_unique_violation(),
            StoreError::Conflict(_) => true,
            _ => false,
        }
    }
}

impl From<pathways_domain::vocabulary::UnknownKey> for StoreError {
    fn from(e: pathways_domain::vocabulary::UnknownKey) -> Self {
        StoreError::Damaged(e.to_string())
    }
}
