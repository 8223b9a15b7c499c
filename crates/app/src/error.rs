//! Why a use case did not do what was asked, in kinds a person can act on (not found,
//! forbidden, invalid with fields, conflict, unavailable) and one kind they cannot
//! (internal: logged with a reference number that is all the user sees).

use pathways_domain::access::Denial;
use pathways_store::StoreError;
use serde::Serialize;

/// A problem with one field of a form or JSON body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The form field or JSON path.
    pub field: String,
    /// What is wrong and how to fix it, in the question's own words.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field problems while a form is checked; [`Fields::finish`] turns them into an
/// [`Error::Invalid`] when there are any.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// No problems yet.
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records a problem with `field` when `bad` holds.
    pub fn check(&mut self, bad: bool, field: &str, message: impl Into<String>) {
        if bad {
            self.add(field, message);
        }
    }

    /// `value` trimmed, recording `message` against `field` when it is empty.
    pub fn required<'a>(&mut self, value: &'a str, field: &str, message: &str) -> &'a str {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, message);
        }
        v
    }

    /// True when nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was wrong, otherwise every problem at once.
    pub fn finish(self) -> std::result::Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such record, or one the caller may not know exists.
    #[error("not found")]
    NotFound,
    /// The caller may not do this; the reason is for the audit log and logs, not for people.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The input is wrong; each field says how.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The request clashes with the record's state; the message says so plainly.
    #[error("{0}")]
    Conflict(String),
    /// The service cannot take the request now (database unavailable, a writer stopped);
    /// trying again later may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something broke on our side; logged with its reference.
    #[error("internal error {reference}: {detail}")]
    Internal {
        /// The reference number shown to the user and written to the log.
        reference: String,
        /// What happened, for the log only.
        detail: String,
    },
}

impl Error {
    /// An internal error with a fresh reference number, logged now.
    pub fn internal(detail: impl Into<String>) -> Error {
        let detail = detail.into();
        let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
        tracing::error!(%reference, %detail, "internal error");
        Error::Internal { reference, detail }
    }

    /// A single-field problem.
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    /// The refusal for an access-policy denial: a record the caller has no part in is "not
    /// found", so its existence does not leak.
    pub fn denied(d: Denial) -> Error {
        match d {
            Denial::NoRelationship => Error::NotFound,
            other => Error::Forbidden(format!("{other:?}")),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound { .. } => Error::NotFound,
            StoreError::Connect { .. } | StoreError::Unavailable(_) => {
                Error::Unavailable(e.to_string())
            }
            StoreError::Sql(sqlx_error) if is_unavailable(&sqlx_error) => {
                Error::Unavailable(sqlx_error.to_string())
            }
            other => Error::internal(other.to_string()),
        }
    }
}

fn is_unavailable(e: &pathways_store::SqlError) -> bool {
    matches!(
        e,
        pathways_store::SqlError::PoolTimedOut
            | pathways_store::SqlError::PoolClosed
            | pathways_store::SqlError::Io(_)
    )
}

/// The result of a use case.
pub type Result<T> = std::result::Result<T, Error>;
